"""Linked-data pages: 303s, content negotiation, suffix variants, caching, 404s, HTML, escaping.

Most tests run on the fixture project in tests/data/pages; the dereferencing sweep also runs on
the shipped data (skipped only while data/ holds no Turtle yet).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.compare import graph_diff, isomorphic, to_isomorphic
from rdflib.namespace import RDF, RDFS

from ikmkg import kg as kg_module
from ikmkg.settings import CANONICAL_BASE, Settings
from ikmkg.store import EmbeddedStore
from tests.conftest import TEST_DATA_DIR, make_app

FIXTURE_DIR = TEST_DATA_DIR / "pages"
ID = CANONICAL_BASE + "id/"
IKM = CANONICAL_BASE + "ontology#"
DOC = "/doc/province/jawa-timur"
PROVINCE = URIRef(ID + "province/jawa-timur")
HTML_TYPE = "text/html"
RDF_TYPES = {"ttl": "text/turtle", "nt": "application/n-triples",
             "jsonld": "application/ld+json", "rdf": "application/rdf+xml"}
RDFLIB_FORMATS = {"text/turtle": "turtle", "application/n-triples": "nt",
                  "application/ld+json": "json-ld", "application/rdf+xml": "xml"}
SUFFIXES = tuple(f".{suffix}" for suffix in ("html", *RDF_TYPES))
RAPPER_FORMATS = {"text/turtle": "turtle", "application/n-triples": "ntriples",
                  "application/rdf+xml": "rdfxml"}


@pytest.fixture(scope="module")
def fixture_store() -> EmbeddedStore:
    return EmbeddedStore(kg_module.load(Settings(project_dir=str(FIXTURE_DIR))))


@pytest.fixture(scope="module")
def fixture_app(fixture_store):
    app = make_app(fixture_store, project_dir=str(FIXTURE_DIR))
    app.config["TESTING"] = True
    return app


@pytest.fixture()
def web(fixture_app):
    return fixture_app.test_client()


def media_type(response) -> str:
    return response.headers["Content-Type"].split(";")[0].strip()


def parse(response) -> Graph:
    return Graph().parse(data=response.data, format=RDFLIB_FORMATS[media_type(response)])


class Links(HTMLParser):
    """Collects hrefs, ids and `<link rel=alternate>` of an HTML page."""

    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()
        self.alternates: list[tuple[str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            assert attrs["id"] not in self.ids, f"duplicate id {attrs['id']!r}"
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])
        if tag == "link" and attrs.get("rel") == "alternate":
            self.alternates.append((attrs.get("type", ""), attrs.get("href", "")))

    def handle_data(self, data):
        self.text.append(data)


def links_of(response) -> Links:
    parser = Links()
    parser.feed(response.get_data(as_text=True))
    return parser


# --- 303 and negotiation ---------------------------------------------------------------------


@pytest.mark.parametrize("path,location", [
    ("/id/province/jawa-timur", "/doc/province/jawa-timur"),
    ("/id/province/jawa-timur?lang=id", "/doc/province/jawa-timur?lang=id"),
    ("/id/dataset/ikmkg", "/doc/dataset/ikmkg"),
    ("/id/code/iso-3166-2/ID-JI", "/doc/code/iso-3166-2/ID-JI"),
])
def test_identifier_redirects_303_to_its_document(web, path, location):
    response = web.get(path, headers={"Accept": "text/turtle"})
    assert response.status_code == 303
    assert response.headers["Location"] == location


@pytest.mark.parametrize("accept,expected", [
    (None, HTML_TYPE),
    ("*/*", HTML_TYPE),
    ("text/html", HTML_TYPE),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", HTML_TYPE),
    ("text/turtle", "text/turtle"),
    ("text/turtle;q=0.9, application/rdf+xml", "application/rdf+xml"),
    ("application/rdf+xml;q=0.5, text/turtle;q=0.8", "text/turtle"),
    ("application/n-triples", "application/n-triples"),
    ("application/ld+json", "application/ld+json"),
    ("application/json", "application/ld+json"),
    ("application/rdf+xml", "application/rdf+xml"),
    ("text/html;q=0.1, text/turtle", "text/turtle"),
    ("text/*", HTML_TYPE),
    ("text/turtle;q=0, */*;q=0.1", HTML_TYPE),
    ("application/ld+json;q=1.0, text/html;q=0.99", "application/ld+json"),
])
def test_document_negotiates_on_accept(web, accept, expected):
    headers = {"Accept": accept} if accept is not None else {}
    response = web.get(DOC, headers=headers)
    assert response.status_code == 200
    assert media_type(response) == expected
    assert "Accept" in response.headers["Vary"]
    suffix = "html" if expected == HTML_TYPE else next(
        s for s, t in RDF_TYPES.items() if t == expected)
    assert response.headers["Content-Location"] == f"{DOC}.{suffix}"


@pytest.mark.parametrize("accept", ["image/png", "text/csv", "application/pdf, text/plain"])
def test_unsatisfiable_accept_is_406(web, accept):
    response = web.get(DOC, headers={"Accept": accept})
    assert response.status_code == 406
    assert f"<{DOC}.ttl>" in response.headers["Link"]


def test_link_header_lists_every_variant(web):
    response = web.get(DOC, headers={"Accept": "text/turtle"})
    link = response.headers["Link"]
    for suffix, mime in {"html": HTML_TYPE, **RDF_TYPES}.items():
        assert f'<{DOC}.{suffix}>; rel="alternate"; type="{mime}"' in link


def test_html_head_advertises_rdf_twins(web):
    page = links_of(web.get(DOC))
    assert sorted(page.alternates) == sorted((mime, f"{DOC}.{suffix}")
                                             for suffix, mime in RDF_TYPES.items())


@pytest.mark.parametrize("suffix,mime", [("html", HTML_TYPE), *RDF_TYPES.items()])
def test_suffix_variants_are_served_directly(web, suffix, mime):
    response = web.get(f"{DOC}.{suffix}", headers={"Accept": "image/png"})
    assert response.status_code == 200
    assert media_type(response) == mime
    assert "Content-Location" not in response.headers


def test_every_rdf_format_carries_the_same_graph(web):
    graphs = {suffix: parse(web.get(f"{DOC}.{suffix}")) for suffix in RDF_TYPES}
    reference = graphs.pop("nt")
    assert (PROVINCE, RDF.type, URIRef(IKM + "Province")) in reference
    for suffix, graph in graphs.items():
        if not isomorphic(graph, reference):
            _, only_here, only_nt = graph_diff(to_isomorphic(graph), to_isomorphic(reference))
            pytest.fail(f"{suffix} differs from N-Triples:\n only in {suffix}: "
                        f"{sorted(only_here)}\n only in nt: {sorted(only_nt)}")


# --- caching ---------------------------------------------------------------------------------


def test_etag_and_304(web):
    first = web.get(DOC, headers={"Accept": "text/turtle"})
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"].startswith("public")
    assert first.headers["Last-Modified"]
    again = web.get(DOC, headers={"Accept": "text/turtle", "If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    other = web.get(DOC, headers={"Accept": "text/html", "If-None-Match": etag})
    assert other.status_code == 200, "an ETag must not match another representation"
    assert other.headers["ETag"] != etag


def test_if_modified_since(web):
    first = web.get(f"{DOC}.ttl")
    since = first.headers["Last-Modified"]
    assert web.get(f"{DOC}.ttl", headers={"If-Modified-Since": since}).status_code == 304
    long_ago = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert web.get(f"{DOC}.ttl", headers={"If-Modified-Since": long_ago}).status_code == 200


def test_etag_changes_with_the_store_version(fixture_store):
    class NewVersion:
        base_uri = fixture_store.base_uri
        version = "another-version"

        def __getattr__(self, name):
            return getattr(fixture_store, name)

    app_a = make_app(fixture_store, project_dir=str(FIXTURE_DIR))
    app_b = make_app(NewVersion(), project_dir=str(FIXTURE_DIR))
    etag_a = app_a.test_client().get(f"{DOC}.ttl").headers["ETag"]
    etag_b = app_b.test_client().get(f"{DOC}.ttl").headers["ETag"]
    assert etag_a != etag_b


# --- 404 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("accept,expected", [
    ("text/html", HTML_TYPE), (None, HTML_TYPE), *[(m, m) for m in RDF_TYPES.values()]])
@pytest.mark.parametrize("path", ["/doc/province/atlantis", "/doc/nothing-here/x",
                                  "/doc/province/atlantis.ttl"])
def test_unknown_iri_is_404_in_the_negotiated_format(web, path, accept, expected):
    if path.endswith(".ttl"):
        expected = "text/turtle"
    response = web.get(path, headers={"Accept": accept} if accept else {})
    assert response.status_code == 404
    assert media_type(response) == expected
    if expected == HTML_TYPE:
        assert "<h1>404" in response.get_data(as_text=True)
    else:
        assert len(parse(response)) == 0


@pytest.mark.parametrize("accept,expected", [("text/html", HTML_TYPE),
                                             ("text/turtle", "text/turtle")])
def test_id_of_unknown_thing_is_404_at_once(web, accept, expected):
    """Issue #17: 303 only for things the graph describes; no redirect to a 404."""
    response = web.get("/id/province/atlantis", headers={"Accept": accept})
    assert response.status_code == 404
    assert "Location" not in response.headers
    assert media_type(response) == expected
    assert web.get("/id/province/jawa-timur").status_code == 303


def test_list_of_unknown_type_is_404(web):
    assert web.get("/list/atlantis").status_code == 404
    assert web.get("/list/atlantis", headers={"Accept": "text/turtle"}).status_code == 404


# --- HTML for people -------------------------------------------------------------------------


@pytest.mark.parametrize("headers,query,label,lang", [
    ({"Accept-Language": "id"}, "", "Provinsi uji", "id"),
    ({"Accept-Language": "en-GB,en;q=0.8"}, "", "Test province", "en"),
    ({"Accept-Language": "id-ID,id;q=0.9,en;q=0.5"}, "", "Provinsi uji", "id"),
    ({"Accept-Language": "fr"}, "", "Test province", "en"),
    ({}, "", "Test province", "en"),
    ({"Accept-Language": "id"}, "?lang=en", "Test province", "en"),
    ({"Accept-Language": "en"}, "?lang=id", "Provinsi uji", "id"),
])
def test_page_label_follows_the_reader_language(web, headers, query, label, lang):
    response = web.get(DOC + query, headers=headers)
    text = response.get_data(as_text=True)
    assert f"<h1>{label}</h1>" in text
    assert f'<html lang="{lang}">' in text
    assert response.headers["Content-Language"] == lang


def test_language_toggle_is_visible_and_kept_in_links(web):
    page = links_of(web.get(DOC))
    assert f"{DOC}?lang=id" in page.hrefs
    explicit = links_of(web.get(DOC + "?lang=id"))
    assert "/doc/engagement/2013-2016--jawa-timur?lang=id" in explicit.hrefs
    assert "/?lang=id" in explicit.hrefs
    assert f"{DOC}?lang=en" in explicit.hrefs


def test_lang_parameter_filters_rdf_literals(web):
    graph = parse(web.get(f"{DOC}.ttl?lang=en"))
    assert (PROVINCE, RDFS.label, Literal("Test province", lang="en")) in graph
    assert (PROVINCE, RDFS.label, Literal("Provinsi uji", lang="id")) not in graph
    full = parse(web.get(f"{DOC}.ttl"))
    assert (PROVINCE, RDFS.label, Literal("Provinsi uji", lang="id")) in full
    engagement = parse(web.get("/doc/engagement/2013-2016--jawa-timur.nt?lang=en"))
    title = URIRef("http://purl.org/dc/terms/title")
    assert list(engagement.objects(None, title)) == [Literal("Judul artikel uji", lang="id")], \
        "fallback: a title only in Indonesian stays"


def test_engagement_page_shows_relations_and_provenance(web):
    response = web.get("/doc/engagement/2013-2016--jawa-timur")
    text = response.get_data(as_text=True)
    page = links_of(response)
    assert "/doc/province/jawa-timur" in page.hrefs
    assert "/ontology#province" in page.hrefs
    assert '<blockquote lang="id"><p>Kalimat sumber uji nomor satu.</p></blockquote>' in text
    assert "Judul artikel uji" in text and "2017-12-26" in text and "Test speaker" in text


def test_province_page_shows_codes_and_referenced_by(web):
    text = web.get(DOC).get_data(as_text=True)
    assert "<code>ID-JI</code></a> <span class=\"scheme\">ISO 3166-2 (test)</span>" in text
    assert "Referenced by" in text
    assert 'href="/doc/engagement/2013-2016--jawa-timur"' in text


def test_external_links_are_marked(web):
    text = web.get("/doc/country/indonesia").get_data(as_text=True)
    assert ('<a href="http://www.wikidata.org/entity/Q252" class="external" '
            'rel="external nofollow">Wikidata Q252') in text


def test_nav_has_home_query_ontology_dumps(web):
    hrefs = links_of(web.get("/")).hrefs
    for path in ("/", "/sparql", "/ontology", "/dumps/"):
        assert path in hrefs


def test_home_page_counts_and_links_to_every_list(web):
    response = web.get("/")
    assert response.status_code == 200
    page = links_of(response)
    for segment in ("province", "engagement", "product", "code", "phase"):
        assert f"/list/{segment}" in page.hrefs
    text = response.get_data(as_text=True)
    assert "Test phase" in text and "1 engagements" in text
    assert any(h.startswith("/sparql?query=") for h in page.hrefs)
    assert "https://w3id.org/ikmkg/id/dataset/ikmkg" in text


def test_list_page_shows_provinces_with_their_engagements(web):
    for path in ("/list/province", "/doc/province/"):
        response = web.get(path)
        assert response.status_code == 200
        page = links_of(response)
        assert {DOC, "/doc/province/hostile", "/doc/engagement/2013-2016--jawa-timur"} <= set(
            page.hrefs)


def test_ontology_page_documents_every_term(web, fixture_store):
    response = web.get("/ontology")
    assert response.status_code == 200
    page = links_of(response)
    from rdflib.namespace import OWL
    onto = kg_module.load(Settings(project_dir=str(FIXTURE_DIR))).ontology
    terms = {str(s) for t in (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty)
             for s in onto.subjects(RDF.type, t)}
    assert len(terms) > 20
    for term in terms:
        assert term.split("#")[-1] in page.ids, term
    text = response.get_data(as_text=True)
    assert "Provinsi" in text and "Province" in text
    shapes = links_of(web.get("/shapes"))  # the shapes have their page (issue #17 item 11)
    assert "ProvinceShape" in shapes.ids and "EngagementShape" in shapes.ids
    indonesian = web.get("/ontology?lang=id").get_data(as_text=True)
    assert "Wilayah tingkat pertama." in indonesian and "Kelas" in indonesian


@pytest.mark.parametrize("path,mime,graph_name", [
    ("/ontology.ttl", "text/turtle", "ontology"),
    ("/shapes.nt", "application/n-triples", "shapes"),
    ("/ontology.rdf", "application/rdf+xml", "ontology"),
    ("/shapes.jsonld", "application/ld+json", "shapes"),
])
def test_ontology_and_shapes_documents_are_their_graphs(web, path, mime, graph_name):
    response = web.get(path)
    assert media_type(response) == mime
    expected = getattr(kg_module.load(Settings(project_dir=str(FIXTURE_DIR))), graph_name)
    assert isomorphic(parse(response), expected)


@pytest.mark.parametrize("path", ["/ontology", "/shapes", "/doc/ontology"])
def test_vocabulary_documents_negotiate(web, path):
    html = web.get(path, headers={"Accept": "text/html"})
    assert media_type(html) == HTML_TYPE and "Accept" in html.headers["Vary"]
    turtle = web.get(path, headers={"Accept": "text/turtle"})
    assert media_type(turtle) == "text/turtle"
    assert turtle.headers["Content-Location"].endswith(".ttl")


# --- escaping --------------------------------------------------------------------------------


def test_hostile_label_is_escaped(web):
    text = web.get("/doc/province/hostile").get_data(as_text=True)
    assert "<script>alert" not in text and "<b>jahat</b>" not in text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &#34;quotes&#34;" in text
    listing = web.get("/list/province").get_data(as_text=True)
    assert "<script>alert" not in listing


@pytest.mark.parametrize("path", [
    "/doc/province/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "/doc/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E/x",
    "/doc/province/jawa-timur?lang=%3Cscript%3E&x=%22%3E%3Cscript%3E",
    "/list/province?page=%3Cscript%3E&x=%22%3E%3Cscript%3E",
    "/?lang=%22%3E%3Cscript%3Ealert(1)%3C/script%3E",
    "/ontology?x=%22%3E%3Cscript%3E",
    "/doc/province/a%22b%7Bc%7D",
])
def test_hostile_paths_and_query_strings_are_escaped(web, path):
    response = web.get(path, headers={"Accept": "text/html"})
    assert response.status_code in (200, 400, 404)
    text = response.get_data(as_text=True)
    assert "<script>" not in text and "<img src=x" not in text


# --- the published base and mounting ---------------------------------------------------------


def test_paths_map_to_iris_under_the_configured_base():
    settings = Settings(project_dir=str(FIXTURE_DIR), base_uri="http://localhost/")
    store = EmbeddedStore(kg_module.load(settings))
    app = make_app(store, project_dir=str(FIXTURE_DIR), base_uri="http://localhost/")
    graph = parse(app.test_client().get("/doc/province/jawa-timur.ttl"))
    assert (URIRef("http://localhost/id/province/jawa-timur"), RDF.type,
            URIRef("http://localhost/ontology#Province")) in graph


def test_links_follow_the_mount_point():
    base = "http://localhost/kg/"
    settings = Settings(project_dir=str(FIXTURE_DIR), base_uri=base)
    store = EmbeddedStore(kg_module.load(settings))
    app = make_app(store, project_dir=str(FIXTURE_DIR), base_uri=base)
    client = app.test_client()
    response = client.get("/id/province/jawa-timur", base_url="http://localhost/kg/")
    assert response.headers["Location"] == "/kg/doc/province/jawa-timur"
    page = client.get("/doc/province/jawa-timur", base_url="http://localhost/kg/")
    hrefs = links_of(page).hrefs
    assert "/kg/doc/engagement/2013-2016--jawa-timur" in hrefs
    assert "/kg/ontology#Province" in hrefs


# --- every IRI under the base dereferences (fixture and shipped data) -------------------------


def published_iris(store) -> set[str]:
    rows = store.select("SELECT DISTINCT ?x WHERE { { ?x ?p ?o } UNION { ?s ?x ?o } UNION "
                        "{ ?s ?p ?x } FILTER(isIRI(?x)) }")
    return {str(row["x"]) for row in rows if str(row["x"]).startswith(store.base_uri)}


def request_path(iri: str, base: str) -> tuple[str, str]:
    """The path to GET for `iri` and the fragment the page must hold ("" if none)."""
    rest, _, fragment = iri[len(base):].partition("#")
    return "/" + rest, fragment


@pytest.fixture(scope="module", params=["fixture", "shipped"])
def published(request, fixture_store):
    if request.param == "fixture":
        return fixture_store, make_app(fixture_store, project_dir=str(FIXTURE_DIR))
    settings = Settings()
    if not list(settings.data_dir.glob("*.ttl")) or not (settings.ontology_dir
                                                         / kg_module.SHAPES_FILE).is_file():
        pytest.skip("the shipped ontology, shapes or data are not written yet")
    store = EmbeddedStore(kg_module.load(settings))
    return store, make_app(store)


def test_every_published_iri_dereferences_in_every_format(published):
    store, app = published
    client = app.test_client()
    iris = published_iris(store)
    assert len(iris) > 10
    anchors: dict[str, set[str]] = {}
    batches: dict[str, list[bytes]] = {}
    # RDF/XML documents cannot be concatenated: rapper runs on each, beside the requests.
    pool = ThreadPoolExecutor(max_workers=2)
    rapper_runs = []
    checked = 0
    for iri in sorted(iris):
        path, fragment = request_path(iri, store.base_uri)
        if fragment:
            if path not in anchors:
                anchors[path] = links_of(client.get(path, headers={"Accept": "text/html"})).ids
            assert fragment in anchors[path], f"{iri}: no anchor #{fragment} on {path}"
            continue
        response = client.get(path, headers={"Accept": "text/turtle"})
        if response.status_code == 303:
            path = response.headers["Location"]
        elif path.startswith("/id/"):
            pytest.fail(f"{iri}: {response.status_code}, expected 303")
        for mime in (HTML_TYPE, *RDF_TYPES.values()):
            response = client.get(path, headers={"Accept": mime})
            assert response.status_code == 200, f"{iri} as {mime}: {response.status_code}"
            assert media_type(response) == mime
            if mime == HTML_TYPE:
                continue
            graph = parse(response)
            if path.startswith("/doc/"):
                assert (URIRef(iri), None, None) in graph or (None, None, URIRef(iri)) in graph
            if mime == "application/rdf+xml":
                rapper_runs.append(pool.submit(rapper_check, response.data, mime, iri))
            elif mime in RAPPER_FORMATS:
                batches.setdefault(mime, []).append(response.data)
        checked += 1
    assert checked > 10
    # Turtle and N-Triples documents stay valid when concatenated: one rapper run per format.
    for mime, documents in batches.items():
        rapper_check(b"\n".join(documents), mime, store.base_uri)
    for run in rapper_runs:
        run.result()
    pool.shutdown()


#: IRIs under the base that name a file, a report or a service rather than a described thing
#: (dumps, a release's validation report, the SPARQL and fragments interfaces): they must answer
#: 200, with the file or the service's own answer (which need not mention the IRI).
NOT_DESCRIBED = ("dumps/", "releases/", "sparql", "fragments")


def test_every_minted_iri_has_a_document_that_mentions_it(published):
    """Every IRI under the base that the graph or the dataset's VoID/DCAT uses (subjects,
    predicates, objects, classes, the ontology's namespace `ontology#`) dereferences, through
    the 303 where it is a thing, to a document with a triple about it (issue #16)."""
    store, app = published
    client = app.test_client()
    base = store.base_uri
    void = client.get("/doc/dataset/ikmkg", headers={"Accept": "application/n-triples"})
    assert void.status_code == 200
    mentioned = {str(term) for triple in parse(void) for term in triple
                 if isinstance(term, URIRef) and str(term).startswith(base)}
    iris = published_iris(store) | mentioned
    assert base + "ontology#" in iris
    documents: dict[str, Graph] = {}
    for iri in sorted(iris):
        path, _ = request_path(iri, base)
        if path not in documents:
            response = client.get(path, headers={"Accept": "application/n-triples"})
            if response.status_code == 303:
                response = client.get(response.headers["Location"],
                                      headers={"Accept": "application/n-triples"})
            assert response.status_code == 200, f"{iri}: {path} answers {response.status_code}"
            if iri[len(base):].startswith(NOT_DESCRIBED):
                documents[path] = Graph()
            else:
                assert media_type(response) == "application/n-triples", (
                    f"{iri}: {path} answers {media_type(response)} to a request for N-Triples")
                documents[path] = parse(response)
        if iri[len(base):].startswith(NOT_DESCRIBED):
            continue
        graph, node = documents[path], URIRef(iri)
        assert (node, None, None) in graph or (None, None, node) in graph, (
            f"{iri}: its document {path} has no triple about it")


def rapper_check(data: bytes, mime: str, base: str) -> None:
    """Parse with rapper (raptor2-utils), an independent parser; skipped where it is absent."""
    if not shutil.which("rapper"):
        assert not os.environ.get("CI"), "CI must install rapper (raptor2-utils)"
        return
    run = subprocess.run(["rapper", "-q", "-i", RAPPER_FORMATS[mime], "-c", "-", base],
                         input=data, capture_output=True, timeout=60, check=False)
    assert run.returncode == 0, f"rapper on {base} as {mime}: {run.stderr!r}"


def test_every_resource_is_reachable_by_clicking_from_home(published):
    store, app = published
    client = app.test_client()
    seen: set[str] = set()
    queue = ["/"]
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        assert response.status_code == 200, f"{url}: {response.status_code}"
        for href in links_of(response).hrefs:
            target = urlsplit(urljoin("http://localhost" + url, href))
            if target.netloc != "localhost" or not target.path.startswith(
                    ("/doc/", "/list/", "/ontology")):
                continue
            if target.query and "page=" not in target.query:
                continue  # the same page in another language
            if target.path.endswith(SUFFIXES):
                continue  # the page's RDF twins (tested in the sweep above)
            queue.append(target.path + (f"?{target.query}" if target.query else ""))
    typed = {s for row in store.select("SELECT DISTINCT ?s WHERE { ?s a ?c }")
             if str(s := row["s"]).startswith(store.base_uri + "id/")}
    reached = {store.base_uri + "id/" + url[len("/doc/"):] for url in seen
               if url.startswith("/doc/")}
    missing = sorted(str(s) for s in typed if str(s) not in reached)
    assert not missing, f"not reachable from the home page: {missing[:20]}"


def test_last_modified_is_not_in_the_future(web):
    stamp = web.get("/").headers["Last-Modified"]
    when = dt.datetime.strptime(stamp, "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=dt.UTC)
    assert when <= dt.datetime.now(dt.UTC)


def test_list_pages_are_paged(fixture_app, monkeypatch):
    from ikmkg.web import pages

    monkeypatch.setattr(pages, "LIST_PAGE_SIZE", 1)
    client = fixture_app.test_client()
    first = links_of(client.get("/list/province?lang=en"))
    second = links_of(client.get("/list/province?lang=en&page=2"))
    assert "/doc/province/hostile?lang=en" in first.hrefs
    assert DOC + "?lang=en" not in first.hrefs
    assert DOC + "?lang=en" in second.hrefs
    assert "/list/province?lang=en&page=2" in first.hrefs
    assert "/list/province?lang=en&page=1" in second.hrefs


@pytest.mark.parametrize("path,current", [
    ("/", "/"), ("/map", "/map"), ("/timeline", "/timeline"), ("/sparql", "/sparql"),
    ("/dumps/", "/dumps/"), ("/ontology", "/ontology"), (DOC, None),
])
def test_navigation_marks_the_current_page(web, path, current):
    """Exactly the nav link of the section a page belongs to carries aria-current="page"."""
    from bs4 import BeautifulSoup

    response = web.get(path, headers={"Accept": "text/html"})
    assert response.status_code == 200, path
    nav = BeautifulSoup(response.data, "html.parser").select_one("header.site nav")
    marked = [a["href"] for a in nav.select('a[aria-current="page"]')]
    assert marked == ([] if current is None else [current])


def test_page_cache_is_bounded_by_entries_and_bytes(fixture_app):
    """Least recently used first out, when there are more entries or more bytes (keys and values)
    than the bounds; a hit does not recompute."""
    from ikmkg.web.documents import PageCache, approximate_size

    calls = []

    def value(text):
        def compute():
            calls.append(text)
            return text
        return compute

    with fixture_app.app_context():
        base = fixture_app.extensions["ikmkg_store"].base_uri

        def weight(key, text):
            return approximate_size((base, key)) + approximate_size(text)

        cache = PageCache(size=3, max_bytes=2 * weight("a", "aaaa") + weight("d", "d"))
        for key in "abc":
            cache.get((key,), value(key * 4))          # three do not fit: "a" goes
        assert len(cache.items) == 2 and cache.bytes == 2 * weight("b", "bbbb")
        assert cache.get(("b",), value("x")) == "bbbb"  # a hit, now the most recent
        cache.get(("d",), value("d"))                   # 3 entries, all fit
        cache.get(("e",), value("e"))                   # 4 entries > 3: "c" goes, not "b"
        assert [k[-1] for k in cache.items] == ["b", "d", "e"]
        assert cache.bytes == weight("b", "bbbb") + weight("d", "d") + weight("e", "e")
        assert cache.get(("a",), value("aaaa")) == "aaaa"  # recomputed after eviction
        assert calls == ["aaaa", "bbbb", "cccc", "d", "e", "aaaa"]


@pytest.mark.parametrize("page", ["\u00b2", "9" * 5000, "0", "-1", "abc", "1.5"])
def test_list_bad_page_is_a_clear_400(web, page):
    """issue 20: "page=\u00b2" and a 5,000-digit page were 500s with a traceback."""
    response = web.get("/list/province", query_string={"page": page},
                       headers={"Accept": "text/html"})
    assert response.status_code == 400
    assert "page must be an integer" in response.get_data(as_text=True)


def test_page_cache_counts_the_bytes_of_its_keys(fixture_app):
    """A long key costs its length even when its value is small (a path is part of the key)."""
    from ikmkg.web.documents import PageCache

    with fixture_app.app_context():
        cache = PageCache(max_bytes=100_000)
        for n in range(50):
            cache.get(("exists", "/doc/" + str(n) * 8000), lambda: True)
        assert cache.bytes <= 100_000
        assert 5 <= len(cache.items) <= 12  # about 8 KB a key: the bytes bound holds


def test_page_cache_weighs_graphs_headers_and_bodies():
    from rdflib import Graph, Literal, URIRef

    from ikmkg.web.documents import GRAPH_TRIPLE_BYTES, approximate_size

    graph = Graph()
    for n in range(100):
        graph.add((URIRef(f"http://example.org/{n}"), URIRef("http://example.org/p"), Literal(n)))
    assert approximate_size(graph) >= 100 * GRAPH_TRIPLE_BYTES
    headers = {"Link": "x" * 40_000, "Vary": "Accept"}
    assert approximate_size((True, "etag", headers)) > 40_000
    assert approximate_size(b"y" * 10_000) > 10_000


def test_missing_documents_are_not_cached_per_path(fixture_app):
    """Made-up paths must not fill the page cache: only what exists is remembered (issue #20)."""
    from ikmkg.web.documents import page_cache

    client = fixture_app.test_client()
    client.get(DOC)
    before = len(page_cache.items)
    for n in range(20):
        for path in (f"/doc/province/missing-{n}", f"/doc/province/missing-{n}.ttl",
                     f"/ontology/missing-{n}", f"/graph/missing-{n}"):
            assert client.get(path, headers={"Accept": "text/turtle"}).status_code == 404
    assert len(page_cache.items) == before
