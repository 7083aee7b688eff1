"""Where the published graph lives and how it is queried: the Store interface and its backends.

The web layer depends only on `Store`; `EmbeddedStore` keeps the graph in pyoxigraph (a native
SPARQL engine, chosen by measurement over rdflib's pure-Python one, see bench/). The store is
read-only once loaded. rdflib stays for parsing, serialising and SHACL.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from ikmkg.kg import KnowledgeGraph, iter_quads
from ikmkg.namespaces import bind_prefixes


def to_rdflib(term: ox.NamedNode | ox.BlankNode | ox.Literal | None) -> Node | None:
    """Convert a pyoxigraph term to its rdflib equivalent."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    return Literal(term.value, datatype=URIRef(term.datatype.value))


def to_oxigraph(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """Convert an rdflib term to its pyoxigraph equivalent."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"not an RDF term: {term!r}")


class Store(Protocol):
    """What the web layer needs from a graph store."""

    base_uri: str

    def select(self, sparql: str) -> list[dict[str, Node]]:
        """Rows of a SELECT query as {variable: rdflib term} (unbound variables absent)."""

    def ask(self, sparql: str) -> bool: ...

    def construct(self, sparql: str) -> Graph:
        """The graph a CONSTRUCT or DESCRIBE query returns."""

    @property
    def version(self) -> str:
        """Identity of the published graph (changes when the data changes): ETags build on it."""


class EmbeddedStore:
    """The published graph in an in-process pyoxigraph store; the default graph is the union."""

    def __init__(self, kg: KnowledgeGraph, path: str | None = None):
        self.base_uri = kg.base_uri
        self._version = kg.content_hash
        self.oxigraph = ox.Store(path) if path else ox.Store()
        self.oxigraph.bulk_extend(self._quads(iter_quads(kg)))

    @staticmethod
    def _quads(quads: Iterable[tuple[Node, Node, Node, Node]]) -> Iterable[ox.Quad]:
        for s, p, o, g in quads:
            yield ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o), to_oxigraph(g))

    @property
    def version(self) -> str:
        return self._version

    def __len__(self) -> int:
        return len(self.oxigraph)

    def _run(self, sparql: str):  # noqa: ANN202 - pyoxigraph result union
        return self.oxigraph.query(sparql, use_default_graph_as_union=True)

    def select(self, sparql: str) -> list[dict[str, Node]]:
        solutions = self._run(sparql)
        names = [v.value for v in solutions.variables]
        rows = []
        for solution in solutions:
            rows.append({n: to_rdflib(solution[n]) for n in names if solution[n] is not None})
        return rows

    def ask(self, sparql: str) -> bool:
        return bool(self._run(sparql))

    def construct(self, sparql: str) -> Graph:
        graph = bind_prefixes(Graph(), self.base_uri)
        for triple in self._run(sparql):
            graph.add((to_rdflib(triple.subject), to_rdflib(triple.predicate),
                       to_rdflib(triple.object)))
        return graph
