"""Cold and warm SPARQL GET answers through the app, in process (issue #19).

    python bench/repeat.py                                  # the shipped project
    python bench/repeat.py --project tests/data/sparql --rounds 30

For each query: cold is its first request in a process (the result cache emptied before each
round, so the engine evaluates it), warm a repeat (answered from the result cache), and
revalidated a repeat with `If-None-Match` (304, nothing evaluated). Prints the median of each
in milliseconds and warm/cold and revalidated/cold as ratios. One run; the figures depend on the
machine and on what else runs on it. Bounded: `--rounds` requests of each kind per query.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

IKM = ("PREFIX ikm: <https://w3id.org/ikmkg/ontology#> "
       "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> ")
QUERIES = {
    "lookup": IKM + "SELECT ?label WHERE { ?p a ikm:Province ; rdfs:label ?label } LIMIT 5",
    "count by class": "SELECT ?class (COUNT(?s) AS ?n) WHERE { ?s a ?class } GROUP BY ?class "
                      "ORDER BY DESC(?n)",
    "join": IKM + "SELECT ?s ?label WHERE { ?s ?p ?o . ?o rdfs:label ?label } LIMIT 500",
    "construct": "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 1000",
}
ACCEPT = {"construct": "text/turtle"}


def median_ms(timings: list[float]) -> float:
    return statistics.median(timings) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", default=None, help="project folder (default: the shipped)")
    parser.add_argument("--rounds", type=int, default=20, help="requests of each kind per query")
    args = parser.parse_args()

    from ikmkg.app import create_app
    from ikmkg.settings import Settings

    overrides = {"cache_dir": tempfile.mkdtemp(prefix="ikmkg-bench-repeat-")}
    if args.project:
        overrides["project_dir"] = args.project
    app = create_app(Settings.from_env(**overrides))
    client = app.test_client()
    print(f"{'query':16} {'cold ms':>9} {'warm ms':>9} {'304 ms':>9} {'warm/cold':>10} "
          f"{'304/cold':>9}")
    for name, query in QUERIES.items():
        headers = {"Accept": ACCEPT.get(name, "application/sparql-results+json")}
        cold, warm, revalidated = [], [], []
        for _ in range(args.rounds):
            app.extensions.pop("ikmkg_results", None)  # a fresh process's empty result cache
            started = time.perf_counter()
            first = client.get("/sparql", query_string={"query": query}, headers=headers)
            cold.append(time.perf_counter() - started)
            assert first.status_code == 200, first.data[:300]
            started = time.perf_counter()
            client.get("/sparql", query_string={"query": query}, headers=headers)
            warm.append(time.perf_counter() - started)
            started = time.perf_counter()
            again = client.get("/sparql", query_string={"query": query},
                               headers={**headers, "If-None-Match": first.headers["ETag"]})
            revalidated.append(time.perf_counter() - started)
            assert again.status_code == 304
        c, w, r = median_ms(cold), median_ms(warm), median_ms(revalidated)
        print(f"{name:16} {c:9.2f} {w:9.2f} {r:9.2f} {w / c:10.2f} {r / c:9.2f}")
    getattr(app.extensions["ikmkg_store"], "close", lambda: None)()


if __name__ == "__main__":
    main()
