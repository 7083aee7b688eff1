"""The dataset's VoID/DCAT graph: what ikmkg states about itself, every figure counted.

`statistics(store, base_uri)` asks the store (through the Store protocol only) for the counts;
`void_graph(stats, manifest, base_uri)` turns them and the written dumps into RDF. Nothing here is
written by hand except the licence, the publisher's name and the title (the constants below,
also used by releases and citations). Dates come from the graph (`dcterms:created` /
`dcterms:modified` stated on the dataset IRI), never from the clock. The description served for
the current graph (with its recorded releases) is ikmkg.void; one release's is
ikmkg.releases.catalogue. This module knows nothing about HTTP.
"""

from __future__ import annotations

import dataclasses

from rdflib import RDF, RDFS, XSD, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, VOID

from ikmkg import dumps, fragments
from ikmkg.kg import dataset_iri
from ikmkg.namespaces import DCAT, SD, SPDX, WD, bind_prefixes, prefixes
from ikmkg.store import Store

DATA_LICENSE = URIRef("https://creativecommons.org/licenses/by/4.0/")
PUBLISHER_NAME = "ikmkg contributors"
TITLE = "ikmkg: knowledge graph of Indonesia's IKM development programme"
DESCRIPTION = ("The Indonesian Ministry of Industry's small and medium industry (IKM) development "
               "programme with JICA, as linked data: every fact traced to the sentence of the "
               "source article (Republika, 26 December 2017) or to a cited reference table.")
SOURCE_ARTICLE = "id/article/republika-2017-12-26"
WIKIDATA_SPACE = str(WD)
IANA = "https://www.iana.org/assignments/media-types/"
SPARQL_PROTOCOL = URIRef("https://www.w3.org/TR/sparql11-protocol/")
#: W3C format IRIs for `void:feature`, by media type.
FORMAT_IRIS = {
    "text/turtle": "http://www.w3.org/ns/formats/Turtle",
    "application/n-triples": "http://www.w3.org/ns/formats/N-Triples",
    "application/ld+json": "http://www.w3.org/ns/formats/JSON-LD",
    "application/rdf+xml": "http://www.w3.org/ns/formats/RDF_XML",
    "application/trig": "http://www.w3.org/ns/formats/TriG",
    "application/n-quads": "http://www.w3.org/ns/formats/N-Quads",
}
#: Classes whose first instance (by IRI) is offered as `void:exampleResource`, in this order.
EXAMPLE_CLASSES = ("Programme", "ProvinceEngagement", "NewsArticle", "Province")


@dataclasses.dataclass(frozen=True)
class ClassPartition:
    cls: URIRef
    entities: int


@dataclasses.dataclass(frozen=True)
class PropertyPartition:
    property: URIRef
    triples: int
    distinct_subjects: int
    distinct_objects: int


@dataclasses.dataclass(frozen=True)
class Linkset:
    predicate: URIRef
    triples: int


@dataclasses.dataclass
class Statistics:
    """What the VoID description counts, as the store answered."""

    triples: int
    entities: int
    distinct_subjects: int
    distinct_objects: int
    classes: list[ClassPartition]
    properties: list[PropertyPartition]
    linksets: list[Linkset]
    vocabularies: list[URIRef]
    examples: list[URIRef]
    source: URIRef | None
    created: Literal | None
    modified: Literal | None


def _count(store: Store, query: str) -> int:
    rows = store.select(query)
    return int(rows[0]["n"]) if rows and "n" in rows[0] else 0


def uri_space(base_uri: str) -> str:
    """The prefix of every entity IRI (`void:uriSpace`)."""
    return f"{base_uri}id/"


def _vocabulary(term: str, known: list[str]) -> str:
    for ns in known:
        if term.startswith(ns):
            return ns
    cut = max(term.rfind("#"), term.rfind("/"))
    return term[:cut + 1]


def _stated(store: Store, subject: URIRef, predicate: URIRef) -> Literal | None:
    rows = store.select(f"SELECT ?v WHERE {{ <{subject}> <{predicate}> ?v }} "
                        "ORDER BY DESC(STR(?v)) LIMIT 1")
    value = rows[0].get("v") if rows else None
    return value if isinstance(value, Literal) else None


def statistics(store: Store, base_uri: str) -> Statistics:
    """Count the published graph (the union of its named graphs) through SPARQL."""
    space = uri_space(base_uri)
    triples = _count(store, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    entities = _count(store, "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s ?p ?o "
                             f'FILTER(isIRI(?s) && STRSTARTS(STR(?s), "{space}")) }}')
    subjects = _count(store, "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s ?p ?o }")
    objects = _count(store, "SELECT (COUNT(DISTINCT ?o) AS ?n) WHERE { ?s ?p ?o }")
    classes = [ClassPartition(r["c"], int(r["n"])) for r in store.select(
        "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?c FILTER(isIRI(?c)) } GROUP BY ?c")]
    classes.sort(key=lambda c: str(c.cls))
    properties = [PropertyPartition(r["p"], int(r["n"]), int(r["ds"]), int(r["do"]))
                  for r in store.select(
                      "SELECT ?p (COUNT(*) AS ?n) (COUNT(DISTINCT ?s) AS ?ds) "
                      "(COUNT(DISTINCT ?o) AS ?do) WHERE { ?s ?p ?o } GROUP BY ?p")]
    properties.sort(key=lambda p: str(p.property))
    linksets = [Linkset(r["p"], int(r["n"])) for r in store.select(
        "SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o "
        f'FILTER(isIRI(?o) && STRSTARTS(STR(?o), "{WIKIDATA_SPACE}")) }} GROUP BY ?p')]
    linksets.sort(key=lambda ls: str(ls.predicate))
    known = sorted(prefixes(base_uri).values(), key=len, reverse=True)
    vocabularies = sorted({URIRef(_vocabulary(str(t), known))
                           for t in [c.cls for c in classes] + [p.property for p in properties]})
    ikm = prefixes(base_uri)["ikm"]
    examples = []
    for local in EXAMPLE_CLASSES:
        rows = store.select(f"SELECT ?s WHERE {{ ?s a <{ikm}{local}> FILTER(isIRI(?s)) }} "
                            "ORDER BY STR(?s) LIMIT 1")
        if rows:
            examples.append(rows[0]["s"])
    article = URIRef(base_uri + SOURCE_ARTICLE)
    source = article if store.ask(f"ASK {{ <{article}> ?p ?o }}") else None
    dataset = dataset_iri(base_uri)
    return Statistics(triples, entities, subjects, objects, classes, properties, linksets,
                      vocabularies, examples, source, _stated(store, dataset, DCTERMS.created),
                      _stated(store, dataset, DCTERMS.modified))


def _fragment(dataset: URIRef, kind: str, text: str) -> URIRef:
    """`<dataset>#<kind>-<slug>`: partitions and distributions resolve to the dataset's page."""
    return URIRef(f"{dataset}#{kind}-{dumps.slug(text.replace(':', '-'))}")


def _compact(iri: str, base_uri: str) -> str:
    return dumps.Compactor(base_uri).iri(iri)


def void_graph(stats: Statistics, manifest: dumps.Manifest, base_uri: str) -> Graph:
    """The VoID + DCAT description of the dataset and its distributions."""
    g = bind_prefixes(Graph(), base_uri)
    d = dataset_iri(base_uri)
    endpoint = URIRef(f"{base_uri}sparql")
    publisher = URIRef(f"{d}#publisher")
    nonneg = XSD.nonNegativeInteger

    def count(n: int) -> Literal:
        return Literal(n, datatype=XSD.integer)

    g.add((d, RDF.type, VOID.Dataset))
    g.add((d, RDF.type, DCAT.Dataset))
    g.add((d, DCTERMS.title, Literal(TITLE, lang="en")))
    g.add((d, RDFS.label, Literal(TITLE, lang="en")))
    g.add((d, DCTERMS.description, Literal(DESCRIPTION, lang="en")))
    g.add((d, DCTERMS.license, DATA_LICENSE))
    g.add((d, DCTERMS.publisher, publisher))
    g.add((d, DCTERMS.creator, publisher))
    g.add((publisher, RDF.type, FOAF.Agent))
    g.add((publisher, FOAF.name, Literal(PUBLISHER_NAME)))
    if stats.source is not None:
        g.add((d, DCTERMS.source, stats.source))
    if stats.created is not None:
        g.add((d, DCTERMS.created, stats.created))
    if stats.modified is not None:
        g.add((d, DCTERMS.modified, stats.modified))
    g.add((d, VOID.uriSpace, Literal(uri_space(base_uri))))
    g.add((d, VOID.sparqlEndpoint, endpoint))
    g.add((d, VOID.triples, count(stats.triples)))
    g.add((d, VOID.entities, count(stats.entities)))
    g.add((d, VOID.distinctSubjects, count(stats.distinct_subjects)))
    g.add((d, VOID.distinctObjects, count(stats.distinct_objects)))
    g.add((d, VOID.classes, count(len(stats.classes))))
    g.add((d, VOID.properties, count(len(stats.properties))))
    for vocabulary in stats.vocabularies:
        g.add((d, VOID.vocabulary, vocabulary))
    for example in stats.examples:
        g.add((d, VOID.exampleResource, example))
    for part in stats.classes:
        node = _fragment(d, "class", _compact(str(part.cls), base_uri))
        g.add((d, VOID.classPartition, node))
        g.add((node, VOID["class"], part.cls))
        g.add((node, VOID.entities, count(part.entities)))
    for part in stats.properties:
        node = _fragment(d, "property", _compact(str(part.property), base_uri))
        g.add((d, VOID.propertyPartition, node))
        g.add((node, VOID.property, part.property))
        g.add((node, VOID.triples, count(part.triples)))
        g.add((node, VOID.distinctSubjects, count(part.distinct_subjects)))
        g.add((node, VOID.distinctObjects, count(part.distinct_objects)))
    if stats.linksets:
        wikidata = URIRef(f"{d}#wikidata")
        g.add((wikidata, RDF.type, VOID.Dataset))
        g.add((wikidata, DCTERMS.title, Literal("Wikidata", lang="en")))
        g.add((wikidata, VOID.uriSpace, Literal(WIKIDATA_SPACE)))
        g.add((wikidata, FOAF.homepage, URIRef("https://www.wikidata.org/")))
    for linkset in stats.linksets:
        node = _fragment(d, "linkset-wikidata", _compact(str(linkset.predicate), base_uri))
        g.add((d, VOID.subset, node))
        g.add((node, RDF.type, VOID.Linkset))
        g.add((node, VOID.subjectsTarget, d))
        g.add((node, VOID.objectsTarget, wikidata))
        g.add((node, VOID.linkPredicate, linkset.predicate))
        g.add((node, VOID.triples, count(linkset.triples)))

    for f in manifest.files:
        url = URIRef(f"{base_uri}dumps/{f.name}")
        dist = _fragment(d, "distribution", f.name)
        checksum = _fragment(d, "sha256", f.name)
        if f.rdf:
            g.add((d, VOID.dataDump, url))
            g.add((d, VOID.feature, URIRef(FORMAT_IRIS[f.media_type])))
        g.add((d, DCAT.distribution, dist))
        g.add((dist, RDF.type, DCAT.Distribution))
        title = f"{f.label}, {f.scope}" if f.rdf else f"CSV, {_compact(f.class_iri, base_uri)}"
        g.add((dist, DCTERMS.title, Literal(title, lang="en")))
        g.add((dist, DCAT.downloadURL, url))
        g.add((dist, DCAT.accessURL, url))
        g.add((dist, DCAT.mediaType, URIRef(IANA + f.media_type)))
        if f.compression == "gzip":
            g.add((dist, DCAT.compressFormat, URIRef(IANA + "application/gzip")))
        g.add((dist, DCAT.byteSize, Literal(f.size, datatype=nonneg)))
        g.add((dist, DCTERMS.license, DATA_LICENSE))
        g.add((dist, SPDX.checksum, checksum))
        g.add((checksum, RDF.type, SPDX.Checksum))
        g.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
        g.add((checksum, SPDX.checksumValue, Literal(f.sha256, datatype=XSD.hexBinary)))

    g.add((endpoint, RDF.type, DCAT.DataService))
    g.add((endpoint, RDF.type, SD.Service))
    g.add((endpoint, DCTERMS.title, Literal("SPARQL 1.1 endpoint", lang="en")))
    g.add((endpoint, DCAT.endpointURL, endpoint))
    g.add((endpoint, SD.endpoint, endpoint))
    g.add((endpoint, DCAT.servesDataset, d))
    g.add((endpoint, DCTERMS.conformsTo, SPARQL_PROTOCOL))
    g.add((endpoint, DCTERMS.license, DATA_LICENSE))

    # The Triple Pattern Fragments interface (ikmkg.fragments): the dataset's `hydra:search`
    # template, as each fragment states it for the dataset it is part of (TPF spec, "Controls");
    # the subject fragment as VoID's URI lookup (the resource's encoded IRI appended); and the
    # interface as a DCAT data service beside the SPARQL endpoint.
    tpf = URIRef(f"{base_uri}fragments")
    g.bind("hydra", fragments.HYDRA)
    fragments.add_search(g, d, str(tpf), search=URIRef(f"{d}#fragments-search"))
    g.add((d, VOID.uriLookupEndpoint, URIRef(f"{tpf}?subject=")))
    g.add((tpf, RDF.type, DCAT.DataService))
    g.add((tpf, DCTERMS.title, Literal("Triple Pattern Fragments", lang="en")))
    g.add((tpf, DCAT.endpointURL, tpf))
    g.add((tpf, DCAT.servesDataset, d))
    g.add((tpf, DCTERMS.conformsTo, fragments.SPEC))
    g.add((tpf, DCTERMS.license, DATA_LICENSE))
    return g
