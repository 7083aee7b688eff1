"""Where a query's time goes on the served path, layer by layer, in one run.

    python bench/run.py --triples 1000000 --workdir /tmp/b1m --skip-rdflib   # data and store
    python bench/decompose.py --workdir /tmp/b1m describe "label lookup" optional

For each query of bench/run.py's mix, round-robin in this process (so every layer sees the same
machine load), the median of:

- `pyoxigraph`: the query on an in-memory store in this process, serialised natively (the
  in-process baseline of bench/run.py);
- `answer`: the same through `ikmkg.engine.executor.answer`, as the engine runs it (TSV, row
  count, cap, then the asked format);
- `engine`: `PooledStore.query` over the engine's Unix socket (store_mode=shared);
- `app`: a GET /sparql through the Flask app in this process (WSGI call, no HTTP);
- `http`: the same GET over HTTP to the real `ikmkg serve` (Granian, 2 workers).

Each layer's figure includes the ones above it, so the differences are what each layer adds.
"""

from __future__ import annotations

import argparse
import http.client
import io
import logging
import os
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))
from run import MIX, PROLOGUE, free_port, start_ikmkg, stop


def _wsgi_get(app, query: str, accept: str) -> None:
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": "/sparql", "SERVER_NAME": "127.0.0.1",
        "QUERY_STRING": urllib.parse.urlencode({"query": query}), "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr, "REMOTE_ADDR": "127.0.0.1", "HTTP_ACCEPT": accept,
        "HTTP_HOST": "127.0.0.1", "wsgi.multithread": True, "wsgi.multiprocess": True,
        "wsgi.run_once": False, "wsgi.version": (1, 0)}
    status = []
    b"".join(app(environ, lambda s, h, e=None: status.append(s)))
    if not status[0].startswith("200"):
        raise SystemExit(f"the app answered {status[0]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True,
                        help="a bench/run.py work folder (project/ and cache/ with a store)")
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("queries", nargs="*", default=list(MIX), help="names from the mix")
    args = parser.parse_args()
    unknown = set(args.queries) - set(MIX)
    if unknown:
        raise SystemExit(f"unknown queries: {', '.join(sorted(unknown))}; the mix has "
                         + ", ".join(MIX))

    import pyoxigraph as ox

    from ikmkg import sparql
    from ikmkg.app import create_app
    from ikmkg.engine import executor
    from ikmkg.engine.process import load_memory
    from ikmkg.namespaces import prefixes
    from ikmkg.settings import Settings

    project, cache = args.workdir / "project", args.workdir / "cache"
    port = free_port()
    server, _ = start_ikmkg(project, cache, port, 2, "shared")
    app = create_app(Settings(store_mode="shared", project_dir=str(project),
                              cache_dir=str(cache)))
    access = logging.getLogger("ikmkg.access")  # written, as the server does, but not shown
    access.handlers[:] = [logging.StreamHandler(open(os.devnull, "w"))]  # noqa: SIM115
    access.propagate = False
    store = app.extensions["ikmkg_store"]
    memory = load_memory(store.path)
    own = prefixes()
    connection = http.client.HTTPConnection("127.0.0.1", port)
    try:
        print(f"{'query':<16}" + "".join(f"{k:>12}" for k in
                                         ("pyoxigraph", "answer", "engine", "app", "http"))
              + "   (ms, medians)")
        for name in args.queries:
            text, accept = PROLOGUE + MIX[name][0], MIX[name][1]
            fmt = "ttl" if accept == "text/turtle" else "srj"
            checked = sparql.check_query(text, max_results=10_000)
            request = store._request(checked.text, fmt, None, None, True, checked.max_results)
            target = "/sparql?" + urllib.parse.urlencode({"query": text})

            def bare(text=text):
                result = memory.query(text, use_default_graph_as_union=True)
                if isinstance(result, ox.QueryTriples):
                    ox.serialize(result, format=ox.RdfFormat.TURTLE, prefixes=own)
                else:
                    result.serialize(format=ox.QueryResultsFormat.JSON)

            def over_http(target=target, accept=accept, name=name):
                connection.request("GET", target, headers={"Accept": accept})
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    raise SystemExit(f"{name}: HTTP {response.status}")

            layers = {
                "pyoxigraph": bare,
                "answer": lambda request=request: executor.answer(memory, request, io.BytesIO()),
                "engine": lambda checked=checked, fmt=fmt: store.query(
                    checked.text, result_format=fmt, max_results=checked.max_results).read(),
                "app": lambda text=text, accept=accept: _wsgi_get(app, text, accept),
                "http": over_http,
            }
            times: dict[str, list[float]] = {layer: [] for layer in layers}
            for run in layers.values():  # warm-up
                run()
            for _ in range(args.rounds):
                for layer, run in layers.items():
                    started = time.perf_counter()
                    run()
                    times[layer].append(time.perf_counter() - started)
            print(f"{name:<16}" + "".join(f"{statistics.median(t) * 1000:12.3f}"
                                          for t in times.values()), flush=True)
    finally:
        connection.close()
        store.close()
        stop(server)


if __name__ == "__main__":
    main()
