"""Benchmark the SPARQL endpoint: HTTP vs in-process pyoxigraph vs rdflib-endpoint, one run.

    pip install "rdflib-endpoint[cli]"     # only for this script, never a runtime dependency
    python bench/run.py --triples 1000000
    python bench/run.py --triples 1000000 --startup-only --phases   # start-up and its phases

Generates the synthetic project (bench/generate.py), starts the real `ikmkg serve` (two Granian
workers) on a fresh cache (cold start-up: load, validate, build the store) and again on the
warm cache, then prints per query of the mix the median latency through /sparql over HTTP and
the same query run in this process directly on the same pyoxigraph store (same native
serialisation), the server's peak memory (every process of the server together, RSS and PSS),
and the same mix against rdflib-endpoint serving the same files.
"""

from __future__ import annotations

import argparse
import http.client
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyoxigraph as ox
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))
from generate import generate

ROOT = Path(__file__).resolve().parent.parent
PROLOGUE = """PREFIX ikm: <https://w3id.org/ikmkg/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX id: <https://w3id.org/ikmkg/id/>
"""
SRJ = "application/sparql-results+json"
TTL = "text/turtle"
#: name -> (query, Accept). Every entity named here exists at 100k and 1M triples.
MIX = {
    "describe": ("DESCRIBE <https://w3id.org/ikmkg/id/enterprise/synthetic-0004711>", TTL),
    "label lookup": ('SELECT ?s WHERE { ?s rdfs:label "UD Batik Jaya 0004711"@id }', SRJ),
    "text filter": ('SELECT ?s ?l WHERE { ?s a ikm:Enterprise ; rdfs:label ?l . '
                    'FILTER(LANG(?l) = "id" && CONTAINS(LCASE(?l), "rotan sentosa 00")) } '
                    "LIMIT 100", SRJ),
    "group-by count": ("SELECT ?province (COUNT(?e) AS ?n) WHERE { ?e a ikm:Enterprise ; "
                       "ikm:province ?province } GROUP BY ?province ORDER BY DESC(?n)", SRJ),
    "sum order limit": ("SELECT ?regency (SUM(?w) AS ?workers) WHERE { ?e ikm:location ?regency ;"
                        " ikm:workerCount ?w } GROUP BY ?regency ORDER BY DESC(?workers) "
                        "LIMIT 10", SRJ),
    "4-way join": ("SELECT ?e ?product ?engagement ?label WHERE { ?engagement a "
                   "ikm:ProvinceEngagement ; ikm:province ?province ; ikm:productFocus ?product ."
                   " ?e ikm:province ?province ; ikm:product ?product ; ikm:location ?regency . "
                   '?regency rdfs:label ?label FILTER(LANG(?label) = "en") } LIMIT 1000', SRJ),
    "optional": ("SELECT ?e ?l ?status WHERE { ?e ikm:location "
                 "<https://w3id.org/ikmkg/id/regency/synthetic-042> ; "
                 'rdfs:label ?l . FILTER(LANG(?l) = "en") OPTIONAL { ?e ikm:status ?status } }',
                 SRJ),
    "property path": ("SELECT ?province (COUNT(?e) AS ?n) WHERE { ?e ikm:product/skos:broader* "
                      "<https://w3id.org/ikmkg/id/product/synthetic-03> ; "
                      "ikm:location/^ikm:subdivision/ikm:parentArea "
                      "?province } GROUP BY ?province", SRJ),
    "ask": ("ASK { ?e a ikm:Enterprise ; ikm:workerCount ?w ; ikm:status ?s . "
            "FILTER(?w > 999) }", SRJ),
    "10k-row select": ("SELECT ?e ?l ?w WHERE { ?e a ikm:Enterprise ; rdfs:label ?l ; "
                       'ikm:workerCount ?w . FILTER(LANG(?l) = "id") } LIMIT 10000', SRJ),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, process: subprocess.Popen, timeout: float,
               log: Path | None = None) -> float:
    """Seconds until `url` answers; fails (with the end of `log`) if the process dies or the
    timeout passes."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log else ""
            raise SystemExit(f"server exited with {process.returncode}\n{tail}")
        try:
            requests.get(url, params={"query": "ASK {}"}, timeout=5)
            return time.monotonic() - started
        except requests.ConnectionError:
            time.sleep(0.1)
    raise SystemExit(f"{url} not ready after {timeout} s")


def start_ikmkg(project: Path, cache: Path, port: int,
                workers: int, store_mode: str = "disk") -> tuple[subprocess.Popen, float]:
    env = {**os.environ, "IKMKG_CACHE_DIR": str(cache), "IKMKG_QUERY_TIMEOUT": "120",
           "IKMKG_STORE_MODE": store_mode, "PYTHONPATH": str(ROOT)}
    # The server's stderr (start-up messages and the access log, a line a request) goes to a
    # file: a pipe nobody reads fills up and then blocks the workers mid-request.
    log = cache.parent / f"server-{store_mode}.log"
    started = time.monotonic()
    with open(log, "w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "ikmkg", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--workers", str(workers), "--project-dir", str(project)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr,
            start_new_session=True)
    wait_ready(f"http://127.0.0.1:{port}/sparql", process, 3600, log)
    return process, time.monotonic() - started


def stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return found


def tree_memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in bytes summed over `pid` and all its descendants."""
    rss = pss = 0
    stack = [pid]
    while stack:
        p = stack.pop()
        stack += _children(p)
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1]) * 1024
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1]) * 1024
        except OSError:
            pass
    return rss, pss


class PeakMemory(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak_rss, self.peak_pss = pid, 0, 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            rss, pss = tree_memory(self.pid)
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)
            time.sleep(0.2)


def time_http(base: str, path: str, query: str, accept: str, repeat: int,
              timeout: float = 1800, client: str = "192.0.2.1") -> tuple[float, int]:
    """Median seconds of GET `path`?query= over one kept-alive connection (after one warm-up).

    http.client rather than requests: the client's own overhead (about 1 ms a request for
    requests) is not the server's.
    """
    host, port = base.rsplit("//", 1)[1].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    target = path + "?" + urllib.parse.urlencode({"query": query})
    times, size = [], 0
    for n in range(repeat + 1):
        started = time.perf_counter()
        # X-Forwarded-For: each bench client is told apart, as behind a local reverse proxy.
        connection.request("GET", target, headers={"Accept": accept, "X-Forwarded-For": client})
        response = connection.getresponse()
        body = response.read()
        elapsed = time.perf_counter() - started
        if response.status != 200:
            raise SystemExit(f"{target[:80]}: {response.status} {body[:300]!r}")
        size = len(body)
        if n:
            times.append(elapsed)
    connection.close()
    return statistics.median(times), size


def time_inprocess(store: ox.Store, query: str, accept: str, repeat: int) -> tuple[float, int]:
    from ikmkg.namespaces import prefixes

    own = prefixes()
    times, size = [], 0
    for n in range(repeat + 1):
        started = time.perf_counter()
        result = store.query(query, use_default_graph_as_union=True)
        if isinstance(result, ox.QueryTriples):
            body = ox.serialize(result, format=ox.RdfFormat.TURTLE, prefixes=own)
        else:
            body = result.serialize(format=ox.QueryResultsFormat.JSON)
        elapsed = time.perf_counter() - started
        size = len(body)
        if n:
            times.append(elapsed)
    return statistics.median(times), size


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def measure_server(process: subprocess.Popen, port: int, repeat: int,
                   store: ox.Store):
    """Per query: median latency over HTTP and in this process, runs interleaved (so that both
    see the same machine load); then the server's peak memory under concurrent load.

    Memory is sampled in a separate phase: reading /proc/*/smaps_rollup walks page tables and
    would slow the timed queries down.
    """
    base = f"http://127.0.0.1:{port}"
    http_times, local = {}, {}
    for name, (q, a) in MIX.items():
        pairs = [(time_http(base, "/sparql", PROLOGUE + q, a, 1),
                  time_inprocess(store, PROLOGUE + q, a, 1)) for _ in range(repeat)]
        http_times[name] = (statistics.median(h[0] for h, _ in pairs), pairs[0][0][1])
        local[name] = (statistics.median(i[0] for _, i in pairs), pairs[0][1][1])
    memory = PeakMemory(process.pid)
    memory.start()
    # A burst of concurrent clients, so that every worker starts its executors (a 429 when all
    # are busy is the server doing its job: ignored here).
    def burst(job: tuple[str, str, str]) -> int:
        return requests.get(base + "/sparql", params={"query": PROLOGUE + job[0]}, timeout=600,
                            headers={"Accept": job[1], "X-Forwarded-For": job[2]}).status_code

    with ThreadPoolExecutor(6) as pool:
        jobs = [(q, a, f"192.0.2.{n}") for n, (q, a) in enumerate(list(MIX.values()) * 3)]
        statuses = list(pool.map(burst, jobs))
    print(f"concurrent burst: {statuses.count(200)} answered, {statuses.count(429)} got 429")
    time.sleep(0.5)
    memory.stopped.set()
    memory.join()
    return memory, http_times, local


def main() -> None:
    parser = argparse.ArgumentParser(description="ikmkg SPARQL benchmark")
    parser.add_argument("--triples", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=15, help="timed runs per query (ikmkg)")
    parser.add_argument("--rdflib-repeat", type=int, default=1,
                        help="timed runs per query (rdflib-endpoint, after one warm-up)")
    parser.add_argument("--skip-rdflib", action="store_true", help="skip rdflib-endpoint")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--store-mode", default="disk",
                        help="the server's store_mode (see the README's settings); several, "
                             "comma-separated (disk,memory,shared), are measured one after "
                             "the other in the same run")
    parser.add_argument("--keep-cache", action="store_true",
                        help="reuse the store cached in WORKDIR/cache (no cold start measured)")
    parser.add_argument("--startup-only", action="store_true",
                        help="measure the cold and warm start-up only (no query mix)")
    parser.add_argument("--phases", action="store_true",
                        help="also time each phase of the cold start in this process "
                             "(bench/startup.py: parse, SHACL check, write the store)")
    args = parser.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="ikmkg-bench-"))
    project, cache = work / "project", work / "cache"
    if not args.keep_cache:
        shutil.rmtree(cache, ignore_errors=True)
    started = time.monotonic()
    generate(project, args.triples)
    print(f"generated {args.triples:,} triples in {time.monotonic() - started:.1f} s -> {project}")

    modes = args.store_mode.split(",")
    unknown = set(modes) - {"disk", "memory", "shared"}
    if unknown:
        raise SystemExit(f"unknown store mode(s): {', '.join(sorted(unknown))}")
    port = free_port()
    if not args.keep_cache:
        process, cold = start_ikmkg(project, cache, port, args.workers, modes[0])
        stop(process)
        print(f"ikmkg start-up, cold (load + validate + build store): {cold:.1f} s")
    if args.phases:
        from startup import Phases, run_oxigraph

        from ikmkg.settings import Settings

        print("cold start-up phases, in this process:")
        phases = Phases()
        run_oxigraph(Settings(project_dir=str(project)), work / "phases-store", phases)
        shutil.rmtree(work / "phases-store", ignore_errors=True)
        print(f"  total: {phases.total():.1f} s")
    if args.startup_only:
        process, warm = start_ikmkg(project, cache, port, args.workers, modes[0])
        stop(process)
        print(f"ikmkg start-up, warm, store_mode={modes[0]}: {warm:.1f} s")
        return
    # The baseline is the engine as the server runs it: pyoxigraph in memory, loaded from the
    # same store folder's N-Quads dump.
    store = ox.Store()
    store.bulk_load(path=str(next(cache.glob("store-*/quads.nq"))), format=ox.RdfFormat.N_QUADS)
    measured = {}
    for mode in modes:
        process, warm = start_ikmkg(project, cache, port, args.workers, mode)
        print(f"ikmkg start-up, warm, store_mode={mode} (store cached by content hash): "
              f"{warm:.1f} s", flush=True)
        try:
            measured[mode] = measure_server(process, port, args.repeat, store)
        finally:
            stop(process)
    del store

    rdflib = {}
    if not args.skip_rdflib:
        rport = free_port()
        exe = shutil.which("rdflib-endpoint")
        if exe is None:
            raise SystemExit('rdflib-endpoint not installed: pip install "rdflib-endpoint[cli]"')
        started = time.monotonic()
        rproc = subprocess.Popen(
            [exe, "serve", "--host", "127.0.0.1", "--port", str(rport),
             str(project / "ontology" / "ikm.ttl"), str(project / "data" / "bench.ttl")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        rbase = f"http://127.0.0.1:{rport}"
        wait_ready(rbase + "/", rproc, 3600)
        rstart = time.monotonic() - started
        rdflib_memory = tree_memory(rproc.pid)
        print(f"rdflib-endpoint start-up: {rstart:.1f} s; memory after loading: RSS "
              f"{rdflib_memory[0] / 2**20:.0f} MiB")
        try:
            for name, (q, a) in MIX.items():
                rdflib[name] = time_http(rbase, "/", PROLOGUE + q, a, args.rdflib_repeat)
                print(f"  rdflib-endpoint {name}: {rdflib[name][0] * 1000:.0f} ms", flush=True)
        finally:
            stop(rproc)

    for mode, (memory, http_times, local) in measured.items():
        report(args, mode, memory, http_times, local, rdflib)


def report(args: argparse.Namespace, mode: str, memory: PeakMemory, http_times: dict,
           local: dict, rdflib: dict) -> None:
    """One table: per query HTTP vs in-process (and vs rdflib-endpoint), memory."""
    print(f"\n{args.triples:,} triples, {args.workers} workers, store_mode={mode}, "
          f"median of {args.repeat} runs")
    header = f"{'query':<16} {'HTTP ms':>9} {'in-proc ms':>10} {'HTTP/in-proc':>12} " \
             f"{'limit ms':>9} {'ok':>3}"
    if rdflib:
        header += f" {'rdflib-ep ms':>12} {'speed-up':>9}"
    print(header)
    ratios, speedups = [], []
    for name in MIX:
        h, size_h = http_times[name]
        i, size_i = local[name]
        limit = 1.2 * i + 0.001
        line = (f"{name:<16} {h * 1000:9.2f} {i * 1000:10.2f} {h / i:12.2f} "
                f"{limit * 1000:9.2f} {'yes' if h <= limit else 'NO':>3}")
        ratios.append(h / i)
        if rdflib:
            r = rdflib[name][0]
            speedups.append(r / h)
            line += f" {r * 1000:12.0f} {r / h:9.1f}"
        print(line)
    print(f"geometric mean HTTP/in-process: {geomean(ratios):.2f}")
    if speedups:
        print(f"geometric mean speed-up over rdflib-endpoint: {geomean(speedups):.1f}x")
    print(f"server peak memory, all processes: RSS {memory.peak_rss / 2**20:.0f} MiB, "
          f"PSS {memory.peak_pss / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
