"""The RDF dumps: the published statements read, canonicalised and serialised deterministically.

`read_quads` takes the three named graphs from a loaded graph or through the Store protocol,
`canonical_quads` gives blank nodes their RDFC-1.0 labels and sorts them, and `serialize`,
`jsonld_document` write them so that the same graph always gives the same bytes. This module
knows nothing about HTTP.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import re
from collections.abc import Iterable, Sequence

import pyoxigraph as ox
from rdflib import Graph

from ikmkg.errors import DataError
from ikmkg.formats import keep_carriage_returns
from ikmkg.kg import GRAPH_NAMES, KnowledgeGraph, graph_iri, iter_quads
from ikmkg.namespaces import prefixes
from ikmkg.store import Store
from ikmkg.terms import to_oxigraph

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


@dataclasses.dataclass(frozen=True)
class DumpKind:
    """One RDF dump file: its name, what it holds and how it is encoded."""

    name: str
    label: str
    media_type: str  # of the RDF inside (before gzip)
    oxigraph: ox.RdfFormat | None  # None: JSON-LD, written by `jsonld_document`
    quads: bool
    gzip: bool = False


RDF_DUMPS: tuple[DumpKind, ...] = (
    DumpKind("ikmkg.ttl", "Turtle", "text/turtle", ox.RdfFormat.TURTLE, False),
    DumpKind("ikmkg.nt.gz", "N-Triples (gzip)", "application/n-triples",
             ox.RdfFormat.N_TRIPLES, False, gzip=True),
    DumpKind("ikmkg.jsonld", "JSON-LD", "application/ld+json", None, False),
    DumpKind("ikmkg.rdf", "RDF/XML", "application/rdf+xml", ox.RdfFormat.RDF_XML, False),
    DumpKind("ikmkg.trig", "TriG", "application/trig", ox.RdfFormat.TRIG, True),
    DumpKind("ikmkg.nq.gz", "N-Quads (gzip)", "application/n-quads",
             ox.RdfFormat.N_QUADS, True, gzip=True),
)


# --- reading and canonicalising ---------------------------------------------------------------

def read_quads(source: KnowledgeGraph | Store, base_uri: str) -> list[ox.Quad]:
    """Every statement of the three named graphs, as pyoxigraph quads.

    From a loaded graph, the statements pass through a pyoxigraph store, as when serving.
    From a Store, each graph is fetched with a CONSTRUCT and its size checked against a COUNT,
    so that a store that caps results can never produce a silently truncated dump.
    """
    if isinstance(source, KnowledgeGraph):
        # Through a pyoxigraph store, as the server publishes it: the store keeps typed literals
        # in canonical form ("4400000.0"^^xsd:decimal is served as "4400000"), and the dumps
        # must be byte-identical whichever way they are made.
        normaliser = ox.Store()
        normaliser.bulk_extend(ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o),
                                       to_oxigraph(g)) for s, p, o, g in iter_quads(source))
        return list(normaliser)
    quads = []
    for name in GRAPH_NAMES:
        g = graph_iri(base_uri, name)
        graph = source.construct(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{g}> {{ ?s ?p ?o }} }}")
        rows = source.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{g}> {{ ?s ?p ?o }} }}")
        expected = int(rows[0]["n"]) if rows else 0
        if len(graph) != expected:
            raise DataError(f"the store returned {len(graph)} of the {expected} triples of <{g}>; "
                            "refusing to write a truncated dump")
        graph_name = ox.NamedNode(str(g))
        quads.extend(ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o), graph_name)
                     for s, p, o in graph)
    return quads


def term_key(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.DefaultGraph) -> str:
    """The sort key of a term: its N-Triples form."""
    return str(term)


def predicate_key(term: ox.NamedNode) -> tuple[bool, str]:
    """rdf:type first (Turtle's `a`), then the other predicates by IRI."""
    return term.value != RDF_TYPE, term.value


def canonical_quads(quads: Iterable[ox.Quad], base_uri: str) -> list[ox.Quad]:
    """The quads with RDFC-1.0 blank-node labels, sorted by graph (ontology, shapes, data),
    subject, predicate, object: the same graph always gives the same list."""
    dataset = ox.Dataset(quads)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    order = {str(graph_iri(base_uri, name)): i for i, name in enumerate(GRAPH_NAMES)}
    return sorted(dataset, key=lambda q: (order.get(q.graph_name.value, len(order))
                                          if isinstance(q.graph_name, ox.NamedNode) else -1,
                                          term_key(q.graph_name), term_key(q.subject),
                                          predicate_key(q.predicate), term_key(q.object)))


def union_triples(quads: Sequence[ox.Quad]) -> list[ox.Triple]:
    """The union of the graphs: each triple once, sorted by subject, predicate, object."""
    unique = {q.triple for q in quads}
    return sorted(unique, key=triple_key)


def triple_key(t: ox.Triple) -> tuple:
    return term_key(t.subject), predicate_key(t.predicate), term_key(t.object)


# --- serialising ------------------------------------------------------------------------------

def _prefix_block(prefix_map: dict[str, str]) -> bytes:
    return "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in sorted(prefix_map.items())).encode()


def _with_sorted_prefixes(body: bytes, prefix_map: dict[str, str]) -> bytes:
    """Replace the serialiser's @prefix lines (its order is its own) with a sorted block."""
    lines = body.split(b"\n")
    start = 0
    while start < len(lines) and lines[start].startswith(b"@prefix "):
        start += 1
    return _prefix_block(prefix_map) + b"\n" + b"\n".join(lines[start:])


def turtle_prefixes(statements: Iterable[ox.Triple | ox.Quad], base_uri: str) -> dict[str, str]:
    """The standard prefixes, plus one per entity type (`province:` for `id/province/`, as the
    curated files have it) where every local name under it needs no escaping; never `id:`."""
    result = {p: ns for p, ns in prefixes(base_uri).items() if p != "id"}
    entity_space = f"{base_uri}id/"
    clean: dict[str, bool] = {}
    for st in statements:
        for term in (st.subject, st.object):
            if isinstance(term, ox.NamedNode) and term.value.startswith(entity_space):
                segment, _, local = term.value[len(entity_space):].partition("/")
                ok = bool(re.fullmatch(r"[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_-])?", local))
                clean[segment] = clean.get(segment, True) and ok
    for segment, ok in clean.items():
        if ok and re.fullmatch(r"[a-z][a-z0-9-]*[a-z0-9]", segment) and segment not in result:
            result[segment] = f"{entity_space}{segment}/"
    return result


def serialize(statements: Sequence[ox.Triple] | Sequence[ox.Quad], rdf_format: ox.RdfFormat,
              base_uri: str) -> bytes:
    """Serialise already sorted statements deterministically in a pyoxigraph format."""
    prefix_map = turtle_prefixes(statements, base_uri)
    if rdf_format in (ox.RdfFormat.N_TRIPLES, ox.RdfFormat.N_QUADS):
        return ox.serialize(statements, format=rdf_format)
    body = ox.serialize(statements, format=rdf_format, prefixes=prefix_map)
    if rdf_format in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG):
        return _with_sorted_prefixes(body, prefix_map)
    if rdf_format == ox.RdfFormat.RDF_XML:
        return keep_carriage_returns(body)
    return body


def jsonld_context(base_uri: str) -> dict:
    """The published JSON-LD context: one term per prefix ikmkg binds."""
    return {"@context": dict(sorted(prefixes(base_uri).items()))}


class Compactor:
    """Compact IRIs with the longest matching prefix (only where the local part is not empty)."""

    def __init__(self, base_uri: str):
        self.prefixes = sorted(prefixes(base_uri).items(), key=lambda kv: -len(kv[1]))

    def iri(self, iri: str) -> str:
        for prefix, ns in self.prefixes:
            if iri.startswith(ns) and len(iri) > len(ns) and not iri[len(ns):].startswith("//"):
                return f"{prefix}:{iri[len(ns):]}"
        return iri

    def node_id(self, term: ox.NamedNode | ox.BlankNode) -> str:
        return self.iri(term.value) if isinstance(term, ox.NamedNode) else f"_:{term.value}"

    def value(self, term: ox.NamedNode | ox.BlankNode | ox.Literal) -> object:
        if not isinstance(term, ox.Literal):
            return {"@id": self.node_id(term)}
        if term.language:
            return {"@language": term.language, "@value": term.value}
        if term.datatype.value == XSD_STRING:
            return term.value
        return {"@type": self.iri(term.datatype.value), "@value": term.value}


def jsonld_document(triples: Sequence[ox.Triple], base_uri: str) -> dict:
    """Compacted JSON-LD (flat: one node object per subject) with the context inlined.

    The context is inlined rather than referenced by URL so that the file parses offline and a
    JSON-LD processor never has to fetch anything; `context.jsonld` publishes the same context.
    """
    compact = Compactor(base_uri)
    nodes: dict[str, dict[str, list]] = {}
    for t in triples:
        node = nodes.setdefault(term_key(t.subject), {"@id": [compact.node_id(t.subject)]})
        if t.predicate.value == RDF_TYPE and isinstance(t.object, ox.NamedNode):
            node.setdefault("@type", []).append(compact.iri(t.object.value))
        else:
            node.setdefault(compact.iri(t.predicate.value), []).append(compact.value(t.object))
    graph = []
    for key in sorted(nodes):
        graph.append({k: v[0] if len(v) == 1 else v for k, v in nodes[key].items()})
    return {**jsonld_context(base_uri), "@graph": graph}


def json_bytes(payload: object) -> bytes:
    return (json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def gzip_bytes(data: bytes) -> bytes:
    """gzip without a timestamp or file name in the header: the same input, the same bytes."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as gz:
        gz.write(data)
    return buffer.getvalue()


def graph_to_triples(graph: Graph) -> list[ox.Triple]:
    """An rdflib graph as sorted pyoxigraph triples (for deterministic serialisation)."""
    triples = {ox.Triple(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o)) for s, p, o in graph}
    return sorted(triples, key=triple_key)


def serialize_graph(graph: Graph, media_type: str, base_uri: str) -> bytes:
    """A small rdflib graph (VoID, DCAT) serialised deterministically in `media_type`."""
    triples = graph_to_triples(graph)
    if media_type == "application/ld+json":
        return json_bytes(jsonld_document(triples, base_uri))
    for kind in RDF_DUMPS:
        if kind.media_type == media_type and not kind.quads and kind.oxigraph is not None:
            return serialize(triples, kind.oxigraph, base_uri)
    raise ValueError(f"no graph serialiser for {media_type}")
