"""What the published graph says about one resource, as RDF.

`describe(store, iri)` returns the resource's concise bounded description plus its neighbourhood
(labels of what it links to, the statements pointing at it, the provenance of its facts), so a
linked-data client needs no second request. Only the `Store` protocol (`select`, `ask`,
`construct`, `version`) is used; the HTML view model built from this graph is `ikmkg.view`.

Language fallback (labels, descriptions and `?lang=` filtering): the requested language, then the
other one of Indonesian/English, then untagged literals, then any other language.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import XSD
from rdflib.term import Node

from ikmkg.kg import graph_iri
from ikmkg.namespaces import bind_prefixes, prefixes, sparql_prologue
from ikmkg.store import Store

LANGUAGES = ("en", "id")
DEFAULT_LANGUAGE = "en"
#: Most statements pointing at a resource that a description carries (a status or a country can
#: be the object of thousands; the page says when the list is cut).
MAX_INBOUND = 500

#: Characters that may not appear inside `<...>` in SPARQL (and so never in our IRIs).
_BAD_IRI = re.compile(r'[\x00-\x20<>"{}|^`\\]')


def is_usable_iri(iri: str) -> bool:
    """Whether `iri` can be written inside `<...>` in a query (no IRI of ours is not)."""
    return bool(iri) and not _BAD_IRI.search(iri)


def check_iri(iri: str) -> URIRef:
    """`iri` as a URIRef, or ValueError when it could break out of `<...>` in a query."""
    if not is_usable_iri(iri):
        raise ValueError(f"not a usable IRI: {iri!r}")
    return URIRef(iri)


def exists(store: Store, iri: str) -> bool:
    """Whether the published graph mentions `iri` as a subject or an object."""
    node = check_iri(iri)
    return store.ask(f"ASK {{ {{ <{node}> ?p ?o }} UNION {{ ?s ?p <{node}> }} }}")


def describe(store: Store, iri: str) -> Graph:
    """The description of `iri`: CBD, labels of its neighbours, inbound links, provenance.

    Args:
        store: the published graph.
        iri: the resource (an entity, the dataset, a graph...).

    Returns:
        A graph with the project's prefixes bound; empty when the store knows nothing of `iri`.

    Raises:
        ValueError: `iri` contains characters no IRI of ours has.
    """
    node = check_iri(iri)
    graph = store.construct(_describe_query(store.base_uri).replace("<IRI>", f"<{node}>"))
    return plain_strings(graph)


def plain_strings(graph: Graph) -> Graph:
    """`graph` with explicit xsd:string datatypes dropped, in place (RDF 1.1: same literals)."""
    typed = [(s, p, o) for s, p, o in graph.triples((None, None, None))
             if isinstance(o, Literal) and o.datatype == XSD.string]
    for s, p, o in typed:
        graph.remove((s, p, o))
        graph.add((s, p, Literal(str(o))))
    return graph


@functools.lru_cache(maxsize=8)
def _describe_query(base_uri: str) -> str:
    return (sparql_prologue(base_uri)
            + _DESCRIBE_QUERY.replace("MAX_INBOUND", str(MAX_INBOUND)))


def plain_string(node: Node) -> Node:
    """`node` with an explicit xsd:string datatype dropped (the same literal in RDF 1.1)."""
    if isinstance(node, Literal) and node.datatype == XSD.string:
        return Literal(str(node))
    return node


_LABELS = "rdfs:label skos:prefLabel foaf:name skos:notation ikm:codeScheme"
_PARTS = (
    # Concise bounded description: the resource's own triples and blank nodes up to depth three.
    ("<IRI> ?p ?o . ?o ?p1 ?o1 . ?o1 ?p2 ?o2 . ?o2 ?p3 ?o3 .",
     """<IRI> ?p ?o .
      OPTIONAL { FILTER(isBlank(?o)) ?o ?p1 ?o1 .
        OPTIONAL { FILTER(isBlank(?o1)) ?o1 ?p2 ?o2 .
          OPTIONAL { FILTER(isBlank(?o2)) ?o2 ?p3 ?o3 } } }"""),
    # Labels (and code notation/scheme) of what it links to and of the predicates it uses.
    ("?n ?lp ?l . ?sch rdfs:label ?schl .",
     f"""{{ <IRI> ?lx ?n }} UNION {{ <IRI> ?n ?ly }}
      UNION {{ SELECT DISTINCT ?n WHERE {{ {{ SELECT ?n WHERE {{ ?lz ?n <IRI> }} LIMIT MAX_INBOUND }} }} }}
      FILTER(isIRI(?n))
      ?n ?lp ?l . FILTER(?lp IN ({", ".join(_LABELS.split())}))
      OPTIONAL {{ FILTER(?lp = ikm:codeScheme) ?l rdfs:label ?schl BIND(?l AS ?sch) }}"""),
    # Statements pointing at it (capped), with the labels of their subjects.
    ("?s ?ip <IRI> . ?s ?ilp ?il .",
     """{ SELECT ?s ?ip WHERE { ?s ?ip <IRI> } LIMIT MAX_INBOUND }
      OPTIONAL { ?s ?ilp ?il FILTER(?ilp IN (rdfs:label, skos:prefLabel, foaf:name)) }"""),
    # Provenance: the source sentences of its facts, who said them, the article.
    ("""?sent rdf:value ?text ; ikm:position ?pos ; ikm:saidBy ?who ;
        ikm:directQuote ?dq ; ikm:statedOn ?on ; dcterms:isPartOf ?art .
      ?who rdfs:label ?wl ; foaf:name ?wn .
      ?art dcterms:title ?title ; dcterms:issued ?issued ; rdfs:label ?al .""",
     """<IRI> prov:wasDerivedFrom ?sent . ?sent rdf:value ?text .
      OPTIONAL { ?sent ikm:position ?pos }
      OPTIONAL { ?sent ikm:directQuote ?dq }
      OPTIONAL { ?sent ikm:statedOn ?on }
      OPTIONAL { ?sent ikm:saidBy ?who OPTIONAL { ?who rdfs:label ?wl } OPTIONAL { ?who foaf:name ?wn } }
      OPTIONAL { ?sent dcterms:isPartOf ?art
        OPTIONAL { ?art dcterms:title ?title } OPTIONAL { ?art dcterms:issued ?issued }
        OPTIONAL { ?art rdfs:label ?al } }"""),
    # Statements the reference files make about it (rdf:Statement with rdf:subject = it).
    ("?st ?sp ?so . ?so rdfs:label ?sl .",
     """?st rdf:subject <IRI> ; ?sp ?so . OPTIONAL { FILTER(isIRI(?so)) ?so rdfs:label ?sl }"""),
)
#: One query (one round trip) for the whole description: a UNION of the parts above.
_DESCRIBE_QUERY = ("CONSTRUCT {\n" + "\n".join(t for t, _ in _PARTS) + "\n} WHERE {\n"
                   + "\n  UNION\n".join(f"  {{ {w} }}" for _, w in _PARTS) + "\n}")


def filter_language(graph: Graph, lang: str) -> Graph:
    """`graph` keeping, per subject and predicate, the literals of the best available language.

    Untagged literals are always kept; among tagged ones, those in `lang` win, then those in the
    other of Indonesian/English, then any other language (the module's fallback order).
    """
    out = bind_prefixes(Graph(), _base_of(graph))
    tagged: dict[tuple[Node, Node], list[Literal]] = {}
    for s, p, o in graph:
        if isinstance(o, Literal) and o.language:
            tagged.setdefault((s, p), []).append(o)
        else:
            out.add((s, p, o))
    order = language_order(lang)
    for (s, p), literals in tagged.items():
        best = min(language_rank(lit.language, order) for lit in literals)
        for lit in literals:
            if language_rank(lit.language, order) == best:
                out.add((s, p, lit))
    return out


def _base_of(graph: Graph) -> str:
    for prefix, ns in graph.namespaces():
        if prefix == "id":
            return str(ns)[: -len("id/")]
    return prefixes()["id"][: -len("id/")]


def language_order(lang: str) -> tuple[str, ...]:
    """Languages to try, best first, for a reader of `lang` ('' stands for untagged)."""
    others = tuple(code for code in LANGUAGES if code != lang)
    return (lang, *others, "")


def language_rank(language: str | None, order: tuple[str, ...]) -> int:
    language = (language or "").lower().split("-")[0]
    return order.index(language) if language in order else len(order)



def named_graph(store: Store, name: str) -> Graph:
    """The whole named graph `name` ("ontology", "shapes" or "data")."""
    found = store.construct(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph_iri(store.base_uri, name)}> "
                            "{ ?s ?p ?o } }")
    graph = bind_prefixes(Graph(), store.base_uri)
    for s, p, o in found:
        graph.add((s, p, plain_string(o)))
    return graph



def labels_of(store: Store, nodes: Iterable[Node]) -> Graph:
    """Labels (and code notations) of `nodes`, from every graph."""
    iris = sorted({str(n) for n in nodes if isinstance(n, URIRef) and is_usable_iri(n)})
    graph = bind_prefixes(Graph(), store.base_uri)
    for start in range(0, len(iris), 500):
        values = " ".join(f"<{iri}>" for iri in iris[start:start + 500])
        found = store.construct(
            sparql_prologue(store.base_uri)
            + f"CONSTRUCT {{ ?n ?lp ?l }} WHERE {{ VALUES ?n {{ {values} }} ?n ?lp ?l "
            f'FILTER(?lp IN ({", ".join(_LABELS.split())})) }}')
        for s, p, o in found:
            graph.add((s, p, plain_string(o)))
    return graph

