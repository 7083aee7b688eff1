"""SHACL validation of the data against the shapes, with a report a person can act on.

The graph is always validated under the canonical base (the shapes' IRI patterns and SPARQL
constraints name it), so a graph loaded with another `--base-uri` is rebased back first. The
data graph handed to pySHACL is the data plus the class hierarchy only: the ontology's
`rdfs:subClassOf` axioms and the few W3C ones the ontology builds on (below), so that
`sh:targetClass`/`sh:class` see subclass instances (SHACL 1.0 section 3.2, "SHACL instance")
without the ontology's own terms becoming focus nodes.

`validate` runs pySHACL on rdflib graphs and gives the report a person reads. For large graphs,
`check_conformance` first answers the same question set-at-a-time on the pyoxigraph store the
files were parsed into (ikmkg.conformance; ikmkg.publish decides which runs, issue #3).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections import defaultdict
from pathlib import Path

import pyoxigraph as ox
import pyshacl
from pyshacl.errors import ReportableRuntimeError
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import ORG, RDF, RDFS, SH, TIME
from rdflib.plugins.sparql import prepareQuery
from rdflib.term import Node

from ikmkg import conformance
from ikmkg.errors import DataError
from ikmkg.kg import KnowledgeGraph, OxigraphGraph, rebase
from ikmkg.namespaces import prefixes
from ikmkg.settings import CANONICAL_BASE
from ikmkg.shape_compiler import compile_shapes
from ikmkg.terms import to_rdflib

#: Subclass axioms of the W3C vocabularies ikm.ttl reuses but does not import
#: (W3C ORG section 5.1; OWL-Time section 4.2.3).
BACKGROUND_AXIOMS = (
    (ORG.FormalOrganization, RDFS.subClassOf, ORG.Organization),
    (ORG.OrganizationalUnit, RDFS.subClassOf, ORG.Organization),
    (TIME.ProperInterval, RDFS.subClassOf, TIME.Interval),
)

_PREFIXES = sorted(prefixes(CANONICAL_BASE).items(), key=lambda item: -len(item[1]))


def shorten(node: Node | None) -> str:
    """A compact, readable form of `node`: prefixed names, Turtle-like literals."""
    if node is None:
        return ""
    if isinstance(node, URIRef):
        for prefix, ns in _PREFIXES:
            if node.startswith(ns) and len(node) > len(ns):
                return f"{prefix}:{node[len(ns):]}"
        return f"<{node}>"
    if isinstance(node, Literal):
        text = json.dumps(str(node), ensure_ascii=False)
        if node.language:
            return f"{text}@{node.language}"
        if node.datatype is not None:
            return f"{text}^^{shorten(node.datatype)}"
        return text
    return f"_:{node}"


#: a whole whitespace-delimited token that is an IRI (optionally in <> or followed by
#: punctuation); tokens with a template such as .../{slug} are left alone
_IRI_TOKEN = re.compile(r"(?<!\S)<?(https?://[^\s<>{}]+?)>?(?=[.,;:)]*(\s|$))")


def shorten_text(text: str) -> str:
    """`text` (a result message) with the IRIs pySHACL substituted into it shortened."""
    return _IRI_TOKEN.sub(lambda m: shorten(URIRef(m.group(1))), text)


@dataclasses.dataclass(frozen=True)
class Violation:
    """One SHACL validation result, flattened for printing (IRIs shortened with prefixes)."""

    focus: str
    path: str
    value: str
    message: str
    severity: str
    #: the named node shape the result comes from (a blank property shape's parent)
    shape: str
    file: str
    #: the constraint component (sh:MinCountConstraintComponent...) or, for SHACL-SPARQL, the
    #: named SPARQL constraint
    component: str = ""
    #: the line of `file` where the focus node is first written as a subject, when found
    line: int | None = None

    @property
    def where(self) -> str:
        """`file:line`, or just the file, or "an unknown file"."""
        if not self.file:
            return "an unknown file"
        return f"{self.file}:{self.line}" if self.line else self.file


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
        """The report grouped by focus node: the file, then one block per result."""
        if self.conforms:
            return "Conforms: the data satisfies every shape.\n"
        groups = self.by_focus()
        lines = [f"Does not conform: {len(self.violations)} result(s) on {len(groups)} "
                 "focus node(s)."]
        for focus, items in groups.items():
            lines.append(f"\n{focus}  (in {items[0].where})")
            for v in items:
                lines.append(f"  {v.severity}: {v.message}")
                lines.append(f"    path: {v.path or '-'}")
                if v.value:
                    lines.append(f"    value: {v.value}")
                lines.append(f"    shape: {v.shape} ({v.component})")
        return "\n".join(lines) + "\n"

    def about(self, focus_nodes: set[Node]) -> ValidationReport:
        """The report restricted to results on `focus_nodes` (canonical IRIs), the report graph
        included; it conforms when none of those results is a violation."""
        names = {shorten(node) for node in focus_nodes}
        graph = Graph()
        for prefix, ns in self.graph.namespaces():
            graph.bind(prefix, ns)
        for triple in self.graph:
            graph.add(triple)
        for result in list(graph.subjects(RDF.type, SH.ValidationResult)):
            if shorten(graph.value(result, SH.focusNode)) not in names:
                for triple in self.graph.cbd(result):
                    graph.remove(triple)
                graph.remove((None, SH.result, result))
        kept = [v for v in self.violations if v.focus in names]
        conforms = not any(v.severity == "Violation" for v in kept)
        for report in graph.subjects(RDF.type, SH.ValidationReport):
            graph.set((report, SH.conforms, Literal(conforms)))
        return ValidationReport(conforms, graph, kept)

    def to_json(self) -> dict:
        """The report as plain data: conformance, counts and the results grouped by focus."""
        return {
            "conforms": self.conforms,
            "results": len(self.violations),
            "focus_nodes": [
                {"focus": focus, "file": items[0].file, "line": items[0].line,
                 "results": [{k: v for k, v in dataclasses.asdict(item).items()
                              if k not in ("focus", "file", "line")} for item in items]}
                for focus, items in self.by_focus().items()
            ],
        }


_DIRECTIVE = re.compile(r"^\s*(?:@prefix|PREFIX)\s+([A-Za-z][\w.-]*)?:\s*<([^>]*)>", re.I)
_BASE = re.compile(r"^\s*(?:@base|BASE)\s+<([^>]*)>", re.I)


@functools.lru_cache(maxsize=64)
def _turtle_lines(path: str, mtime: float) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...],
                                                   str]:
    """The lines of a Turtle file with its prefixes and base (cached per version of the file)."""
    lines = tuple(Path(path).read_text(encoding="utf-8").splitlines())
    found, base = [], ""
    for line in lines:
        if m := _DIRECTIVE.match(line):
            found.append((m.group(1) or "", m.group(2)))
        elif m := _BASE.match(line):
            base = m.group(1)
    return lines, tuple(found), base


def subject_line(path: Path, node: Node) -> int | None:
    """The 1-based line where `node` starts a statement in the Turtle file `path`, if found.

    Looks for the IRI written in full, relative to @base, or as a prefixed name at the start of
    a line (how the data files write subjects); None for blank nodes or when not found.
    """
    if not isinstance(node, URIRef):
        return None
    try:
        lines, found, base = _turtle_lines(str(path), Path(path).stat().st_mtime)
    except OSError:
        return None
    forms = [f"<{node}>"]
    if base and node.startswith(base):
        forms.append(f"<{node[len(base):]}>")
    forms += [f"{prefix}:{node[len(ns):]}" for prefix, ns in found
              if ns and node.startswith(ns) and "/" not in node[len(ns):]]
    for number, line in enumerate(lines, start=1):
        text = line.lstrip()
        for form in forms:
            if text.startswith(form) and text[len(form):len(form) + 1] in ("", " ", "\t", ";"):
                return number
    return None


def _owner_shape(shapes: Graph, shape: Node | None) -> Node | None:
    """The named shape that `shape` belongs to: itself when it is an IRI, else the nearest IRI
    reached by walking up from a blank property shape (through sh:property, lists, sh:or...)."""
    seen: set[Node] = set()
    while isinstance(shape, BNode) and shape not in seen:
        seen.add(shape)
        shape = next(iter(shapes.subjects(None, shape)), None)
    return shape


def _canonical_prologue(text: str) -> str:
    """`text` with its leading PREFIX lines sorted (pySHACL emits them in set order)."""
    lines = text.split("\n")
    head = 0
    while head < len(lines) and lines[head].lstrip().upper().startswith("PREFIX"):
        head += 1
    return "\n".join(sorted(lines[:head]) + lines[head:])


@functools.lru_cache(maxsize=256)
def _prepared(text: str):  # noqa: ANN202 - rdflib's Query type
    return prepareQuery(text)


class _PreparedQueryGraph(Graph):
    """A Graph that parses each distinct SPARQL text once.

    pySHACL runs every SHACL-SPARQL constraint once per focus node, passing the query as text,
    and rdflib parses it anew each time (tens of milliseconds per parse): that parsing, not
    the evaluation, was nearly all of the validation time.
    """

    def query(self, query_object, *args, **kwargs):  # noqa: ANN001, ANN201 - rdflib signature
        if isinstance(query_object, str) and not kwargs.get("initNs"):
            query_object = _prepared(_canonical_prologue(str(query_object)))
        return super().query(query_object, *args, **kwargs)


def validation_graph(kg: KnowledgeGraph) -> Graph:
    """The data plus the class hierarchy (see the module docstring)."""
    graph = _PreparedQueryGraph()
    for triple in kg.data:
        graph.add(triple)
    for triple in kg.ontology.triples((None, RDFS.subClassOf, None)):
        graph.add(triple)
    for triple in BACKGROUND_AXIOMS:
        graph.add(triple)
    return graph


#: The class hierarchy of the validation graph, in the validation store only (never published).
HIERARCHY_GRAPH = ox.NamedNode("urn:ikmkg:validation:hierarchy")


def check_conformance(graph: OxigraphGraph) -> list[conformance.Result]:
    """The fast check (ikmkg.conformance) of `graph`'s data against its shapes: the results
    pySHACL would report on `validation_graph`, computed set-at-a-time by pyoxigraph.

    The validation graph is the data graph plus a hierarchy graph made as `validation_graph`
    makes it; both helper graphs are removed again, so `graph` keeps only its three graphs.

    Raises:
        conformance.Unsupported: the shapes use a feature the fast check does not implement,
            or rdflib could read the files differently (then only pySHACL can say).
    """
    if graph.base_uri != CANONICAL_BASE:
        raise ValueError("the fast check runs under the canonical base, before rebasing")
    if graph.doubts:
        raise conformance.Unsupported("; ".join(graph.doubts))
    shapes = Graph()
    for quad in graph.store.quads_for_pattern(None, None, None, graph.graph("shapes")):
        shapes.add((to_rdflib(quad.subject), to_rdflib(quad.predicate),
                    to_rdflib(quad.object)))
    checker = compile_shapes(shapes)
    store = graph.store
    try:
        store.update(f"INSERT {{ GRAPH {HIERARCHY_GRAPH} {{ ?s <{RDFS.subClassOf}> ?o }} }} "
                     f"WHERE {{ GRAPH {graph.graph('ontology')} {{ ?s <{RDFS.subClassOf}> ?o }} }}")
        store.extend(ox.Quad(ox.NamedNode(s), ox.NamedNode(p), ox.NamedNode(o), HIERARCHY_GRAPH)
                     for s, p, o in BACKGROUND_AXIOMS)
        return checker.check(store, [graph.graph("data"), HIERARCHY_GRAPH])
    finally:
        for helper in (HIERARCHY_GRAPH, conformance.ILL_TYPED_GRAPH):
            if helper in store.named_graphs():
                store.remove_graph(helper)


def validate(kg: KnowledgeGraph) -> ValidationReport:
    """Validate the data graph against the shapes, under the canonical base.

    Args:
        kg: the loaded graph, under any base; never changed (pySHACL works on copies).

    Returns:
        The report; `conforms` is False when any result has severity sh:Violation.

    Raises:
        DataError: the shapes are broken (pySHACL cannot apply them).
    """
    if kg.base_uri != CANONICAL_BASE:
        kg = rebase(kg, CANONICAL_BASE)
    # pySHACL adds RDFS/OWL axioms (owl:Class rdfs:subClassOf rdfs:Class...) to the shapes graph
    # it is given: it gets a copy, so that `kg` stays exactly the files' triples (issue #14).
    shapes = Graph()
    for triple in kg.shapes:
        shapes.add(triple)
    try:
        conforms, report_graph, _ = pyshacl.validate(
            validation_graph(kg),
            shacl_graph=shapes,
            inference="none",
            allow_warnings=True,
            abort_on_first=False,
            inplace=True,
        )
    except ReportableRuntimeError as exc:
        raise DataError(f"the shapes cannot be applied: {exc}") from None
    if not isinstance(report_graph, Graph):
        # pySHACL returns a ValidationFailure instead of raising for some broken shapes
        raise DataError(f"the shapes cannot be applied: {report_graph}")
    for prefix, ns in prefixes(CANONICAL_BASE).items():
        report_graph.bind(prefix, ns, override=True, replace=True)
    violations = []
    for result in report_graph.subjects(RDF.type, SH.ValidationResult):
        focus = report_graph.value(result, SH.focusNode)
        source_shape = report_graph.value(result, SH.sourceShape)
        component = report_graph.value(result, SH.sourceConstraintComponent)
        constraint = report_graph.value(result, SH.sourceConstraint)
        if component == SH.SPARQLConstraintComponent and isinstance(constraint, URIRef):
            component = constraint
        path_node = report_graph.value(result, SH.resultPath)
        path = shorten(path_node)
        if isinstance(path_node, BNode):
            inverse = report_graph.value(path_node, SH.inversePath)
            path = f"^{shorten(inverse)}" if inverse is not None else "(complex path)"
        file = kg.subject_files.get(focus) if focus is not None else None
        violations.append(Violation(
            focus=shorten(focus),
            path=path,
            value=shorten(report_graph.value(result, SH.value)),
            message=shorten_text(str(report_graph.value(result, SH.resultMessage) or "")),
            severity=shorten(report_graph.value(result, SH.resultSeverity)).removeprefix("sh:"),
            shape=shorten(_owner_shape(kg.shapes, source_shape)),
            file=str(file) if file else "",
            line=subject_line(file, focus) if file else None,
            component=shorten(component),
        ))
    violations.sort(key=lambda v: (v.focus, v.path, v.message, v.value))
    return ValidationReport(bool(conforms), report_graph, violations)
