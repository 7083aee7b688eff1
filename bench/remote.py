"""Benchmark ikmkg in front of a remote store: per-query latency through ikmkg vs the store
queried directly, and requests per second under concurrent clients. One run, figures printed.

    python bench/remote.py --triples 5000000            # oxigraph and virtuoso
    python bench/remote.py --triples 1000000 --backends oxigraph --repeat 20
    python bench/remote.py --triples 5000000 --queries "describe,label lookup,optional"

For each backend: generate the synthetic project (bench/generate.py, reused when the folder is
there), start the store on loopback with a throwaway database (tests/backends.py), bulk-load it
with the store's own loader (`oxigraph load`, Virtuoso's `ld_dir`/`rdf_loader_run`: at millions
of triples `ikmkg load`'s rdflib parse and SHACL validation would dominate the run and is not
what is measured here), record a version, start `ikmkg serve --store URL` (Granian, --workers),
then time each query of bench/run.py's MIX both ways over one kept-alive connection (median of
--repeat after a warm-up). "direct" sends the very dataset ikmkg sends (default-graph-uri and
named-graph-uri listing the three published graphs) and asks for the same media type. If `wrk`
is installed, requests per second for a cheap query follow, through ikmkg and direct.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "tests"), str(ROOT)]

import backends  # noqa: E402
import requests  # noqa: E402
from generate import generate  # noqa: E402
from requests.auth import HTTPDigestAuth  # noqa: E402
from run import MIX, PROLOGUE, free_port, stop, wait_ready  # noqa: E402

from ikmkg.kg import GRAPH_NAMES, graph_iri  # noqa: E402
from ikmkg.remote import DCT, meta_graph  # noqa: E402
from ikmkg.settings import CANONICAL_BASE  # noqa: E402

GRAPHS = {name: str(graph_iri(CANONICAL_BASE, name)) for name in GRAPH_NAMES}
FILES = {"ontology": "ontology/ikm.ttl", "shapes": "ontology/shapes.ttl", "data": "data/bench.ttl"}
CHEAP = PROLOGUE + "SELECT ?l WHERE { <https://w3id.org/ikmkg/id/province/synthetic-07> rdfs:label ?l }"


def dataset_params() -> list[tuple[str, str]]:
    return ([("default-graph-uri", g) for g in GRAPHS.values()]
            + [("named-graph-uri", g) for g in GRAPHS.values()])


def load_oxigraph(server: backends.OxigraphServer, project: Path) -> None:
    binary = backends.require("oxigraph")
    for name, path in FILES.items():
        subprocess.run([binary, "load", "--location", str(server.folder / "db"), "--file",
                        str(project / path), "--graph", GRAPHS[name]], check=True,
                       stdout=subprocess.DEVNULL)


def load_virtuoso(server: backends.VirtuosoServer, project: Path) -> None:
    isql = shutil.which("isql-vt") or shutil.which("isql")
    for name, path in FILES.items():
        target = server.folder / f"load-{name}.ttl"
        if not target.exists():
            os.link(project / path, target) if (project / path).stat().st_dev == \
                server.folder.stat().st_dev else shutil.copy(project / path, target)
        subprocess.run([isql, str(server.sql_port), server.user, server.password,
                        f"exec=ld_dir('.', '{target.name}', '{GRAPHS[name]}');"],
                       check=True, stdout=subprocess.DEVNULL)
    subprocess.run([isql, str(server.sql_port), server.user, server.password,
                    "exec=rdf_loader_run(); checkpoint;"], check=True, stdout=subprocess.DEVNULL)


def record_version(server: backends.Server, version: str) -> None:
    meta = meta_graph(CANONICAL_BASE)
    update = f'INSERT DATA {{ GRAPH <{meta}> {{ <{meta}> <{DCT}identifier> "{version}" }} }}'
    if server.kind == "virtuoso":
        url = server.url.rsplit("/", 1)[0] + "/sparql-auth"
        auth = HTTPDigestAuth(server.user, server.password)
    else:
        url, auth = server.url.rsplit("/", 1)[0] + "/update", None
    requests.post(url, data={"update": update}, auth=auth, timeout=60).raise_for_status()


def median_get(host_port: str, target: str, accept: str, repeat: int) -> tuple[float, int]:
    host, port = host_port.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=600)
    times, size = [], 0
    for n in range(repeat + 1):
        started = time.perf_counter()
        connection.request("GET", target, headers={"Accept": accept})
        response = connection.getresponse()
        body = response.read()
        elapsed = time.perf_counter() - started
        if response.status != 200:
            raise SystemExit(f"{host_port}{target[:80]}: {response.status} {body[:300]!r}")
        size = len(body)
        if n:
            times.append(elapsed)
    connection.close()
    return statistics.median(times), size


def wrk(url: str, seconds: int, connections: int) -> float | None:
    binary = shutil.which("wrk")
    if binary is None:
        return None
    out = subprocess.run([binary, "-t2", f"-c{connections}", f"-d{seconds}s", url],
                         capture_output=True, text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return float(match.group(1)) if match else None


def bench_backend(kind: str, project: Path, tmp: Path, args: argparse.Namespace) -> None:
    backends.OXIGRAPH_TIMEOUT_S = 600  # the bench's heavy queries are meant to finish
    # Virtuoso's guidance for a few GB of buffers, instead of the tests' small throwaway setting.
    backends.VIRTUOSO_INI = backends.VIRTUOSO_INI.replace(
        "NumberOfBuffers = 10000", "NumberOfBuffers = 340000").replace(
        "MaxDirtyBuffers = 6000", "MaxDirtyBuffers = 250000")
    server = backends.SERVERS[kind](tmp / kind)
    started = time.monotonic()
    if kind == "oxigraph":
        load_oxigraph(server, project)
        server.start()
    else:
        server.start()
        load_virtuoso(server, project)
    record_version(server, f"bench-{args.triples}")
    print(f"\n## {kind}: loaded in {time.monotonic() - started:.0f} s ({server.url})", flush=True)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "IKMKG_QUERY_TIMEOUT": "600",
           "IKMKG_MAX_CONCURRENT_QUERIES": "16"}
    app = subprocess.Popen(
        [sys.executable, "-m", "ikmkg", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(args.workers), "--project-dir", str(project), "--store", server.url],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    try:
        wait_ready(f"http://127.0.0.1:{port}/sparql", app, 300)
        store_hostport = urllib.parse.urlsplit(server.url).netloc
        store_path = urllib.parse.urlsplit(server.url).path
        print("| query | direct ms | through ikmkg ms | ratio | added ms | bytes |")
        print("|---|---:|---:|---:|---:|---:|")
        for name in args.queries.split(","):
            query, accept = MIX[name]
            text = PROLOGUE + query
            direct, size = median_get(store_hostport, store_path + "?" + urllib.parse.urlencode(
                [("query", text), *dataset_params()]), accept, args.repeat)
            through, _ = median_get(f"127.0.0.1:{port}", "/sparql?" + urllib.parse.urlencode(
                {"query": text}), accept, args.repeat)
            print(f"| {name} | {direct * 1000:.1f} | {through * 1000:.1f} | "
                  f"{through / direct:.2f} | {(through - direct) * 1000:+.1f} | {size} |",
                  flush=True)
        through_url = f"http://127.0.0.1:{port}/sparql?" + urllib.parse.urlencode(
            {"query": CHEAP})
        direct_url = server.url + "?" + urllib.parse.urlencode([("query", CHEAP),
                                                                 *dataset_params()])
        rps_through = wrk(through_url, args.wrk_seconds, args.connections)
        rps_direct = wrk(direct_url, args.wrk_seconds, args.connections)
        if rps_through and rps_direct:
            print(f"\nrequests/s, cheap query, {args.connections} connections, "
                  f"{args.workers} workers: through ikmkg {rps_through:.0f}, direct "
                  f"{rps_direct:.0f} (ratio {rps_through / rps_direct:.2f})")
    finally:
        stop(app)
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triples", type=int, default=5_000_000, help="about this many triples")
    parser.add_argument("--backends", default="oxigraph,virtuoso", help="comma-separated")
    parser.add_argument("--repeat", type=int, default=15, help="timed runs per query")
    parser.add_argument("--workers", type=int, default=2, help="server workers of ikmkg")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--wrk-seconds", type=int, default=10, help="wrk duration")
    parser.add_argument("--queries", default=",".join(MIX),
                        help="comma-separated names from bench/run.py's MIX (default: all; at "
                             "millions of triples the scans take minutes each)")
    parser.add_argument("--project", type=Path, default=None,
                        help="reuse or write the synthetic project here (default: a temp folder)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # run the cleanup in `finally`
    tmp = Path(tempfile.mkdtemp(prefix="ikmkg-bench-remote-"))
    project = args.project or tmp / "project"
    try:
        if not (project / "data" / "bench.ttl").is_file():
            started = time.monotonic()
            generate(project, args.triples)
            print(f"generated {args.triples} triples in {time.monotonic() - started:.0f} s")
        for kind in args.backends.split(","):
            bench_backend(kind.strip(), project, tmp, args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
