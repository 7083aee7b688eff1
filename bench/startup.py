"""Where the cold start-up goes: each phase of load -> validate -> write the store, timed.

    python bench/startup.py --triples 1000000              # the server's path (fast check)
    python bench/startup.py --triples 1000000 --pipeline rdflib   # the report path, for contrast

Generates the synthetic project (bench/generate.py) and runs, in this process, the phases the
server runs on a cold cache (ikmkg.publish.published_graph then ikmkg.store.build_store_dir):

- `oxigraph` (what `ikmkg serve` does): parse every file with pyoxigraph into an in-memory
  store, run the SHACL conformance check (ikmkg.conformance, set-at-a-time SPARQL), write the
  on-disk store.
- `rdflib` (what runs when the check finds a violation, and what ran before issue #3): parse
  with rdflib, build the validation graph, pySHACL, write the on-disk store from rdflib terms.

Prints the seconds of each phase and the process's peak RSS. Wall-clock figures of one run on
whatever machine this is: on a shared machine, compare ratios of one run, not absolutes.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))
from generate import generate
from rdflib import Graph

from ikmkg import kg as kg_module
from ikmkg.settings import Settings
from ikmkg.store import build_store_dir


class Phases:
    def __init__(self) -> None:
        self.times: list[tuple[str, float]] = []
        self._last = time.perf_counter()

    def mark(self, name: str) -> None:
        now = time.perf_counter()
        self.times.append((name, now - self._last))
        self._last = now
        print(f"  {name}: {self.times[-1][1]:.1f} s", flush=True)

    def total(self) -> float:
        return sum(t for _, t in self.times)


def run_oxigraph(settings: Settings, out: Path, phases: Phases) -> bool:
    from ikmkg import conformance
    from ikmkg.validation import check_conformance

    graph = kg_module.load_oxigraph(settings)
    phases.mark("parse (pyoxigraph, into an in-memory store)")
    results = check_conformance(graph)
    phases.mark(f"SHACL conformance check (set-at-a-time SPARQL, {len(results)} results)")
    build_store_dir(graph, out)
    phases.mark("write the on-disk store (bulk load, optimise, N-Quads dump)")
    return conformance.conforms(results)


def run_rdflib(settings: Settings, out: Path, phases: Phases) -> bool:
    import pyshacl

    from ikmkg.validation import validation_graph

    kg = kg_module.load(settings)
    phases.mark("parse (syntax check with pyoxigraph, then rdflib)")
    graph = validation_graph(kg)
    shapes = kg.shapes + Graph()  # pySHACL adds axioms to the shapes graph it is given
    phases.mark("build the validation graph (data + class hierarchy)")
    conforms, _, _ = pyshacl.validate(graph, shacl_graph=shapes, inference="none",
                                      allow_warnings=True, abort_on_first=False, inplace=True)
    phases.mark("pySHACL")
    build_store_dir(dataclasses.replace(kg), out)
    phases.mark("write the on-disk store (from rdflib terms)")
    return bool(conforms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triples", type=int, default=100_000)
    parser.add_argument("--pipeline", choices=["oxigraph", "rdflib"], default="oxigraph")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="project folder (generated there unless it has data/bench.ttl)")
    args = parser.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="ikmkg-startup-"))
    project = work / "project"
    if not (project / "data" / "bench.ttl").is_file():
        generate(project, args.triples)
    settings = Settings(project_dir=str(project))
    out = work / "store"
    shutil.rmtree(out, ignore_errors=True)
    print(f"cold start-up phases, {args.pipeline} pipeline, {args.triples:,} triples:")
    phases = Phases()
    conforms = (run_oxigraph if args.pipeline == "oxigraph" else run_rdflib)(
        settings, out, phases)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  total: {phases.total():.1f} s; conforms: {conforms}; peak RSS {peak:.0f} MiB")
    shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
