"""ikmkg.web.transport in process: body deadline, rate and size, streaming, the WSGI environ.

The attacks on the real server are in tests/security/test_transport.py; here the ASGI side is
driven by hand (a `receive` that hands out body chunks on a schedule, a `send` that records).
"""

from __future__ import annotations

import asyncio

import pytest

from ikmkg.errors import PayloadTooLarge, RequestTimeout
from ikmkg.web.transport import PART_BYTES, REFUSED, Transport, wsgi_environ


def _scope(method="POST", headers=(), path=b"/sparql", query=b"") -> dict:
    return {"type": "http", "method": method, "path": path.decode("latin-1"), "raw_path": path,
            "query_string": query, "headers": list(headers), "http_version": "1.1",
            "scheme": "http", "server": ("127.0.0.1", 8080), "client": ("127.0.0.1", 5555),
            "root_path": ""}


class Recorder:
    """A WSGI app that remembers what it was given, and answers `parts` as its body."""

    def __init__(self, parts=(b"ok",)):
        self.parts, self.environ, self.closed = list(parts), None, False

    def __call__(self, environ, start_response):
        self.environ = environ
        self.body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return self

    def __iter__(self):
        return iter(self.parts)

    def close(self):
        self.closed = True


def _run(app, scope, chunks, *, delays=None, max_body=1000, timeout=2.0, rate=1000.0,
         complete=True):
    """Serve one request: `chunks` arrive after `delays` seconds each (then, unless
    `complete`, nothing more); returns what was sent."""
    sent: list[dict] = []
    delays = delays or [0.0] * len(chunks)
    pending = list(zip(chunks, delays))

    async def receive():
        if not pending:
            await asyncio.sleep(3600)  # a client that sends nothing more
        chunk, delay = pending.pop(0)
        await asyncio.sleep(delay)
        return {"type": "http.request", "body": chunk,
                "more_body": bool(pending) or not complete}

    async def send(message):
        sent.append(message)

    transport = Transport(app, threads=2, max_body=max_body, body_timeout=timeout,
                          body_min_rate=rate)
    try:
        asyncio.run(transport(scope, receive, send))
    finally:
        transport.close()
    return sent


def test_a_whole_body_reaches_the_app():
    app = Recorder()
    sent = _run(app, _scope(headers=[(b"transfer-encoding", b"chunked")]), [b"ASK", b" {}"])
    assert app.body == b"ASK {}" and app.environ["CONTENT_LENGTH"] == "6"
    assert REFUSED not in app.environ
    assert sent[0]["status"] == 200 and sent[-1] == {"type": "http.response.body",
                                                      "body": b"ok", "more_body": False}
    assert app.closed


@pytest.mark.parametrize("headers", [[(b"content-length", b"1001")],
                                     [(b"transfer-encoding", b"chunked")]])
def test_a_body_over_the_limit_is_refused_unread(headers):
    app = Recorder()
    sent = _run(app, _scope(headers=headers), [b"x" * 600, b"x" * 600])
    assert isinstance(app.environ[REFUSED], PayloadTooLarge) and app.body == b""
    assert (b"connection", b"close") in sent[0]["headers"]


def test_a_body_that_stops_is_refused_after_the_grace_second():
    app = Recorder()
    sent = _run(app, _scope(headers=[(b"content-length", b"100")]), [b"ASK"], rate=1000.0,
                timeout=5.0, complete=False)
    assert isinstance(app.environ[REFUSED], RequestTimeout)
    assert (b"connection", b"close") in sent[0]["headers"]


def test_a_body_slower_than_the_rate_is_refused():
    app = Recorder()
    _run(app, _scope(headers=[(b"content-length", b"100")]), [b"x"] * 10, delays=[0.6] * 10,
         rate=10.0, timeout=5.0)  # a byte each 0.6 s; allowed: 1 s + a byte each 0.1 s
    assert isinstance(app.environ[REFUSED], RequestTimeout)
    assert "too slowly" in str(app.environ[REFUSED])


def test_a_body_within_the_rate_arrives():
    app = Recorder()
    _run(app, _scope(headers=[(b"content-length", b"5")]), [b"x"] * 5, delays=[0.3] * 5,
         rate=2.0, timeout=5.0)  # a byte each 0.3 s; allowed: 1 s + a byte each 0.5 s
    assert REFUSED not in app.environ and app.body == b"xxxxx"


def test_a_long_response_streams_in_parts():
    part = b"y" * 16384
    app = Recorder([part] * 19)
    sent = _run(app, _scope(method="GET"), [])
    bodies = [m for m in sent if m["type"] == "http.response.body"]
    assert len(bodies) == -(-19 * 16384 // PART_BYTES)
    assert all(m["more_body"] for m in bodies[:-1]) and not bodies[-1]["more_body"]
    assert b"".join(m["body"] for m in bodies) == part * 19
    assert app.closed


def test_a_client_leaving_mid_stream_releases_the_response():
    app = Recorder([b"z" * PART_BYTES] * 5)

    async def receive():
        await asyncio.sleep(3600)

    async def send(message):
        if message["type"] == "http.response.body":
            raise ConnectionResetError("the client left")

    transport = Transport(app, threads=1, max_body=10, body_timeout=1, body_min_rate=1)
    with pytest.raises(ConnectionResetError):
        asyncio.run(transport(_scope(method="GET"), receive, send))
    transport.close()
    assert app.closed


def test_the_environ_holds_the_request_alone(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example")
    environ = wsgi_environ(_scope(method="GET", path=b"/doc/caf%C3%A9%2Fx", query=b"a=%C3%A9",
                                  headers=[(b"accept", b"text/html"), (b"x-a", b"1"),
                                           (b"x-a", b"2"), (b"x_forwarded_for", b"6.6.6.6"),
                                           (b"content-type", b"text/plain")]), b"")
    assert environ["PATH_INFO"] == "/doc/café/x".encode().decode("latin-1")
    assert environ["QUERY_STRING"] == "a=%C3%A9"
    assert environ["HTTP_ACCEPT"] == "text/html" and environ["HTTP_X_A"] == "1,2"
    assert environ["CONTENT_TYPE"] == "text/plain"
    assert "HTTP_X_FORWARDED_FOR" not in environ and "HTTP_PROXY" not in environ
    assert environ["REMOTE_ADDR"] == "127.0.0.1"
