"""VoID and DCAT (ikmkg.void, /.well-known/void): every figure equals what the store counts."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
import yaml
from conftest import TEST_DATA_DIR, make_app
from rdflib import RDF, XSD, Dataset, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, VOID

from ikmkg import __version__, dumps, void
from ikmkg import kg as kg_module
from ikmkg.errors import DataError
from ikmkg.kg import dataset_iri
from ikmkg.namespaces import SD, SPDX
from ikmkg.settings import PROJECT_DIR, Settings
from ikmkg.store import EmbeddedStore

FIXTURE_PROJECT = TEST_DATA_DIR / "dumps"
CC_BY = URIRef("https://creativecommons.org/licenses/by/4.0/")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")


@pytest.fixture(scope="module", params=["fixture", "shipped"])
def described(request, tmp_path_factory):
    """(settings, store, kg, VoID graph) for the fixture and, once it validates, the real data."""
    from ikmkg.validation import validate

    project_dir = FIXTURE_PROJECT if request.param == "fixture" else PROJECT_DIR
    settings = Settings(project_dir=str(project_dir),
                        cache_dir=str(tmp_path_factory.mktemp("cache")))
    try:
        kg = kg_module.load(settings)
    except DataError as exc:
        pytest.skip(f"{project_dir} does not load yet: {exc.message[:200]}")
    if request.param == "shipped" and not validate(kg_module.load(settings)).conforms:
        pytest.skip("the shipped data does not conform yet")
    store = EmbeddedStore(kg)
    return settings, store, kg, void.describe_dataset(store, settings)


def count(store, query: str) -> int:
    return int(store.select(query)[0]["n"])


def value(graph: Graph, s, p) -> int:
    found = list(graph.objects(s, p))
    assert len(found) == 1, f"{s} {p}: {found}"
    return int(found[0])


def union(kg) -> set:
    return {t for g in kg.graphs().values() for t in g}


def test_dataset_counts_equal_the_endpoint_counts(described):
    settings, store, kg, g = described
    d = dataset_iri(settings.base_uri)
    triples = union(kg)
    assert value(g, d, VOID.triples) == count(store, "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }") \
        == len(triples)
    assert value(g, d, VOID.distinctSubjects) == count(
        store, "SELECT (COUNT(DISTINCT ?s) AS ?n) { ?s ?p ?o }") == len({t[0] for t in triples})
    assert value(g, d, VOID.distinctObjects) == count(
        store, "SELECT (COUNT(DISTINCT ?o) AS ?n) { ?s ?p ?o }") == len({t[2] for t in triples})
    space = f"{settings.base_uri}id/"
    assert value(g, d, VOID.entities) == len({s for s, _, _ in triples
                                              if isinstance(s, URIRef) and s.startswith(space)})
    assert value(g, d, VOID.properties) == len({p for _, p, _ in triples})
    assert value(g, d, VOID.classes) == len({o for _, p, o in triples
                                             if p == RDF.type and isinstance(o, URIRef)})


def test_class_partitions_equal_the_endpoint_counts(described):
    settings, store, _, g = described
    d = dataset_iri(settings.base_uri)
    partitions = list(g.objects(d, VOID.classPartition))
    classes = {r["c"] for r in store.select("SELECT DISTINCT ?c { ?s a ?c FILTER(isIRI(?c)) }")}
    assert {g.value(p, VOID["class"]) for p in partitions} == classes
    for part in partitions:
        cls = g.value(part, VOID["class"])
        assert value(g, part, VOID.entities) == count(
            store, f"SELECT (COUNT(DISTINCT ?s) AS ?n) {{ ?s a <{cls}> }}"), cls


def test_property_partitions_equal_the_endpoint_counts(described):
    settings, store, _, g = described
    d = dataset_iri(settings.base_uri)
    partitions = list(g.objects(d, VOID.propertyPartition))
    assert {g.value(p, VOID.property) for p in partitions} == {
        r["p"] for r in store.select("SELECT DISTINCT ?p { ?s ?p ?o }")}
    for part in partitions:
        prop = g.value(part, VOID.property)
        assert value(g, part, VOID.triples) == count(
            store, f"SELECT (COUNT(*) AS ?n) {{ ?s <{prop}> ?o }}"), prop
        assert value(g, part, VOID.distinctSubjects) == count(
            store, f"SELECT (COUNT(DISTINCT ?s) AS ?n) {{ ?s <{prop}> ?o }}"), prop
        assert value(g, part, VOID.distinctObjects) == count(
            store, f"SELECT (COUNT(DISTINCT ?o) AS ?n) {{ ?s <{prop}> ?o }}"), prop


def test_wikidata_linkset_counts_the_links(described):
    settings, store, _, g = described
    d = dataset_iri(settings.base_uri)
    wikidata = URIRef(f"{settings.base_uri}ontology#wikidata")
    links = count(store, f"SELECT (COUNT(*) AS ?n) {{ ?s <{wikidata}> ?o }}")
    linksets = [ls for ls in g.objects(d, VOID.subset) if (ls, RDF.type, VOID.Linkset) in g]
    by_predicate = {g.value(ls, VOID.linkPredicate): ls for ls in linksets}
    if links == 0:
        assert wikidata not in by_predicate
        return
    ls = by_predicate[wikidata]
    assert value(g, ls, VOID.triples) == links
    assert g.value(ls, VOID.subjectsTarget) == d
    target = g.value(ls, VOID.objectsTarget)
    assert str(g.value(target, VOID.uriSpace)) == "http://www.wikidata.org/entity/"


def test_fixture_figures_are_the_ones_written_in_the_fixture(described):
    """Counts checked against numbers read off tests/data/dumps by hand, once."""
    settings, _, kg, g = described
    if Path(settings.project_dir) != FIXTURE_PROJECT:
        pytest.skip("fixture only")
    d = dataset_iri(settings.base_uri)
    province = g.value(predicate=VOID["class"],
                       object=URIRef(f"{settings.base_uri}ontology#Province"))
    assert value(g, province, VOID.entities) == 2
    ls = g.value(predicate=VOID.linkPredicate,
                 object=URIRef(f"{settings.base_uri}ontology#wikidata"))
    assert value(g, ls, VOID.triples) == 1
    assert g.value(d, DCTERMS.created) == Literal("2026-11-01", datatype=XSD.date)
    assert g.value(d, DCTERMS.modified) == Literal("2026-11-20", datatype=XSD.date)


def test_dataset_metadata(described):
    settings, store, _, g = described
    d = dataset_iri(settings.base_uri)
    assert (d, RDF.type, VOID.Dataset) in g and (d, RDF.type, DCAT.Dataset) in g
    assert g.value(d, DCTERMS.license) == CC_BY
    assert g.value(g.value(d, DCTERMS.publisher), URIRef("http://xmlns.com/foaf/0.1/name"))
    assert str(g.value(d, VOID.uriSpace)) == f"{settings.base_uri}id/"
    endpoint = URIRef(f"{settings.base_uri}sparql")
    assert g.value(d, VOID.sparqlEndpoint) == endpoint
    assert (endpoint, RDF.type, DCAT.DataService) in g and (endpoint, RDF.type, SD.Service) in g
    assert g.value(endpoint, DCAT.endpointURL) == endpoint
    assert g.value(endpoint, DCAT.servesDataset) == d
    article = URIRef(f"{settings.base_uri}id/article/republika-2017-12-26")
    if store.ask(f"ASK {{ <{article}> ?p ?o }}"):
        assert g.value(d, DCTERMS.source) == article
    vocabularies = set(g.objects(d, VOID.vocabulary))
    assert URIRef("http://www.w3.org/2000/01/rdf-schema#") in vocabularies
    for example in g.objects(d, VOID.exampleResource):
        assert store.ask(f"ASK {{ <{example}> ?p ?o }}"), example


def test_one_distribution_per_dump_file_with_size_and_checksum(described):
    settings, store, _, g = described
    d = dataset_iri(settings.base_uri)
    manifest = dumps.ensure_dumps(store, settings)
    distributions = list(g.objects(d, DCAT.distribution))
    urls = {str(g.value(dist, DCAT.downloadURL)): dist for dist in distributions}
    assert len(urls) == len(distributions) == len(manifest.files)
    for f in manifest.files:
        dist = urls[f"{settings.base_uri}dumps/{f.name}"]
        body = (manifest.directory / f.name).read_bytes()
        assert value(g, dist, DCAT.byteSize) == len(body)
        checksum = g.value(dist, SPDX.checksum)
        assert g.value(checksum, SPDX.algorithm) == SPDX.checksumAlgorithm_sha256
        assert str(g.value(checksum, SPDX.checksumValue)) == hashlib.sha256(body).hexdigest()
        assert g.value(dist, DCTERMS.license) == CC_BY
        assert str(g.value(dist, DCAT.mediaType)).endswith("/" + f.media_type)
        if f.compression == "gzip":
            assert str(g.value(dist, DCAT.compressFormat)).endswith("/application/gzip")
    data_dumps = {str(u) for u in g.objects(d, VOID.dataDump)}
    assert data_dumps == {f"{settings.base_uri}dumps/{k.name}" for k in dumps.RDF_DUMPS}


def test_description_is_deterministic(described):
    settings, store, _, g = described
    void.forget()
    again = void.describe_dataset(store, settings)
    for media_type in ("text/turtle", "application/ld+json"):
        assert dumps.serialize_graph(g, media_type, settings.base_uri) == \
            dumps.serialize_graph(again, media_type, settings.base_uri)


def test_describe_dataset_returns_a_copy(described):
    settings, store, _, _ = described
    first = void.describe_dataset(store, settings)
    first.add((URIRef("urn:x"), URIRef("urn:y"), URIRef("urn:z")))
    assert (URIRef("urn:x"), None, None) not in void.describe_dataset(store, settings)


# --- /.well-known/void --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def client(tmp_path_factory):
    kg = kg_module.load(Settings(project_dir=str(FIXTURE_PROJECT)))
    app = make_app(EmbeddedStore(kg), project_dir=str(FIXTURE_PROJECT),
                   cache_dir=str(tmp_path_factory.mktemp("cache")))
    return app.test_client()


@pytest.mark.parametrize("accept,expected", [
    (None, "text/turtle"),
    ("*/*", "text/turtle"),
    ("text/turtle", "text/turtle"),
    ("application/ld+json", "application/ld+json"),
    ("text/html,application/xhtml+xml,*/*;q=0.8", "text/html"),
    ("application/n-triples", "application/n-triples"),
    ("application/rdf+xml", "application/rdf+xml"),
    ("image/png", None),
])
def test_well_known_void_negotiates(client, accept, expected):
    response = client.get("/.well-known/void", headers={"Accept": accept} if accept else {})
    if expected is None:
        assert response.status_code == 406
        return
    assert response.status_code == 200
    assert response.mimetype == expected
    assert "Accept" in response.headers["Vary"]


def test_well_known_void_formats_carry_the_same_graph(client):
    from rdflib.compare import isomorphic

    graphs = []
    for media_type, fmt in [("text/turtle", "turtle"), ("application/ld+json", "json-ld"),
                            ("application/rdf+xml", "xml"), ("application/n-triples", "nt")]:
        body = client.get("/.well-known/void", headers={"Accept": media_type}).data
        graphs.append(Graph().parse(data=body, format=fmt))
    assert len(graphs[0]) > 50
    assert all(isomorphic(graphs[0], other) for other in graphs[1:])


def test_well_known_void_html_shows_the_counts(client):
    turtle = client.get("/.well-known/void", headers={"Accept": "text/turtle"}).data
    g = Graph().parse(data=turtle, format="turtle")
    d = dataset_iri(Settings().base_uri)
    html = client.get("/.well-known/void", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert f'<td class="num">{value(g, d, VOID.triples)}</td>' in html
    assert "CC BY 4.0" in html and "How to cite" in html
    etag = client.get("/.well-known/void").headers["ETag"]
    assert client.get("/.well-known/void", headers={"If-None-Match": etag}).status_code == 304


def test_fragments_interface_is_described_and_its_urls_work(client):
    """The TPF interface as the spec has its dataset state it (`hydra:search`), as VoID's URI
    lookup and as a DCAT data service; each URL, requested as a client would build it, answers
    the fragment with the store's count."""
    base = Settings().base_uri
    g = Graph().parse(data=client.get("/.well-known/void", headers={"Accept": "text/turtle"}).data,
                      format="turtle")
    d = dataset_iri(base)
    tpf = URIRef(f"{base}fragments")
    assert (tpf, RDF.type, DCAT.DataService) in g
    assert g.value(tpf, DCAT.endpointURL) == tpf and g.value(tpf, DCAT.servesDataset) == d
    assert g.value(tpf, DCTERMS.conformsTo) == \
        URIRef("http://www.hydra-cg.com/spec/latest/triple-pattern-fragments/")
    search = g.value(d, HYDRA.search)
    template = str(g.value(search, HYDRA.template))
    assert template == f"{tpf}{{?subject,predicate,object}}"
    assert g.value(search, HYDRA.variableRepresentation) == HYDRA.ExplicitRepresentation
    mappings = {str(g.value(m, HYDRA.variable)): g.value(m, HYDRA.property)
                for m in g.objects(search, HYDRA.mapping)}
    assert mappings == {"subject": RDF.subject, "predicate": RDF.predicate,
                        "object": RDF.object}

    def fragment(url: str) -> tuple[int, set]:
        assert url.startswith(base)
        response = client.get("/" + url.removeprefix(base), headers={"Accept": "application/trig"})
        assert response.status_code == 200, url
        ds = Dataset().parse(data=response.data, format="trig")
        total = next(ds.quads((None, HYDRA.totalItems, None, None)))[2]
        triples = {(s, p, o) for s, p, o, c in ds.quads((None, None, None, None))
                   if c == ds.default_context.identifier}
        return int(total), triples

    store = EmbeddedStore(kg_module.load(Settings(project_dir=str(FIXTURE_PROJECT))))
    province = URIRef(f"{base}ontology#Province")
    # RFC 6570 form-style query expansion of the template, the variables it names left out
    # when unbound (Hydra's ExplicitRepresentation: IRIs as they are).
    expanded = template.replace("{?subject,predicate,object}", "?" + urlencode(
        {"predicate": str(RDF.type), "object": str(province)}))
    total, triples = fragment(expanded)
    assert total == count(store, f"SELECT (COUNT(*) AS ?n) {{ ?s a <{province}> }}") == 2
    assert {p for _, p, _ in triples} == {RDF.type} and len(triples) == 2
    assert fragment(str(g.value(tpf, DCAT.endpointURL)))[0] == len(store)
    example = next(s for s, _, _ in triples)
    lookup = str(g.value(d, VOID.uriLookupEndpoint)) + quote(str(example), safe="")
    total, triples = fragment(lookup)
    assert total == count(store, f"SELECT (COUNT(*) AS ?n) {{ <{example}> ?p ?o }}") > 1
    assert {s for s, _, _ in triples} == {example}


# --- citation -----------------------------------------------------------------------------------

def test_citation_cff():
    cff = yaml.safe_load((PROJECT_DIR / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0"
    assert cff["authors"] == [{"name": "ikmkg contributors"}]
    assert str(cff["version"]) == __version__
    assert set(cff["license"]) == {"CC-BY-4.0", "MIT"}
    assert "doi" not in json.dumps(cff, default=str).lower(), "no DOI has been minted"
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    assert "How to cite" in readme and "CITATION.cff" in readme


def test_dates_are_the_first_release_and_the_served_version(app):
    """`dcterms:issued` is the first recorded release's date and `dcterms:modified` the instant
    of the data version served, the one the pages' Last-Modified gives, in every description of
    the dataset (issue #16; docs/linked-data.md)."""
    from email.utils import parsedate_to_datetime

    from ikmkg.releases import list_releases

    client = app.test_client()
    settings = app.config["IKMKG_SETTINGS"]
    releases = list_releases(settings)
    assert releases, "the shipped project records its releases"
    d = dataset_iri(settings.base_uri)
    stamp = parsedate_to_datetime(client.get("/doc/dataset/ikmkg.ttl").headers["Last-Modified"])
    for path in ("/.well-known/void", "/dumps/", "/doc/dataset/ikmkg"):
        response = client.get(path, headers={"Accept": "text/turtle"})
        assert response.status_code == 200, path
        g = Graph().parse(data=response.data, format="turtle")
        assert list(g.objects(d, DCTERMS.issued)) == [
            Literal(releases[0].date.isoformat(), datatype=XSD.date)], path
        modified = list(g.objects(d, DCTERMS.modified))
        assert len(modified) == 1 and modified[0].datatype == XSD.dateTime, (path, modified)
        assert modified[0].toPython() == stamp, path
