"""The SPARQL 1.1 Service Description of the endpoint.

Moved out of ikmkg.sparql unchanged. No Flask import.
"""

from __future__ import annotations

from rdflib import BNode, Graph, URIRef
from rdflib.namespace import RDF

from ikmkg.namespaces import SD, bind_prefixes

# --- service description --------------------------------------------------------------------

_FORMAT_IRIS = {
    "application/sparql-results+json": "SPARQL_Results_JSON",
    "application/sparql-results+xml": "SPARQL_Results_XML",
    "text/csv": "SPARQL_Results_CSV",
    "text/tab-separated-values": "SPARQL_Results_TSV",
    "text/turtle": "Turtle", "application/n-triples": "N-Triples",
    "application/ld+json": "JSON-LD", "application/rdf+xml": "RDF_XML",
    "application/n-quads": "N-Quads", "application/trig": "TriG",
}


def service_description(endpoint: str, base_uri: str, graphs: dict[str, str]) -> Graph:
    """The SPARQL 1.1 Service Description of the endpoint at `endpoint`."""
    g = bind_prefixes(Graph(), base_uri)
    service = URIRef(endpoint)
    g.add((service, RDF.type, SD.Service))
    g.add((service, SD.endpoint, service))
    g.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    g.add((service, SD.feature, SD.UnionDefaultGraph))
    for name in _FORMAT_IRIS.values():
        g.add((service, SD.resultFormat, URIRef(f"http://www.w3.org/ns/formats/{name}")))
    dataset, default = BNode(), BNode()
    g.add((service, SD.defaultDataset, dataset))
    g.add((dataset, RDF.type, SD.Dataset))
    g.add((dataset, SD.defaultGraph, default))
    g.add((default, RDF.type, SD.Graph))
    for iri in graphs.values():
        named = BNode()
        g.add((dataset, SD.namedGraph, named))
        g.add((named, RDF.type, SD.NamedGraph))
        g.add((named, SD.name, URIRef(iri)))
    return g
