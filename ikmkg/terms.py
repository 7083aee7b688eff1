"""The one converter between pyoxigraph terms (the stores, the dumps) and rdflib terms (parsing,
SHACL, the pages).

Both directions keep every term exactly: IRIs, blank-node labels, and a literal's lexical form
as written (rdflib would otherwise normalise `01`^^xsd:integer to `1` and `1E3`^^xsd:double to
`1000.0`), its datatype and its language tag. Two forms are one term in RDF 1.1 and come back
as the one rdflib reads from a file: `"x"^^xsd:string` is the plain literal `"x"`, and a
language tag is lower-cased (pyoxigraph normalises it; BCP 47 tags are case-insensitive).
"""

from __future__ import annotations

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def to_rdflib(term: ox.NamedNode | ox.BlankNode | ox.Literal | None) -> Node | None:
    """The rdflib term for a pyoxigraph term (None for None: an unbound variable)."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    if term.datatype.value == XSD_STRING:  # as rdflib parses "..." (RDF 1.1: the same term)
        return Literal(term.value)
    return Literal(term.value, datatype=URIRef(term.datatype.value), normalize=False)


def to_oxigraph(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """The pyoxigraph term for an rdflib term.

    Raises:
        TypeError: `term` is not an IRI, a blank node or a literal (a variable, a graph).
    """
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
