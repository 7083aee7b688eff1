"""SHACL validation of the data against the shapes, with a report a person can act on."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from pathlib import Path

import pyshacl
from rdflib import Graph
from rdflib.namespace import RDF, SH
from rdflib.term import Node

from ikmkg.kg import KnowledgeGraph


@dataclasses.dataclass(frozen=True)
class Violation:
    """One SHACL validation result, flattened for printing."""

    focus: str
    path: str
    value: str
    message: str
    severity: str
    shape: str
    file: str


@dataclasses.dataclass
class ValidationReport:
    conforms: bool
    graph: Graph
    violations: list[Violation]

    def by_focus(self) -> dict[str, list[Violation]]:
        groups: dict[str, list[Violation]] = defaultdict(list)
        for v in self.violations:
            groups[v.focus].append(v)
        return dict(sorted(groups.items()))

    def text(self) -> str:
        """The report grouped by focus node, one line per result."""
        if self.conforms:
            return "Conforms: the data satisfies every shape.\n"
        lines = [f"Does not conform: {len(self.violations)} result(s)."]
        for focus, items in self.by_focus().items():
            lines.append(f"\n{focus}  ({items[0].file or 'file unknown'})")
            for v in items:
                value = f" value={v.value}" if v.value else ""
                lines.append(f"  [{v.severity}] path={v.path or '-'}{value}: {v.message}"
                             f"  (shape {v.shape})")
        return "\n".join(lines) + "\n"


def _short(node: Node | None) -> str:
    return "" if node is None else str(node)


def validate(kg: KnowledgeGraph) -> ValidationReport:
    """Validate the data graph (with the ontology for class hierarchy) against the shapes.

    The ontology is passed as `ont_graph` so that subclass inference (RDFS) lets a shape aimed at a
    superclass see instances of its subclasses, without those inferred triples being published.
    """
    conforms, report_graph, _ = pyshacl.validate(
        kg.data,
        shacl_graph=kg.shapes,
        ont_graph=kg.ontology,
        inference="none",
        advanced=True,
        allow_warnings=True,
        abort_on_first=False,
    )
    violations = []
    for result in report_graph.subjects(RDF.type, SH.ValidationResult):
        focus = report_graph.value(result, SH.focusNode)
        severity = report_graph.value(result, SH.resultSeverity)
        message = report_graph.value(result, SH.resultMessage)
        path: Path | None = kg.subject_files.get(focus) if focus is not None else None
        violations.append(Violation(
            focus=_short(focus),
            path=_short(report_graph.value(result, SH.resultPath)),
            value=_short(report_graph.value(result, SH.value)),
            message=_short(message),
            severity=_short(severity).rsplit("#", 1)[-1],
            shape=_short(report_graph.value(result, SH.sourceShape)),
            file=str(path) if path else "",
        ))
    violations.sort(key=lambda v: (v.focus, v.path, v.message, v.value))
    return ValidationReport(bool(conforms), report_graph, violations)
