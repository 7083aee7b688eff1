"""Fast SHACL conformance check: the shapes compiled to SPARQL, evaluated set-at-a-time.

pySHACL (ikmkg.validation) evaluates each constraint once per focus node in Python; at a million
triples that, and building the rdflib graphs it needs, is most of a cold start (issue #3). The
compiler (ikmkg.shape_compiler) turns the part of SHACL Core and SHACL-SPARQL that the project's
shapes use into one SPARQL query per constraint over *all* focus nodes; this module runs them
with pyoxigraph on the in-memory store the files were parsed into (`Checker.check`). It answers
one question, quickly: which (focus node, shape, constraint component, path, value) results
would pySHACL report? An empty answer means "conforms"; any result sends the caller back to
pySHACL for the report a person reads (ikmkg.publish).

It never guesses. `shape_compiler.compile_shapes` raises `Unsupported` for any shape feature it
does not implement, and `Checker.check` raises it when the data holds literals that rdflib
(hence pySHACL) would see differently from pyoxigraph (a lexical form rdflib normalises); the
caller then validates with pySHACL as before. `tests/test_conformance.py` runs this checker and
pySHACL side by side on every fixture of tests/data/shapes and on the shipped data and requires
the same results.

Semantics follow pySHACL 0.40 where it refines the spec (SHACL 1.0, W3C Recommendation 2017):
sh:datatype also rejects ill-typed literals as rdflib sees them, sh:languageIn compares the
whole tag or its first subtag, sh:minInclusive compares as pySHACL's `compare_literal`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Sequence

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import RDFS, SH, XSD
from rdflib.term import Node

from ikmkg.terms import to_rdflib

#: The named graph of the validation store that marks ill-typed literals (never published).
ILL_TYPED_GRAPH = ox.NamedNode("urn:ikmkg:validation:ill-typed")
#: The predicate of those marks, in SPARQL syntax.
ILL_TYPED_MARK = "<urn:ikmkg:validation:illTyped>"


class Unsupported(Exception):
    """The shapes (or the data's literals) need something this checker does not implement."""


@dataclasses.dataclass(frozen=True)
class Result:
    """One validation result as pySHACL would report it (terms as rdflib nodes)."""

    focus: Node
    #: the shape the constraint belongs to (sh:sourceShape)
    shape: Node
    #: the named shape reported to a person: `shape` itself when it is an IRI, else the named
    #: shape whose sh:property (or nested shape) it is
    owner: Node
    #: sh:sourceConstraintComponent
    component: URIRef
    #: sh:resultPath (the shape's path, or a SPARQL constraint's ?path), None on node shapes;
    #: for an inverse path [sh:inversePath p], p with `inverse` set
    path: Node | None
    #: sh:value, None where pySHACL reports none (cardinalities, sh:hasValue, sh:uniqueLang...)
    value: Node | None
    severity: URIRef
    #: the SPARQL constraint node, for SHACL-SPARQL results (sh:sourceConstraint)
    constraint: Node | None = None
    inverse: bool = False


def sparql_term(node: Node) -> str:
    """`node` in SPARQL syntax (IRIs and literals only: a blank node cannot be named)."""
    if isinstance(node, URIRef):
        return str(ox.NamedNode(str(node)))
    if isinstance(node, Literal):
        if node.language:
            return str(ox.Literal(str(node), language=node.language))
        datatype = node.datatype or XSD.string
        return str(ox.Literal(str(node), datatype=ox.NamedNode(str(datatype))))
    raise Unsupported(f"a blank node {node} as a constraint parameter")


# --- what a compiled shape looks like -------------------------------------------------------

@dataclasses.dataclass
class Context:
    """What a query needs at check time: class closures, fresh variable names."""

    closure: Callable[[URIRef], list[URIRef]]
    counter: int = 0

    def var(self, stem: str) -> str:
        self.counter += 1
        return f"?_{stem}{self.counter}"


#: A node test: builds a SPARQL boolean expression on a variable (true: the node conforms).
Test = Callable[[Context, str], str]


@dataclasses.dataclass
class Constraint:
    shape: Node
    owner: Node
    component: URIRef
    severity: URIRef
    #: builds the SELECT (variables ?f, optionally ?v) of the violating focus/value nodes
    query: Callable[[Context, str], str]
    reports_value: bool
    path: Node | None
    inverse: bool
    #: for a value test evaluated in Python (sh:minInclusive), `query` gives the distinct value
    #: nodes and `python_test` says which pass; `query(ctx, f, filter)` then gives the rows
    python_test: Callable[[Node], bool] | None = None


@dataclasses.dataclass
class Checker:
    """The compiled shapes: `check(store, graphs)` returns the results pySHACL would give."""

    constraints: list[Constraint]
    #: SHACL-SPARQL constraints: (shape, owner, constraint node, severity, prologue, select
    #: text, focus nodes)
    sparql: list[tuple[Node, Node, Node, URIRef, str, str, Callable[[Context, str], str]]]

    def check(self, store: ox.Store, graphs: Sequence[ox.NamedNode]) -> list[Result]:
        """Every validation result of the data in `graphs` (the validation graph: data plus
        class hierarchy) of `store`. Marks the ill-typed literals in ILL_TYPED_GRAPH first.

        Raises:
            Unsupported: a literal that rdflib would read differently (see the module docstring).
        """
        mark_ill_typed(store, graphs)
        graphs = list(graphs)
        closures: dict[URIRef, list[URIRef]] = {}

        def closure(cls: URIRef) -> list[URIRef]:
            if cls not in closures:
                rows = store.query(f"SELECT DISTINCT ?c WHERE {{ ?c <{RDFS.subClassOf}>* "
                                   f"{sparql_term(cls)} }}", default_graph=graphs)
                closures[cls] = sorted({URIRef(r["c"].value) for r in rows
                                        if isinstance(r["c"], ox.NamedNode)} | {cls})
            return closures[cls]

        results: list[Result] = []
        for c in self.constraints:
            results += self._core(c, store, graphs, closure)
        for sparql in self.sparql:
            results += self._sparql(sparql, store, graphs, closure)
        return list(dict.fromkeys(results))

    @staticmethod
    def _core(c: Constraint, store: ox.Store, graphs: list[ox.NamedNode],
              closure: Callable[[URIRef], list[URIRef]]) -> list[Result]:
        text = c.query(Context(closure), "?f")
        if c.python_test is not None:
            values = [to_rdflib(r["v"]) for r in store.query(text, default_graph=graphs)]
            bad = [v for v in values if not c.python_test(v)]
            if not bad:
                return []
            text = c.query(Context(closure), "?f", _bad_values(bad))
        return [Result(to_rdflib(row["f"]), c.shape, c.owner, c.component, c.path,
                       to_rdflib(row["v"]) if c.reports_value else None, c.severity,
                       inverse=c.inverse)
                for row in store.query(text, default_graph=graphs)]

    @staticmethod
    def _sparql(sparql: tuple, store: ox.Store, graphs: list[ox.NamedNode],
                closure: Callable[[URIRef], list[URIRef]]) -> list[Result]:
        shape, owner, node, severity, prologue, select, focus = sparql
        text = f"{prologue}\nSELECT * WHERE {{ {focus(Context(closure), '?this')}\n" \
               f"{{ {select} }} }}"
        try:
            solutions = store.query(text, default_graph=graphs)
        except SyntaxError as exc:
            raise Unsupported(f"the SPARQL constraint of {shape} does not parse: {exc}") from None
        names = {v.value for v in solutions.variables}
        results = []
        for row in solutions:
            path = to_rdflib(row["path"]) if "path" in names else None
            value = to_rdflib(row["value"]) if "value" in names else None
            focus_node = to_rdflib(row["this"])
            # without ?value, a node shape's result has the focus node as its value (SHACL 5.3.2)
            results.append(Result(focus_node, shape, owner, SH.SPARQLConstraintComponent, path,
                                  focus_node if value is None else value, severity, node))
        return results


def conforms(results: Iterable[Result]) -> bool:
    """True when no result has severity sh:Violation (pySHACL with allow_warnings=True)."""
    return not any(r.severity == SH.Violation for r in results)


def _bad_values(bad: list[Node]) -> str:
    """A filter on ?v keeping the values in `bad` (blank nodes and IRIs by kind: they never
    pass a range test, and a blank node cannot be named in a query)."""
    kinds = []
    if any(isinstance(v, BNode) for v in bad):
        kinds.append("isBlank(?v)")
    if any(isinstance(v, URIRef) for v in bad):
        kinds.append("isIRI(?v)")
    literals = " ".join(sparql_term(v) for v in bad if isinstance(v, Literal))
    if literals:
        kinds.append(f"EXISTS {{ VALUES ?_bad {{ {literals} }} FILTER(sameTerm(?v, ?_bad)) }}")
    return f"FILTER({' || '.join(kinds)})"


# --- ill-typed literals ---------------------------------------------------------------------

def mark_ill_typed(store: ox.Store, graphs: Sequence[ox.NamedNode]) -> int:
    """Write to ILL_TYPED_GRAPH each typed literal of `graphs` that pySHACL's sh:datatype test
    rejects (rdflib finds it ill-typed, or its Python value is not of the datatype's type).

    Raises:
        Unsupported: a literal whose lexical form rdflib normalises (then every test on it
            could see another form in pySHACL).
    """
    try:  # pySHACL's own test, so that both agree on what is ill-typed (pySHACL 0.40)
        from pyshacl.constraints.core.value_constraints import DatatypeConstraintComponent

        actual_datatype = DatatypeConstraintComponent._assert_actual_datatype
    except (ImportError, AttributeError) as exc:
        raise Unsupported(f"this pySHACL has no {exc}: the fast check mirrors pySHACL 0.40") \
            from None

    if ILL_TYPED_GRAPH in store.named_graphs():
        store.remove_graph(ILL_TYPED_GRAPH)
    rows = store.query(
        f"SELECT DISTINCT ?o WHERE {{ ?s ?p ?o FILTER(isLiteral(?o) && LANG(?o) = '' && "
        f"DATATYPE(?o) != <{XSD.string}>) }}", default_graph=list(graphs))
    marks = []
    rdflib_log = logging.getLogger("rdflib.term")  # a traceback per ill-typed literal
    disabled, rdflib_log.disabled = rdflib_log.disabled, True
    try:
        for row in rows:
            literal = row["o"]
            # as rdflib's parser (hence pySHACL) reads it: lexical form normalised
            value = Literal(literal.value, datatype=URIRef(literal.datatype.value))
            if str(value) != literal.value:
                raise Unsupported(f"the literal {literal} is read as {str(value)!r} by rdflib")
            if value.ill_typed is True or not actual_datatype(None, value, value.datatype):
                marks.append(ox.Quad(ox.BlankNode(), ox.NamedNode(ILL_TYPED_MARK[1:-1]), literal,
                                     ILL_TYPED_GRAPH))
    finally:
        rdflib_log.disabled = disabled
    store.extend(marks)
    return len(marks)
