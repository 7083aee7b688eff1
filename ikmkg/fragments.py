"""Triple Pattern Fragments (Linked Data Fragments, Hydra CG): the triples of the published
graph (the union of the ontology, shapes and data graphs) matching one pattern, a page at a time,
with their total count and the hypermedia controls (a `hydra:search` IRI template) from which a
client such as Comunica finds every other fragment.

No Flask here: `ikmkg.web.fragments` parses the request and serialises `Fragment.dataset()`.
Terms in the request use the ExplicitRepresentation of Hydra: IRIs bare, literals quoted with
an optional `@lang` or `^^<datatype>`; an empty value or `?name` is a variable.
"""

from __future__ import annotations

import dataclasses
import re
from urllib.parse import quote

from rdflib import RDF, XSD, BNode, Dataset, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, VOID
from rdflib.term import Node

from ikmkg.cache import BoundedCache
from ikmkg.errors import QueryError
from ikmkg.kg import dataset_iri
from ikmkg.namespaces import bind_prefixes
from ikmkg.store import Store

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
PAGE_SIZE = 100
MAX_TERM_CHARS = 4000
#: The specification this interface follows (for VoID/DCAT `dcterms:conformsTo`).
SPEC = URIRef("http://www.hydra-cg.com/spec/latest/triple-pattern-fragments/")

_LITERAL = re.compile(r'^"(?P<value>.*)"(?:@(?P<lang>[A-Za-z]+(?:-[A-Za-z0-9]+)*)|'
                      r'\^\^<?(?P<datatype>[^<>"\s]+)>?)?$', re.DOTALL)
_IRI_FORBIDDEN = re.compile(r'[\s<>"{}|^`\\]')


def parse_term(value: str | None, position: str) -> Node | None:
    """The RDF term of a request parameter, or None for a variable.

    Raises QueryError for a malformed term or a literal in subject/predicate position.
    """
    value = (value or "").strip()
    if not value or value.startswith("?"):
        return None
    if len(value) > MAX_TERM_CHARS:
        raise QueryError(f"{position} is too long")
    if value.startswith('"'):
        if position != "object":
            raise QueryError(f"a literal cannot be the {position}")
        found = _LITERAL.match(value)
        if not found:
            raise QueryError(f"malformed literal in {position}: {value[:80]!r}")
        if found["lang"]:
            return Literal(found["value"], lang=found["lang"])
        datatype = found["datatype"]
        if datatype and _IRI_FORBIDDEN.search(datatype):
            raise QueryError(f"malformed datatype IRI in {position}")
        if datatype and datatype != str(XSD.string):
            return Literal(found["value"], datatype=URIRef(datatype))
        return Literal(found["value"])
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1]
    if value.startswith("_:"):
        raise QueryError("blank nodes cannot be asked for (they have no identity outside a "
                         "document)")
    if _IRI_FORBIDDEN.search(value) or ":" not in value:
        raise QueryError(f"not an absolute IRI in {position}: {value[:80]!r}")
    return URIRef(value)


def explicit(term: Node) -> str:
    """A term in Hydra's ExplicitRepresentation (the inverse of `parse_term`)."""
    if isinstance(term, Literal):
        quoted = f'"{term}"'
        if term.language:
            return f"{quoted}@{term.language}"
        if term.datatype is not None and term.datatype != XSD.string:
            return f"{quoted}^^{term.datatype}"
        return quoted
    return str(term)


def _sparql(term: Node | None, variable: str) -> str:
    if term is None:
        return f"?{variable}"
    return term.n3()


def add_search(graph: Graph, dataset: Node, interface_url: str,
               search: URIRef | None = None) -> Node:
    """State the TPF hypermedia control on `dataset`: `hydra:search`, an IRI template over
    `interface_url` with its subject/predicate/object mappings (TPF spec, "Controls").

    Args:
        search: IRI for the template, its mappings then `{search}-{variable}` (for a
            description that must serialise the same every time); blank nodes when None.

    Returns:
        The node of the template.
    """
    node = search if search is not None else BNode()
    graph.add((dataset, HYDRA.search, node))
    graph.add((node, HYDRA.template, Literal(interface_url + "{?subject,predicate,object}")))
    graph.add((node, HYDRA.variableRepresentation, HYDRA.ExplicitRepresentation))
    for variable, prop in (("subject", RDF.subject), ("predicate", RDF.predicate),
                           ("object", RDF.object)):
        mapping = URIRef(f"{search}-{variable}") if search is not None else BNode()
        graph.add((node, HYDRA.mapping, mapping))
        graph.add((mapping, HYDRA.variable, Literal(variable)))
        graph.add((mapping, HYDRA.property, prop))
    return node


@dataclasses.dataclass
class Fragment:
    """One page of the fragment of `pattern` (subject, predicate, object; None = variable)."""

    pattern: tuple[Node | None, Node | None, Node | None]
    page: int
    triples: list[tuple[Node, Node, Node]]
    total: int
    interface_url: str  # the absolute URL of /fragments

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))

    def url(self, page: int | None = None) -> str:
        """The URL of this fragment (page 1 has no page parameter), as the template expands."""
        params = [(name, explicit(term)) for name, term in
                  zip(("subject", "predicate", "object"), self.pattern) if term is not None]
        page = self.page if page is None else page
        if page > 1:
            params.append(("page", str(page)))
        query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params)
        return f"{self.interface_url}?{query}" if query else self.interface_url

    def dataset(self, base_uri: str) -> Dataset:
        """The fragment as RDF: the triples in the default graph, metadata and controls in the
        graph `{page}#metadata` (merge the graphs for a triple format)."""
        ds = Dataset()
        bind_prefixes(ds, base_uri)
        ds.bind("hydra", HYDRA)
        ds.bind("void", VOID)
        for triple in self.triples:
            ds.add(triple)
        page = URIRef(self.url())
        meta = ds.graph(URIRef(self.url() + "#metadata"))
        interface = URIRef(self.interface_url + "#dataset")
        meta.add((meta.identifier, FOAF.primaryTopic, page))
        meta.add((interface, RDF.type, VOID.Dataset))
        meta.add((interface, RDF.type, HYDRA.Collection))
        meta.add((interface, VOID.subset, page))
        meta.add((interface, DCTERMS.source, dataset_iri(base_uri)))
        meta.add((interface, DCTERMS.conformsTo, SPEC))
        add_search(meta, interface, self.interface_url)
        meta.add((page, RDF.type, HYDRA.PartialCollectionView))
        meta.add((page, DCTERMS.title, Literal(f"Triples matching {self.pattern_text()}")))
        meta.add((page, VOID.triples, Literal(self.total, datatype=XSD.integer)))
        meta.add((page, HYDRA.totalItems, Literal(self.total, datatype=XSD.integer)))
        meta.add((page, HYDRA.itemsPerPage, Literal(PAGE_SIZE, datatype=XSD.integer)))
        meta.add((page, HYDRA.first, URIRef(self.url(1))))
        meta.add((page, HYDRA.last, URIRef(self.url(self.pages))))
        if self.page > 1:
            meta.add((page, HYDRA.previous, URIRef(self.url(self.page - 1))))
        if self.page < self.pages:
            meta.add((page, HYDRA.next, URIRef(self.url(self.page + 1))))
        return ds

    def pattern_text(self) -> str:
        return " ".join(_sparql(term, name) for term, name in
                        zip(self.pattern, ("s", "p", "o")))


#: Counts and pages of fragments already evaluated, per store base and version: a fragment
#: depends only on the data, and the root fragment costs seconds of engine time on a large
#: graph (6.2 s at 1M quads), so a crawler or an attacker asking it again costs nothing.
def _weight(key: tuple, value: int | list[tuple[Node, Node, Node]]) -> int:
    """Approximate bytes of a cached count or page (terms as text, plus per-object overhead)."""
    size = 200 + sum(len(part) for part in key if isinstance(part, str))
    if isinstance(value, list):
        size += sum(100 + len(term) for triple in value for term in triple)
    return size


_cache: BoundedCache = BoundedCache(max_entries=4096, max_bytes=32 << 20, weigh=_weight)


def fragment(store: Store, subject: str | None, predicate: str | None, obj: str | None,
             page: int, interface_url: str) -> Fragment:
    """One page of a triple pattern over the published graph (remembered per data version)."""
    pattern = (parse_term(subject, "subject"), parse_term(predicate, "predicate"),
               parse_term(obj, "object"))
    key = (store.base_uri, store.version, *(t.n3() if t is not None else "" for t in pattern))
    total = _cache.get(("count", *key), lambda: _count(store, pattern))
    page = max(1, page)
    triples = _cache.get(("page", *key, page), lambda: _page(store, pattern, page, total))
    return Fragment(pattern, page, triples, total, interface_url)


def _count(store: Store, pattern: tuple[Node | None, Node | None, Node | None]) -> int:
    where = " ".join(_sparql(term, name) for term, name in zip(pattern, ("s", "p", "o")))
    rows = store.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ SELECT DISTINCT * WHERE {{ {where} "
                        "} }")
    return int(rows[0]["n"]) if rows else 0


def _page(store: Store, pattern: tuple[Node | None, Node | None, Node | None], page: int,
          total: int) -> list[tuple[Node, Node, Node]]:
    where = " ".join(_sparql(term, name) for term, name in zip(pattern, ("s", "p", "o")))
    triples: list[tuple[Node, Node, Node]] = []
    if total and (page - 1) * PAGE_SIZE < total:
        variables = [f"?{name}" for term, name in zip(pattern, ("s", "p", "o")) if term is None]
        projection = " ".join(variables) or "*"
        order = f"ORDER BY {' '.join(variables)} " if variables else ""
        rows = store.select(f"SELECT DISTINCT {projection} WHERE {{ {where} }} {order}"
                            f"LIMIT {PAGE_SIZE} OFFSET {(page - 1) * PAGE_SIZE}")
        for row in rows or ([{}] if not variables else []):
            triples.append(tuple(term if term is not None else row[name]
                                 for term, name in zip(pattern, ("s", "p", "o"))))
    return triples
