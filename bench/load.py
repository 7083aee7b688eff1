"""Load test: a mixed workload against a real `ikmkg serve` at increasing concurrency (issue 7).

    python bench/load.py                          # the shipped graph, 2 workers, 10 s per level
    python bench/load.py --duration 75 --levels 64  # a 5-minute-ish soak at 64 clients (x4 runs)

Starts `python -m ikmkg serve` on 127.0.0.1 (a free port) with several server workers, finds
entity pages, the named queries and the dump files through the server itself, then drives, for a
bounded time at each concurrency level, threads that each keep one HTTP/1.1 connection
(http.client) and pick requests from the mix:

    60 % entity pages /doc/... (HTML, Turtle, JSON-LD, N-Triples, RDF/XML by Accept)
    25 % SPARQL: the competency questions (queries/*.rq) through /sparql
    15 % dumps: a Range request for a random slice of a file under /dumps/

The clients run on threads of up to 8 client processes (one process would measure its own GIL),
each client with its own address in X-Forwarded-For, as a reverse proxy on this host passes it
on (`--one-address`: all from 127.0.0.1, so the per-client query limit refuses most queries).
Prints per level: throughput, p50/p99 latency (all, and entity pages alone), errors (5xx,
connection failures), 429 refusals, and the server's RSS (every process together) sampled once
a second. One run on one machine.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from run import free_port, tree_memory  # bench/run.py: a free port, RSS of a process tree

PAGE_TYPES = ["text/html", "text/turtle", "application/ld+json", "application/n-triples",
              "application/rdf+xml"]
ENTITY_QUERY = ("SELECT DISTINCT ?s WHERE { GRAPH ?g { ?s a ?t } "
                'FILTER(STRSTARTS(STR(?s), "%sid/")) } LIMIT 200')


def start_server(port: int, workers: int, cache_dir: str) -> subprocess.Popen:
    env = {**os.environ, "IKMKG_CACHE_DIR": cache_dir}
    log = open(Path(cache_dir) / "server.log", "w+b")  # noqa: SIM115 -- read on failure
    process = subprocess.Popen(
        [sys.executable, "-m", "ikmkg", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers)], cwd=ROOT, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=log)  # the access log goes there: never a full pipe
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise SystemExit("server exited:\n" + log.read().decode()[-3000:])
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return process
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("server did not become ready in 300 s")


def get(port: int, path: str, headers: dict | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    return response.status, response.read()


def discover(port: int) -> dict:
    """Entity pages, queries and dump files, as the server publishes them."""
    import json

    status, body = get(port, "/version")
    base = "https://w3id.org/ikmkg/"
    query = ENTITY_QUERY % base
    status, body = get(port, "/sparql?" + urllib.parse.urlencode({"query": query}),
                       {"Accept": "application/sparql-results+json"})
    if status != 200:
        raise SystemExit(f"entity query failed: {status} {body[:300]!r}")
    iris = [b["s"]["value"] for b in json.loads(body)["results"]["bindings"]]
    docs = ["/doc/" + iri[len(base) + 3:] for iri in iris]
    queries = [p.read_text() for p in sorted((ROOT / "queries").glob("*.rq"))]
    status, body = get(port, "/dumps/", {"Accept": "text/html"})
    dumps = sorted({m for m in re.findall(r'href="(/dumps/[^"/?#]+\.[a-z.]+)"', body.decode())})
    sizes = {}
    for path in dumps:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("HEAD", path)
        response = conn.getresponse()
        response.read()
        if response.status == 200 and response.getheader("Content-Length"):
            sizes[path] = int(response.getheader("Content-Length"))
    return {"docs": docs, "queries": queries, "dumps": sizes}


#: Client processes at most (each runs its share of the clients on threads): one Python process
#: for every client would measure the load generator's own GIL, not the server.
CLIENT_PROCESSES = 8


class Worker(threading.Thread):
    def __init__(self, port: int, mix: dict, stop: float, seed: int, address: str | None):
        super().__init__(daemon=True)
        self.port, self.mix, self.stop, self.rng = port, mix, stop, random.Random(seed)
        #: the client's own address, as a reverse proxy on this host passes it on
        self.headers = {"X-Forwarded-For": address} if address else {}
        self.samples: list[tuple[str, float, int]] = []  # (kind, seconds, status; 0 = failed)

    def _request(self) -> tuple[str, str, str, dict]:
        roll = self.rng.random()
        if roll < 0.60 or not (self.mix["queries"] or self.mix["dumps"]):
            return "page", "GET", self.rng.choice(self.mix["docs"]), {
                "Accept": self.rng.choice(PAGE_TYPES)}
        if roll < 0.85 or not self.mix["dumps"]:
            query = urllib.parse.urlencode({"query": self.rng.choice(self.mix["queries"])})
            return "sparql", "GET", "/sparql?" + query, {
                "Accept": "application/sparql-results+json"}
        path, size = self.rng.choice(list(self.mix["dumps"].items()))
        start = self.rng.randrange(max(size - 1, 1))
        end = min(size - 1, start + self.rng.randrange(1, 65536))
        return "dump", "GET", path, {"Range": f"bytes={start}-{end}"}

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while time.monotonic() < self.stop:
            kind, method, path, headers = self._request()
            started = time.perf_counter()
            try:
                conn.request(method, path, headers={**headers, **self.headers})
                response = conn.getresponse()
                response.read()
                status = response.status
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException):
                status = 0
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            self.samples.append((kind, time.perf_counter() - started, status))
        conn.close()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def _clients(port: int, mix: dict, stop: float, seeds: list[int], one_address: bool,
             out) -> None:
    """One client process: its share of the clients on threads; their samples to `out`."""
    workers = [Worker(port, mix, stop, seed, None if one_address else f"198.51.100.{seed % 250}")
               for seed in seeds]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    out.send([s for w in workers for s in w.samples])
    out.close()


def run_level(port: int, mix: dict, clients: int, duration: float, pid: int,
              one_address: bool = False) -> dict:
    import multiprocessing.connection

    stop = time.monotonic() + duration  # CLOCK_MONOTONIC: the same clock in every process
    context = multiprocessing.get_context("fork")
    count = min(clients, CLIENT_PROCESSES)
    pipes, processes = [], []
    for n in range(count):
        receive, send = context.Pipe(duplex=False)
        process = context.Process(target=_clients, daemon=True, args=(
            port, mix, stop, list(range(clients))[n::count], one_address, send))
        process.start()
        send.close()
        pipes.append(receive)
        processes.append(process)
    rss: list[int] = []
    started = time.perf_counter()
    samples: list[tuple[str, float, int]] = []
    waiting = list(pipes)
    while waiting:
        rss.append(tree_memory(pid)[0])
        for ready in multiprocessing.connection.wait(waiting, timeout=1):
            samples += ready.recv()
            waiting.remove(ready)
    elapsed = time.perf_counter() - started
    for process in processes:
        process.join()
    ok = {200, 206, 304}
    return {
        "clients": clients, "requests": len(samples), "rps": len(samples) / elapsed,
        "p50": percentile([s[1] for s in samples], 0.50),
        "p99": percentile([s[1] for s in samples], 0.99),
        "page_p50": percentile([s[1] for s in samples if s[0] == "page"], 0.50),
        "page_p99": percentile([s[1] for s in samples if s[0] == "page"], 0.99),
        "errors": sum(1 for s in samples if s[2] == 0 or s[2] >= 500),
        "refused": sum(1 for s in samples if s[2] == 429),
        "other": sorted({s[2] for s in samples if s[2] not in ok | {0, 429} and s[2] < 500}),
        "rss_first": rss[0] if rss else 0, "rss_last": rss[-1] if rss else 0,
        "rss_max": max(rss) if rss else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="server workers")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per level")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 4, 16, 64],
                        help="concurrency levels (clients)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--one-address", action="store_true",
                        help="every client from 127.0.0.1 (one client for the per-client query "
                             "limit: many 429s), instead of an own X-Forwarded-For address each")
    args = parser.parse_args()
    port = args.port or free_port()
    with tempfile.TemporaryDirectory(prefix="ikmkg-load-") as cache_dir:
        process = start_server(port, args.workers, cache_dir)
        try:
            mix = discover(port)
            print(f"server pid {process.pid}, {args.workers} workers; mix: "
                  f"{len(mix['docs'])} pages x {len(PAGE_TYPES)} formats, "
                  f"{len(mix['queries'])} queries, {len(mix['dumps'])} dump files")
            print(f"{'clients':>7} {'req':>7} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
                  f"{'page p50':>8} {'page p99':>8} {'errors':>6} {'429':>5} "
                  f"{'RSS MiB first/last/max':>24}")
            for clients in args.levels:
                r = run_level(port, mix, clients, args.duration, process.pid,
                              args.one_address)
                mib = 1024 * 1024
                print(f"{r['clients']:>7} {r['requests']:>7} {r['rps']:>8.1f} "
                      f"{r['p50'] * 1000:>7.1f} {r['p99'] * 1000:>7.1f} "
                      f"{r['page_p50'] * 1000:>8.1f} {r['page_p99'] * 1000:>8.1f} "
                      f"{r['errors']:>6} {r['refused']:>5} "
                      f"{r['rss_first'] / mib:>8.0f}/{r['rss_last'] / mib:.0f}/"
                      f"{r['rss_max'] / mib:.0f}"
                      + (f"  other statuses: {r['other']}" if r["other"] else ""), flush=True)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


if __name__ == "__main__":
    main()
