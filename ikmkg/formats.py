"""Media types in one table: media type <-> rdflib/pyoxigraph format <-> file suffix.

Which one a request gets (Accept, `format=`, aliases) is decided in ikmkg.web.negotiation.
"""

from __future__ import annotations

import dataclasses

import pyoxigraph as ox


@dataclasses.dataclass(frozen=True)
class Format:
    media_type: str
    suffix: str
    rdflib: str  # rdflib serializer/parser name
    label: str


#: RDF graph formats, the default (Turtle) first: werkzeug breaks ties by this order.
RDF_FORMATS: tuple[Format, ...] = (
    Format("text/turtle", "ttl", "turtle", "Turtle"),
    Format("application/n-triples", "nt", "nt", "N-Triples"),
    Format("application/ld+json", "jsonld", "json-ld", "JSON-LD"),
    Format("application/rdf+xml", "rdf", "xml", "RDF/XML"),
)
#: Quad formats (keep named graphs).
QUAD_FORMATS: tuple[Format, ...] = (
    Format("application/n-quads", "nq", "nquads", "N-Quads"),
    Format("application/trig", "trig", "trig", "TriG"),
)
#: SPARQL SELECT/ASK result formats, JSON first.
RESULT_FORMATS: tuple[Format, ...] = (
    Format("application/sparql-results+json", "srj", "json", "SPARQL JSON"),
    Format("application/sparql-results+xml", "srx", "xml", "SPARQL XML"),
    Format("text/csv", "csv", "csv", "CSV"),
    Format("text/tab-separated-values", "tsv", "tsv", "TSV"),
)
HTML = Format("text/html", "html", "", "HTML")
#: Plain JSON (listings, search results, error bodies) and plain text (error bodies).
JSON = Format("application/json", "json", "", "JSON")
TEXT = Format("text/plain", "txt", "", "Text")

BY_SUFFIX = {f.suffix: f for f in (*RDF_FORMATS, *QUAD_FORMATS, *RESULT_FORMATS, HTML)}
BY_MEDIA_TYPE = {f.media_type: f for f in (*RDF_FORMATS, *QUAD_FORMATS, *RESULT_FORMATS, HTML)}

def keep_carriage_returns(xml: bytes) -> bytes:
    """pyoxigraph's XML (SPARQL XML results, RDF/XML) with every carriage return as `&#13;`.

    A CR written as it is comes back as a line feed from every XML parser (XML 1.0 §2.11
    normalises line ends); pyoxigraph writes it raw. It writes no CR between elements or inside
    attributes (IRIs have none), so every CR is literal content (issue #16).
    """
    return xml.replace(b"\r", b"&#13;")


#: Suffix -> pyoxigraph serialiser, for the formats the engine writes natively (the executor
#: and the remote store both serialise with it).
OXIGRAPH_RESULT_FORMATS = {
    "srj": ox.QueryResultsFormat.JSON,
    "srx": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
}
OXIGRAPH_RDF_FORMATS = {
    "ttl": ox.RdfFormat.TURTLE,
    "nt": ox.RdfFormat.N_TRIPLES,
    "jsonld": ox.RdfFormat.JSON_LD,
    "rdf": ox.RdfFormat.RDF_XML,
    "nq": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
}
