"""Cold and warm SPARQL GET answers: the engine in process, Virtuoso, ikmkg, and nginx in front
of ikmkg, on the same data in one run (issue #19).

    python bench/cache.py --triples 1000000
    python bench/cache.py --triples 100000 --rounds 3 --repeat 10 --queries "describe,ask"

Generates bench/generate.py's project (reused when its folder is there), starts the real app
under the real server (Granian, `--workers`) with one more route, a bare Flask response (the
floor of any answer through that stack), puts nginx in front with deploy/nginx/ikmkg.conf
(tests/nginx.py) plus a second nginx server that serves static files (nginx's own floor),
loads the same files into a throwaway Virtuoso (bench/remote.py's bulk loader) and into an
in-memory pyoxigraph store (the engine the server runs, from the server's N-Quads dump).

For each query of bench/run.py's MIX: **cold** is the first request for the query (a text no
cache has seen: the query with a comment of its own, so ikmkg's result cache and nginx's cache
miss), median of `--rounds`, the four ways alternating request by request; **warm** is a
repeat of one such request, median of `--repeat` (through ikmkg: its result cache; through
nginx: its cache, X-Cache-Status HIT), ikmkg, nginx and their floors alternating, then the
engine and Virtuoso alternating (apart, as a heavy query slows the small requests after it).
Each way has its own kept-alive connection. The last two columns
divide warm through ikmkg by the bare Flask response, and warm through nginx by nginx sending
a static file holding the same answer bytes. One run, medians in ms; the figures depend on
the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "tests"), str(ROOT)]

import backends
import pyoxigraph as ox
from generate import generate
from nginx import Nginx
from remote import dataset_params, load_virtuoso
from run import MIX, PROLOGUE, free_port, stop, wait_ready

BARE = "/_bare"
_nonce = itertools.count()


def serve(port: int, project: str, workers: int) -> None:
    """The real app plus a bare route, under the server `ikmkg serve` runs (child process)."""
    from flask import Response

    from ikmkg.app import create_app
    from ikmkg.server import serve_app
    from ikmkg.settings import Settings

    app = create_app(Settings.from_env(project_dir=project))
    app.add_url_rule(BARE, "bare", lambda: Response("ok", mimetype="text/plain"))
    serve_app(app, host="127.0.0.1", port=port, workers=workers)


class Client:
    """One kept-alive connection (opened again if the server closed it: Virtuoso does after a
    while); `get` returns (seconds, body) and checks the status."""

    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1800)
        self.last_headers: http.client.HTTPMessage | None = None

    def get(self, target: str, accept: str = "*/*") -> tuple[float, bytes]:
        for attempt in range(2):
            started = time.perf_counter()
            try:
                self.connection.request("GET", target, headers={"Accept": accept})
                response = self.connection.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError):
                if attempt:
                    raise
                self.connection.close()  # a server that closed an idle connection: reconnect
                continue
            body = response.read()
            elapsed = time.perf_counter() - started
            break
        if response.status != 200:
            raise SystemExit(f"{target[:100]}: {response.status} {body[:300]!r}")
        self.last_headers = response.headers
        return elapsed, body


class Engine:
    """The engine in this process: pyoxigraph on the server's store, serialised natively."""

    def __init__(self, dump: Path):
        from ikmkg.namespaces import prefixes

        self.store, self.prefixes = ox.Store(), prefixes()
        self.store.bulk_load(path=str(dump), format=ox.RdfFormat.N_QUADS)

    def get(self, query: str) -> float:
        started = time.perf_counter()
        result = self.store.query(query, use_default_graph_as_union=True)
        if isinstance(result, ox.QueryTriples):
            ox.serialize(result, format=ox.RdfFormat.TURTLE, prefixes=self.prefixes)
        else:
            result.serialize(format=ox.QueryResultsFormat.JSON)
        return time.perf_counter() - started


def variant(query: str) -> str:
    """`query` as no cache has seen it."""
    return f"{query}\n# bench {os.getpid()} {next(_nonce)}"


def sparql_target(query: str) -> str:
    return "/sparql?" + urllib.parse.urlencode({"query": query})


def virtuoso_target(path: str, query: str) -> str:
    """The query with the dataset ikmkg's graphs form (bench/remote.py)."""
    return path + "?" + urllib.parse.urlencode([("query", query), *dataset_params()])


def ms(seconds: list[float]) -> float:
    return statistics.median(seconds) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", type=int, default=1_000_000, help="synthetic graph size")
    parser.add_argument("--workers", type=int, default=2, help="server workers")
    parser.add_argument("--rounds", type=int, default=5, help="cold requests per query and way")
    parser.add_argument("--repeat", type=int, default=30, help="warm requests per query and way")
    parser.add_argument("--queries", default=",".join(MIX), help="comma-separated MIX names")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--project", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, str(args.project), args.workers)
        return

    project = Path(tempfile.gettempdir()) / f"ikmkg-bench-{args.triples}"
    if not (project / "data").is_dir():
        print(f"generating {args.triples:,} triples into {project}", file=sys.stderr)
        generate(project, args.triples)
    work = Path(tempfile.mkdtemp(prefix="ikmkg-bench-cache-"))
    # Virtuoso's guidance for a few GB of buffers (as bench/remote.py).
    backends.VIRTUOSO_INI = backends.VIRTUOSO_INI.replace(
        "NumberOfBuffers = 10000", "NumberOfBuffers = 340000").replace(
        "MaxDirtyBuffers = 6000", "MaxDirtyBuffers = 250000")
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "IKMKG_CACHE_DIR": str(work / "cache"),
           "IKMKG_QUERY_TIMEOUT": "120"}
    log = (work / "server.log").open("w")
    started = time.monotonic()
    app = subprocess.Popen([sys.executable, __file__, "--serve", str(port), "--project",
                            str(project), "--workers", str(args.workers)],
                           env=env, stdout=subprocess.DEVNULL, stderr=log,
                           start_new_session=True)
    virtuoso = proxy = None
    try:
        wait_ready(f"http://127.0.0.1:{port}/sparql", app, 3600, work / "server.log")
        print(f"ikmkg ready in {time.monotonic() - started:.0f} s", file=sys.stderr)
        static_port = free_port()
        (work / "nginx" / "static").mkdir(parents=True)
        proxy = Nginx(work / "nginx", port, extra=(
            f"    server {{ listen 127.0.0.1:{static_port}; "
            f"root {work / 'nginx' / 'static'}; default_type application/octet-stream; }}"
        )).start()
        started = time.monotonic()
        virtuoso = backends.VirtuosoServer(work / "virtuoso").start()
        load_virtuoso(virtuoso, project)
        print(f"Virtuoso loaded in {time.monotonic() - started:.0f} s", file=sys.stderr)
        engine = Engine(next((work / "cache").glob("store-*/quads.nq")))

        direct, through, static = Client(port), Client(proxy.port), Client(static_port)
        store = Client(virtuoso.port)
        store_path = urllib.parse.urlsplit(virtuoso.url).path
        floor = []
        rows = []
        for name in args.queries.split(","):
            query, accept = MIX[name]
            text = PROLOGUE + query
            cold = {way: [] for way in ("engine", "virtuoso", "ikmkg", "nginx")}
            for _ in range(args.rounds):
                cold["engine"].append(engine.get(variant(text)))
                cold["virtuoso"].append(store.get(virtuoso_target(store_path, variant(text)),
                                                  accept)[0])
                cold["ikmkg"].append(direct.get(sparql_target(variant(text)), accept)[0])
                cold["nginx"].append(through.get(sparql_target(variant(text)), accept)[0])
                assert through.last_headers["X-Cache-Status"] == "MISS"
            kept = {"ikmkg": sparql_target(variant(text)), "nginx": sparql_target(variant(text)),
                    "virtuoso": virtuoso_target(store_path, variant(text))}
            _, body = direct.get(kept["ikmkg"], accept)
            capped = "X-Result-Capped" in direct.last_headers
            through.get(kept["nginx"], accept)
            store.get(kept["virtuoso"], accept)
            static_name = f"q{len(rows)}"
            (work / "nginx" / "static" / static_name).write_bytes(body)
            static.get("/" + static_name)
            warm = {way: [] for way in ("engine", "virtuoso", "ikmkg", "nginx", "static", "bare")}
            warm_status = set()
            for _ in range(args.repeat):  # the answers from caches and their floors
                warm["ikmkg"].append(direct.get(kept["ikmkg"], accept)[0])
                warm["nginx"].append(through.get(kept["nginx"], accept)[0])
                warm_status.add(through.last_headers["X-Cache-Status"])
                warm["static"].append(static.get("/" + static_name)[0])
                warm["bare"].append(direct.get(BARE)[0])
            for _ in range(args.repeat):  # apart: a heavy query would slow the next small ones
                warm["engine"].append(engine.get(text))
                warm["virtuoso"].append(store.get(kept["virtuoso"], accept)[0])
            floor += warm["bare"]
            rows.append((name, {way: ms(times) for way, times in cold.items()},
                         {way: ms(times) for way, times in warm.items()}, len(body), capped,
                         warm_status))
            print(f"  {name}: done", file=sys.stderr, flush=True)
    finally:
        if virtuoso is not None:
            virtuoso.stop()
        if proxy is not None:
            proxy.stop()
        stop(app)
        log.close()
    report(args, rows, ms(floor))


def report(args: argparse.Namespace, rows: list, bare_ms: float) -> None:
    print(f"\n{args.triples:,} triples, {args.workers} workers; ms, cold: median of "
          f"{args.rounds} first requests, warm: median of {args.repeat} repeats\n")
    print("| query | engine cold | engine warm | Virtuoso cold | Virtuoso warm | ikmkg cold | "
          "ikmkg warm | nginx cold | nginx warm | bytes | ikmkg warm / bare Flask | "
          "nginx warm / static file |")
    print("|---|" + "---:|" * 11)
    ikmkg_ratios, nginx_ratios = [], []
    for name, cold, warm, size, capped, warm_status in rows:
        ikmkg_ratio = warm["ikmkg"] / warm["bare"]
        nginx_ratio = warm["nginx"] / warm["static"]
        ikmkg_ratios.append(ikmkg_ratio)
        nginx_ratios.append(nginx_ratio)
        note = " (capped: never kept)" if capped else ""
        if warm_status != {"HIT"}:
            note += f" (nginx: {'/'.join(sorted(warm_status))})"
        print(f"| {name}{note} | {cold['engine']:.2f} | {warm['engine']:.2f} | "
              f"{cold['virtuoso']:.2f} | {warm['virtuoso']:.2f} | {cold['ikmkg']:.2f} | "
              f"{warm['ikmkg']:.2f} | {cold['nginx']:.2f} | {warm['nginx']:.2f} | {size:,} | "
              f"{ikmkg_ratio:.2f} | {nginx_ratio:.2f} |")
    print(f"| **geometric mean** | | | | | | | | | | **{geomean(ikmkg_ratios):.2f}** | "
          f"**{geomean(nginx_ratios):.2f}** |")
    statics = [warm["static"] for _, _, warm, *_ in rows]
    print(f"\nfloors: bare Flask response {bare_ms:.2f} ms (median over all queries' rounds); "
          f"nginx static file {min(statics):.2f}-{max(statics):.2f} ms")


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


if __name__ == "__main__":
    main()
