"""Attacks on the transport (issue #20 items 1, 8, 9, 12, 14), each against the real server
with the canary asking meanwhile, each bounded in sockets, bytes and seconds."""

from __future__ import annotations

import re
import socket
import threading
import time

import requests

from security.attack import Canary, assert_serves

#: Sockets that send a body slowly: more than the threads of both workers (2 x 8).
SLOW_SOCKETS = 64
#: Seconds the slow bodies are held (the server must refuse them well before).
HOLD = 4.0
#: A query that runs until its time limit on the test project (a triple cartesian product).
SLOW_QUERY = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . "
              "FILTER(STRLEN(STR(?c)) + STRLEN(STR(?f)) + STRLEN(STR(?i)) > 1000000) }")


def _address(url: str) -> tuple[str, int]:
    host, port = url.rsplit("/", 1)[-1].rsplit(":", 1)
    return host, int(port)


def _slow_body(url: str, path: str, content_type: str, first: bytes) -> socket.socket:
    """A connection that sends a request's headers and the first bytes of a 100 KB body."""
    sock = socket.create_connection(_address(url), timeout=HOLD + 10)
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n"
                 f"Content-Length: 100000\r\n\r\n".encode() + first)
    return sock


def _answer(sock: socket.socket) -> bytes:
    """What the server sent on `sock` before closing it (at most a few KB)."""
    sock.settimeout(2)
    data = b""
    try:
        while len(data) < 8192:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    sock.close()
    return data


def test_slow_bodies_do_not_take_the_server_down(server):
    """Item 1: 64 bodies sent a few bytes then nothing held every thread (the server stopped
    answering for as long as the sockets stayed open); now each gets 408 and its connection
    closed, and the threads stay free meanwhile."""
    with Canary(server) as canary:
        sockets = [_slow_body(server, "/sparql", "application/sparql-query", b"ASK")
                   for _ in range(SLOW_SOCKETS // 2)]
        sockets += [_slow_body(server, "/reconcile", "application/x-www-form-urlencoded",
                               b"queries=")
                    for _ in range(SLOW_SOCKETS // 2)]
        time.sleep(HOLD)
    canary.check()
    answers = [_answer(sock) for sock in sockets]
    assert all(a.startswith(b"HTTP/1.1 408") for a in answers), answers[0][:200]
    assert all(b"connection: close" in a.lower() for a in answers)
    assert_serves(server)


def test_a_body_that_trickles_gets_408(server):
    """A body that keeps coming, but slower than body_min_rate, is refused too."""
    sock = _slow_body(server, "/sparql", "application/sparql-query", b"A")
    started = time.monotonic()
    try:
        for _ in range(20):
            time.sleep(0.25)
            sock.sendall(b"S")  # 4 bytes a second
    except OSError:
        pass  # the server answered and closed the connection
    answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 408") and time.monotonic() - started < 10


def _chunks(size: int):
    yield b"ASK {} #"
    for _ in range(size // 65536):
        yield b"x" * 65536


def test_a_chunked_body_over_the_limit_gets_413(server):
    """Item 12: `ASK {} #` + 3 MB, chunked, was cut at the limit and evaluated (200)."""
    with Canary(server) as canary:
        response = requests.post(server + "/sparql", data=_chunks(3_000_000), timeout=30,
                                 headers={"Content-Type": "application/sparql-query",
                                          "Accept": "text/plain"})
        time.sleep(0.5)
    canary.check()
    assert response.status_code == 413
    assert "larger than the endpoint accepts" in response.text
    small = requests.post(server + "/sparql", data=_chunks(100_000), timeout=30,
                          headers={"Content-Type": "application/sparql-query",
                                   "Accept": "application/sparql-results+json"})
    assert small.status_code == 200 and small.json()["boolean"] is True
    assert_serves(server)


def test_a_costly_charset_is_refused_at_once(server):
    """Item 9: charset=punycode with a 0.9 MB body cost 13 s of CPU (then 400)."""
    with Canary(server) as canary:
        response = requests.post(server + "/sparql", data=b"a" * 900_000, timeout=60,
                                 headers={"Content-Type": "application/sparql-query; "
                                                          "charset=punycode",
                                          "Accept": "text/plain"})
        time.sleep(0.5)
    canary.check()
    assert response.status_code == 415
    assert response.elapsed.total_seconds() < 5
    assert_serves(server)


def test_two_identities_cannot_take_every_query_slot(server):
    """Item 8: two clients (X-Forwarded-For from loopback, a trusted proxy) flooding slow
    queries took every slot, and the canary's queries got 429; now a slot stays free."""
    stop = threading.Event()

    def flood(identity: str) -> None:
        with requests.Session() as session:
            while not stop.is_set():
                try:
                    session.get(server + "/sparql", params={"query": SLOW_QUERY}, timeout=30,
                                headers={"X-Forwarded-For": identity, "Accept": "text/csv"})
                except requests.RequestException:
                    pass

    flooders = [threading.Thread(target=flood, args=(f"203.0.113.{i % 2 + 1}",))
                for i in range(8)]
    for thread in flooders:
        thread.start()
    try:
        time.sleep(1.0)  # the slow queries take their slots first
        with Canary(server) as canary:
            time.sleep(HOLD)
    finally:
        stop.set()
        for thread in flooders:
            thread.join(30)
    canary.check()
    assert_serves(server)


def test_a_refused_body_never_echoes_a_bad_request_id(server):
    """Item 14: the id of a request answered by the transport's refusal is checked like any
    other (the access log and the header carry a fresh id instead)."""
    sock = socket.create_connection(_address(server), timeout=10)
    sock.sendall(b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n"
                 b"X-Request-Id: " + b"<script>" * 40 + b"\r\n\r\n")
    answer = _answer(sock).decode("latin-1")
    assert answer.startswith("HTTP/1.1 413")
    assert "<script>" not in answer
    assert re.search(r"(?im)^x-request-id: [0-9a-f]{32}\r$", answer)
