"""Per-request cost of the HTTP path and the transport attacks of issue #20, one run.

    python -m ikmkg serve --port 8080 --project-dir tests/data/sparql &
    python bench/transport.py --url http://127.0.0.1:8080

Prints the median and 90th percentile of a loop of sequential keep-alive GETs (/healthz and a
one-row query), then, for each attack (slow bodies, an oversized chunked body, a costly
charset, admission by a few identities), what the attack got and how a legitimate client
(tests/security/attack.py's Canary) fared meanwhile: its slowest answer and its failures.
"""

from __future__ import annotations

import argparse
import http.client
import socket
import statistics
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from security.attack import ONE_ROW, Canary  # noqa: E402


def request_loop(host: str, port: int, path: str, count: int) -> list[float]:
    connection = http.client.HTTPConnection(host, port, timeout=10)
    times = []
    for _ in range(count):
        started = time.perf_counter()
        connection.request("GET", path, headers={"Accept": "application/sparql-results+json"})
        response = connection.getresponse()
        response.read()
        times.append(time.perf_counter() - started)
        assert response.status == 200, response.status
    connection.close()
    return times


def report_canary(name: str, canary: Canary, outcome: str) -> None:
    worst = max(canary.latencies) if canary.latencies else float("nan")
    print(f"{name}: {outcome}; canary {len(canary.latencies)} requests, slowest {worst:.2f} s, "
          f"{len(canary.failures)} failed" + (f" (first: {canary.failures[0]})"
                                             if canary.failures else ""))


def slow_bodies(host: str, port: int, url: str, sockets: int, seconds: float) -> None:
    held = []
    with Canary(url) as canary:
        for _ in range(sockets):
            sock = socket.create_connection((host, port), timeout=seconds + 5)
            sock.sendall(b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: "
                         b"application/sparql-query\r\nContent-Length: 100000\r\n\r\nASK")
            held.append(sock)
        time.sleep(seconds)
    closed = 0
    for sock in held:
        sock.settimeout(0.5)
        try:
            data = sock.recv(200)
            closed += data == b"" or data.startswith(b"HTTP/1.1 408")
        except OSError:
            pass
        sock.close()
    report_canary(f"slow bodies ({sockets} sockets, {seconds:.0f} s)", canary,
                  f"{closed} of {sockets} refused or closed by the server")


def chunked_oversize(host: str, port: int, url: str) -> None:
    def chunks():
        yield b"ASK {} #"
        for _ in range(3 * 64):
            yield b"x" * 16384

    with Canary(url) as canary:
        started = time.monotonic()
        try:
            response = requests.post(url + "/sparql", data=chunks(), timeout=30,
                                     headers={"Content-Type": "application/sparql-query",
                                              "Accept": "application/sparql-results+json"})
            outcome = f"HTTP {response.status_code}"
        except requests.RequestException as exc:
            outcome = type(exc).__name__
        outcome += f" after {time.monotonic() - started:.2f} s"
        time.sleep(0.5)
    report_canary("chunked 3 MB body", canary, outcome)


def costly_charset(url: str) -> None:
    body = b"a" * 900_000  # no delimiter: punycode decodes it all, in quadratic time
    with Canary(url) as canary:
        started = time.monotonic()
        response = requests.post(url + "/sparql", data=body, timeout=60,
                                 headers={"Content-Type": "application/sparql-query; "
                                                          "charset=punycode"})
        outcome = f"HTTP {response.status_code} after {time.monotonic() - started:.2f} s"
        time.sleep(0.5)
    report_canary("charset=punycode, 0.9 MB", canary, outcome)


SLOW = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . "
        "FILTER(STRLEN(STR(?c)) + STRLEN(STR(?f)) + STRLEN(STR(?i)) > 1000000) }")


def few_identities(url: str, identities: int, seconds: float) -> None:
    stop = threading.Event()
    statuses: list[int] = []

    def flood(identity: str) -> None:
        with requests.Session() as session:
            while not stop.is_set():
                try:
                    response = session.get(url + "/sparql", params={"query": SLOW}, timeout=30,
                                           headers={"X-Forwarded-For": identity})
                    statuses.append(response.status_code)
                except requests.RequestException:
                    statuses.append(0)

    threads = [threading.Thread(target=flood, args=(f"203.0.113.{i % identities + 1}",))
               for i in range(identities * 4)]
    with Canary(url) as canary:
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        stop.set()
    for thread in threads:
        thread.join(30)
    report_canary(f"{identities} identities x 4 slow queries ({seconds:.0f} s)", canary,
                  f"attack statuses {dict(sorted((s, statuses.count(s)) for s in set(statuses)))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="base URL of a running ikmkg serve")
    parser.add_argument("--requests", type=int, default=2000, help="GETs per loop")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each attack")
    args = parser.parse_args()
    parts = urllib.parse.urlsplit(args.url)
    for path in ("/healthz", "/sparql?" + urllib.parse.urlencode({"query": ONE_ROW})):
        request_loop(parts.hostname, parts.port, path, 100)  # warm
        times = sorted(request_loop(parts.hostname, parts.port, path, args.requests))
        print(f"GET {path[:20]}: median {statistics.median(times) * 1e3:.3f} ms, "
              f"p90 {times[int(len(times) * 0.9)] * 1e3:.3f} ms ({args.requests} requests)")
    slow_bodies(parts.hostname, parts.port, args.url, 64, args.seconds)
    chunked_oversize(parts.hostname, parts.port, args.url)
    costly_charset(args.url)
    few_identities(args.url, 2, args.seconds)


if __name__ == "__main__":
    main()
