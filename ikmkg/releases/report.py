"""A release's SHACL validation report: written as canonical Turtle, read back as plain data
(for the pages that show a resource's results) and as a standalone HTML page. Knows nothing
about HTTP.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph
from rdflib.namespace import RDF, SH

from ikmkg import dumps
from ikmkg.kg import rebase_term
from ikmkg.releases.records import VALIDATION_FILE, Release
from ikmkg.settings import CANONICAL_BASE
from ikmkg.terms import to_oxigraph


def report_turtle(report_graph: Graph) -> bytes:
    """A SHACL report as deterministic Turtle (blank nodes canonicalised)."""
    triples = [ox.Quad(*(to_oxigraph(t) for t in triple)) for triple in report_graph]
    dataset = ox.Dataset(triples)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    ordered = sorted({q.triple for q in dataset}, key=lambda t: (str(t.subject), str(t.predicate),
                                                                 str(t.object)))
    return dumps.serialize(ordered, ox.RdfFormat.TURTLE, CANONICAL_BASE)


def validation_report_html(release: Release, base_uri: str) -> str:
    """The release's validation report as a standalone HTML page (templates/validation.html)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("ikmkg", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    return env.get_template("validation.html").render(
        release=release, report=validation_summary(release, base_uri),
        version_iri=str(release.iri(base_uri)))


@dataclasses.dataclass
class ValidationSummary:
    conforms: bool
    results: list[dict]  # focus, path, severity, message, value, shape (IRIs as text)

    def for_focus(self, iri: str) -> list[dict]:
        return [r for r in self.results if r["focus"] == iri]


@functools.lru_cache(maxsize=64)
def _summary(path: Path, mtime_ns: int, base_uri: str) -> ValidationSummary:
    return _read_summary(path, base_uri)


def validation_summary(release: Release, base_uri: str) -> ValidationSummary:
    """The release's SHACL report as plain data (read once per file version; callers must not
    modify it)."""
    path = release.directory / VALIDATION_FILE
    return _summary(path, path.stat().st_mtime_ns, base_uri)


def _read_summary(path: Path, base_uri: str) -> ValidationSummary:
    graph = Graph().parse(path, format="turtle")
    conforms = any(bool(o.toPython()) for o in graph.objects(None, SH.conforms))
    results = []
    for r in graph.subjects(RDF.type, SH.ValidationResult):
        def text(p):  # noqa: ANN001, ANN202
            value = graph.value(r, p)
            return "" if value is None else str(rebase_term(value, CANONICAL_BASE, base_uri))
        results.append({"focus": text(SH.focusNode), "path": text(SH.resultPath),
                        "severity": text(SH.resultSeverity).rsplit("#", 1)[-1],
                        "message": text(SH.resultMessage), "value": text(SH.value),
                        "shape": text(SH.sourceShape)})
    results.sort(key=lambda r: (r["focus"], r["path"], r["message"]))
    return ValidationSummary(conforms, results)
