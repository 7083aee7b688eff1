"""The server's side of each request: read the body on the event loop, then run the app.

Under a WSGI server every request holds a thread from its first byte, so a client that sends
its headers and then its body a byte at a time holds a thread for as long as it likes: 64 such
connections once held every thread of every worker and the server stopped answering
(issue #20). Granian cannot bound a WSGI body read (it offers a time limit for the headers
only). So the server speaks ASGI, and `Transport` (an ASGI app around the Flask WSGI app):

- reads the whole body on the event loop, where a waiting client costs a socket and no thread,
  within `body_timeout` seconds and at `body_min_rate` bytes a second at least after its first
  `GRACE` second (else 408), and never more than `max_request_bytes` (else 413, announced by
  Content-Length or found while reading a chunked body);
- then runs the app on a pool of `threads` threads with the buffered body, and streams the
  response back part by part (a dump or a streamed result never sits whole in memory; a client
  that reads slowly holds no thread between parts).

A refused body is not answered here: the app is called without it and `refuse_unread_body`
(a before-request hook) raises the error, so that the one error handler renders it in the
format the client accepts, with the request id, access log and metrics of any other answer.
The connection is then closed, since the rest of that body was never read.
"""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import unquote_to_bytes

from flask import Flask, request

from ikmkg.errors import IkmkgError, PayloadTooLarge, RequestTimeout

#: Seconds a body may take before the minimum rate applies (a client's first packet).
GRACE = 1.0
#: Bytes of the response sent to the client at a time (parts of a streamed response are
#: gathered up to this size in the app's thread, then sent from the event loop).
PART_BYTES = 64 * 1024
#: The WSGI environ key under which a refused body's error reaches the app.
REFUSED = "ikmkg.body_refused"

WsgiApp = Callable[[dict, Callable], Iterable[bytes]]


class Transport:
    """An ASGI app serving the WSGI app `app` (see the module docstring).

    Args:
        app: the WSGI app (Flask, possibly wrapped).
        threads: threads that run the app at once (a slow query holds one).
        max_body: largest body accepted, in bytes.
        body_timeout: seconds within which the whole body must arrive.
        body_min_rate: bytes a second a body must average after its first GRACE second.
    """

    def __init__(self, app: WsgiApp, *, threads: int, max_body: int, body_timeout: float,
                 body_min_rate: float):
        self.app, self.max_body = app, max_body
        self.body_timeout, self.body_min_rate = body_timeout, body_min_rate
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="ikmkg-request")

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":  # no websockets; lifespan is not used (Granian's ASGINL)
            return
        body, refused = await self._read_body(scope["headers"], receive)
        if body is None:  # the client left before its body was complete
            return
        environ = wsgi_environ(scope, body)
        if refused is not None:
            environ[REFUSED] = refused
        loop = asyncio.get_running_loop()
        status, headers, iterable, iterator, part, more = await loop.run_in_executor(
            self._pool, self._begin, environ)
        if refused is not None:
            headers.append((b"connection", b"close"))
        try:
            await send({"type": "http.response.start", "status": status, "headers": headers})
            while more:
                await send({"type": "http.response.body", "body": part, "more_body": True})
                part, more = await loop.run_in_executor(self._pool, _next_part, iterable,
                                                        iterator)
            await send({"type": "http.response.body", "body": part, "more_body": False})
        finally:
            if more:  # the client left mid-stream: release what the response holds
                await loop.run_in_executor(self._pool, _close, iterable)

    async def _read_body(self, headers: list[tuple[bytes, bytes]],
                         receive: Callable) -> tuple[bytes | None, IkmkgError | None]:
        """The request body, or why it is refused (with an empty body); None: client gone."""
        length = chunked = None
        for name, value in headers:
            if name == b"content-length":
                length = int(value)  # the HTTP parser has checked it is a number
            elif name == b"transfer-encoding":
                chunked = True
        if length is None and not chunked or length == 0:
            return b"", None  # HTTP/1.1: a request without either header has no body
        if length is not None and length > self.max_body:
            return b"", _too_large(self.max_body)
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + self.body_timeout
        chunks, received = [], 0
        while True:
            allowed = min(deadline, started + GRACE + received / self.body_min_rate)
            try:
                message = await asyncio.wait_for(receive(), allowed - loop.time())
            except TimeoutError:
                return b"", RequestTimeout(
                    f"the request body arrived too slowly ({received:,} bytes in "
                    f"{loop.time() - started:.1f} s; the server waits at most "
                    f"{self.body_timeout:g} s, at {self.body_min_rate:,.0f} bytes/s at least)")
            if message["type"] == "http.disconnect":
                return None, None
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_body:
                return b"", _too_large(self.max_body)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), None

    def _begin(self, environ: dict) -> tuple[int, list, Iterable[bytes], Iterator[bytes], bytes,
                                             bool]:
        """Run the app (in a pool thread) up to its first part of the body."""
        started: list = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            started[:] = [status, headers]
            return _no_write

        iterable = self.app(environ, start_response)
        iterator = iter(iterable)
        try:
            part, more = _next_part(iterable, iterator)
        except BaseException:
            _close(iterable)
            raise
        status, headers = started
        return (int(status[:3]),
                [(name.lower().encode("latin-1"), value.encode("latin-1"))
                 for name, value in headers],
                iterable, iterator, part, more)

    def close(self) -> None:
        self._pool.shutdown(wait=False)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the request body is larger than the endpoint accepts ({limit:,} "
                           "bytes)")


def _no_write(data: bytes) -> None:
    raise NotImplementedError("the WSGI write() callable is not supported; return the body")


def _next_part(iterable: Iterable[bytes], iterator: Iterator[bytes]) -> tuple[bytes, bool]:
    """The next PART_BYTES (or fewer) of the response, and whether more follow; closes the
    response when it is exhausted."""
    parts, size = [], 0
    for chunk in iterator:
        parts.append(chunk)
        size += len(chunk)
        if size >= PART_BYTES:
            return b"".join(parts), True
    _close(iterable)
    return b"".join(parts), False


def _close(iterable: Iterable[bytes]) -> None:
    close = getattr(iterable, "close", None)
    if close is not None:
        close()


def wsgi_environ(scope: dict, body: bytes) -> dict:
    """The WSGI environ (PEP 3333) of an ASGI HTTP `scope` with its buffered `body`."""
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client") or ("", 0)
    raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
    root_path = scope.get("root_path", "")
    path = unquote_to_bytes(raw_path.split(b"?", 1)[0]).decode("latin-1")
    if root_path and path.startswith(root_path):
        path = path[len(root_path):]
    environ = {
        "REQUEST_METHOD": scope["method"], "SCRIPT_NAME": root_path, "PATH_INFO": path,
        "QUERY_STRING": scope["query_string"].decode("latin-1"),
        "SERVER_NAME": server[0], "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": "HTTP/" + scope.get("http_version", "1.1"),
        "REMOTE_ADDR": client[0], "REMOTE_PORT": str(client[1]),
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0), "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True,
        "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope["headers"]:
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        if name == "content-type":
            environ["CONTENT_TYPE"] = value
        elif name == "content-length" or "_" in name:
            # Content-Length is the buffered body's; a name with "_" would pose as the header
            # with "-" (X_Forwarded_For as X-Forwarded-For), so it is dropped, as by nginx.
            continue
        else:
            key = "HTTP_" + name.upper().replace("-", "_")
            environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


def refuse_unread_body() -> None:
    """Raise the error for which the transport refused this request's body, if any."""
    refused = request.environ.get(REFUSED)
    if refused is not None:
        raise refused


def init_app(app: Flask) -> None:
    """Register the hook that answers a refused body with its error (after ops' hooks)."""
    app.before_request(refuse_unread_body)
