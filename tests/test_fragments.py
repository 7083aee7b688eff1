"""Triple Pattern Fragments: counts and pages against an independent rdflib reading of the
files, Hydra controls, term syntax, formats, HTML; and a real TPF client, Comunica (npm, installed
into tests/comunica/ by scripts/test.sh), answering SPARQL queries from a live server's
/fragments exactly as the server's own SPARQL endpoint does."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from backends import free_port, server_log, spawn_ikmkg, stop, wait_for_server
from bs4 import BeautifulSoup
from rdflib import RDF, RDFS, XSD, BNode, Dataset, Graph, Literal, Namespace, URIRef

from ikmkg import fragments

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
VOID = Namespace("http://rdfs.org/ns/void#")
BASE = "https://w3id.org/ikmkg/"
IKM = Namespace(BASE + "ontology#")
#: Where the controls point: the configured base (default: base_uri), never the request's Host.
SITE = BASE.rstrip("/")
INTERFACE = SITE + "/fragments"


@pytest.fixture(scope="module")
def union(knowledge_graph) -> set:
    """Every triple of the three files' graphs, read by rdflib (the oracle)."""
    return {t for g in knowledge_graph.graphs().values() for t in g}


def matching(union, s=None, p=None, o=None) -> set:
    return {t for t in union if (s is None or t[0] == s) and (p is None or t[1] == p)
            and (o is None or t[2] == o)}


def url(**params) -> str:
    query = "&".join(f"{k}={quote(fragments.explicit(v), safe='')}" for k, v in params.items())
    return f"/fragments?{query}" if query else "/fragments"


def fetch(client, path: str, accept: str = "application/trig") -> Dataset:
    response = client.get(path, headers={"Accept": accept})
    assert response.status_code == 200, response.data
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    ds = Dataset()
    ds.parse(data=response.data, format="trig" if "trig" in accept else "turtle")
    return ds


def split(ds: Dataset, page_url: str) -> tuple[set, Graph]:
    meta = ds.graph(URIRef(page_url + "#metadata"))
    data = {(s, p, o) for s, p, o, g in ds.quads((None, None, None, None))
            if g is None or g == ds.default_context.identifier}
    return data, meta


def test_controls_and_count(client, union):
    path = url(predicate=RDF.type, object=IKM.Province)
    page = SITE + path
    data, meta = split(fetch(client, path), page)
    expected = matching(union, p=RDF.type, o=IKM.Province)
    assert len(expected) == 38 and data == expected
    assert meta.value(URIRef(page), HYDRA.totalItems).toPython() == 38
    assert meta.value(URIRef(page), VOID.triples).toPython() == 38
    assert meta.value(URIRef(page), HYDRA.next) is None
    interface = URIRef(INTERFACE + "#dataset")
    assert (interface, VOID.subset, URIRef(page)) in meta
    search = meta.value(interface, HYDRA.search)
    assert str(meta.value(search, HYDRA.template)) == INTERFACE + "{?subject,predicate,object}"
    assert meta.value(search, HYDRA.variableRepresentation) == HYDRA.ExplicitRepresentation
    mappings = {(str(meta.value(m, HYDRA.variable)), meta.value(m, HYDRA.property))
                for m in meta.objects(search, HYDRA.mapping)}
    assert mappings == {("subject", RDF.subject), ("predicate", RDF.predicate),
                        ("object", RDF.object)}


def test_paging_walks_every_triple_once(client, union):
    expected = matching(union, p=RDFS.label)
    assert len(expected) > 2 * fragments.PAGE_SIZE
    seen: list = []
    page = SITE + url(predicate=RDFS.label)
    pages = 0
    while page is not None:
        data, meta = split(fetch(client, page.removeprefix(SITE)), page)
        assert meta.value(URIRef(page), HYDRA.totalItems).toPython() == len(expected)
        assert len(data) <= fragments.PAGE_SIZE
        seen.extend(data)
        pages += 1
        following = meta.value(URIRef(page), HYDRA.next)
        page = str(following) if following is not None else None
    assert pages == -(-len(expected) // fragments.PAGE_SIZE)
    assert len(seen) == len(set(seen)) and set(seen) == expected


def test_whole_graph_count(client, union):
    page = INTERFACE
    data, meta = split(fetch(client, "/fragments"), page)
    assert meta.value(URIRef(page), HYDRA.totalItems).toPython() == len(union)
    assert len(data) == fragments.PAGE_SIZE
    assert str(meta.value(URIRef(page), HYDRA.next)) == page + "?page=2"


@pytest.mark.parametrize("obj", [
    Literal("Jawa Timur", lang="id"),
    Literal("1", datatype=XSD.integer),
    URIRef(BASE + "id/province/jawa-timur"),
])
def test_object_terms(client, union, obj):
    path = url(object=obj)
    data, meta = split(fetch(client, path), SITE + path)
    expected = matching(union, o=obj)
    total = meta.value(URIRef(SITE + path), HYDRA.totalItems).toPython()
    assert expected and total == len(expected)
    assert len(data) == min(total, fragments.PAGE_SIZE)
    assert named(data) <= named(expected)  # blank node labels differ between readings


def named(triples: set) -> set:
    return {t for t in triples if not any(isinstance(term, BNode) for term in t)}


def test_fully_bound_pattern(client, union):
    triple = (URIRef(BASE + "id/province/jawa-timur"), RDF.type, IKM.Province)
    path = url(subject=triple[0], predicate=triple[1], object=triple[2])
    data, meta = split(fetch(client, path), SITE + path)
    assert data == {triple}
    absent = url(subject=triple[0], predicate=triple[1], object=IKM.City)
    data, meta = split(fetch(client, absent), SITE + absent)
    assert data == set()
    assert meta.value(URIRef(SITE + absent), HYDRA.totalItems).toPython() == 0


@pytest.mark.parametrize("params", [
    "subject=%22literal%22",
    "predicate=not-an-iri",
    "subject=_:b0",
    "object=%22unterminated",
    "subject=http://example.org/a%20b",
    "object=%22x%22^^<bad%20type>",
])
def test_malformed_terms(client, params):
    assert client.get(f"/fragments?{params}", headers={"Accept": "text/turtle"}).status_code == 400


def test_turtle_merges_metadata(client):
    ds = fetch(client, url(predicate=RDF.type, object=IKM.Province), accept="text/turtle")
    assert len(list(ds.quads((None, HYDRA.totalItems, None, None)))) == 1


def test_not_acceptable(client):
    assert client.get("/fragments", headers={"Accept": "image/png"}).status_code == 406


def test_html(client):
    evil = '"<script>alert(1)</script>"@en'
    response = client.get("/fragments", query_string={"object": evil})
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "<script>alert(1)" not in html
    page = BeautifulSoup(
        client.get("/fragments" + url(predicate=RDF.type, object=IKM.Province)[10:]).data,
        "html.parser")
    assert page.select_one("#total").get_text() == "38"
    rows = page.select("table.triples tbody tr")
    assert len(rows) == 38
    doc_links = [a["href"] for a in page.select("table.triples a.doc")]
    assert "/doc/province/jawa-timur" in doc_links
    assert page.select_one("input[name=object]")["value"] == str(IKM.Province)
    # Each term links to the fragment where it stands in the same position.
    subject_link = page.select_one("table.triples tbody tr td a")["href"]
    followed = BeautifulSoup(client.get(subject_link).data, "html.parser")
    assert int(followed.select_one("#total").get_text()) > 1
    assert followed.select_one("input[name=subject]")["value"].startswith(BASE + "id/province/")


def test_etag(client):
    first = client.get("/fragments", headers={"Accept": "text/turtle"})
    again = client.get("/fragments", headers={"Accept": "text/turtle",
                                              "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


# --- a real TPF client: Comunica over a live server ---------------------------------------------

COMUNICA_DIR = Path(__file__).parent / "comunica"
COMUNICA = COMUNICA_DIR / "node_modules" / ".bin" / "comunica-sparql"
PREFIXES = ("PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
            "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
            f"PREFIX ikm: <{IKM}> ")
#: Queries that make the client evaluate a pattern, a join, a FILTER, an OPTIONAL and COUNTs
#: itself from the fragments, each with the rows it must at least give: a client that saw only
#: the first page of a fragment cannot pass.
CLIENT_QUERIES = [
    pytest.param("SELECT ?s ?n WHERE { ?s skos:notation ?n }", 2 * fragments.PAGE_SIZE + 1,
                 id="pattern"),
    pytest.param(("SELECT ?p ?label ?n WHERE { ?p a ikm:Province ; rdfs:label ?label ; "
                  "ikm:hasCode ?c . ?c skos:notation ?n }"), fragments.PAGE_SIZE + 1,
                 id="join"),
    pytest.param(('SELECT ?s ?l WHERE { ?s rdfs:label ?l FILTER(lang(?l) = "id" && '
                  'STRSTARTS(?l, "Jawa")) }'), 3, id="filter"),
    pytest.param(("SELECT ?e ?site WHERE { ?e a ikm:ProvinceEngagement "
                  "OPTIONAL { ?e ikm:site ?site } }"), 10, id="optional"),
    pytest.param(("SELECT ?scheme (COUNT(?c) AS ?n) WHERE { ?c ikm:codeScheme ?scheme } "
                  "GROUP BY ?scheme"), 2, id="count"),
    pytest.param("SELECT (COUNT(*) AS ?n) WHERE { ?s rdfs:label ?l }", 1, id="count-all"),
]


@pytest.fixture(scope="module")
def comunica() -> str:
    """The comunica-sparql command; skipped only where Node.js is absent (never in CI)."""
    if shutil.which("node") is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have Node.js for the Comunica tests (scripts/test.sh)")
        pytest.skip("Node.js is not installed: the Comunica client tests need it")
    if not COMUNICA.is_file():
        pytest.fail(f"Comunica is not installed: run `npm ci --prefix {COMUNICA_DIR}` "
                    "(scripts/test.sh does)")
    return str(COMUNICA)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory) -> Iterator[str]:
    """`ikmkg serve` on the shipped data, on a free loopback port; its log goes to a file (an
    unread pipe would block the server once the access log fills it)."""
    cache, port = tmp_path_factory.mktemp("tpf-server") / "cache", free_port()
    process = spawn_ikmkg(None, cache, port, IKMKG_PUBLIC_URL=f"http://127.0.0.1:{port}/")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(process, url + "/healthz", 90, lambda: server_log(cache))
        yield url
    finally:
        stop(process)


def _rows(results: dict) -> list[tuple]:
    """SPARQL JSON rows as a sorted list of comparable rows (a multiset)."""
    def term(t: dict) -> tuple:
        if t["type"] == "uri":
            return ("uri", t["value"])
        if t["type"] == "bnode":
            raise AssertionError("blank nodes cannot be compared across clients")
        lang = t.get("xml:lang")
        return ("literal", t["value"], (lang or "").lower(),
                None if lang else t.get("datatype", str(XSD.string)))

    return sorted(tuple(sorted((name, term(value)) for name, value in row.items()))
                  for row in results["results"]["bindings"])


@pytest.mark.server
@pytest.mark.slow
@pytest.mark.parametrize("query,at_least", CLIENT_QUERIES)
def test_comunica_over_fragments_agrees_with_the_endpoint(comunica, live_server, query,
                                                          at_least):
    """Comunica, told only the /fragments URL, finds the Hydra controls and evaluates the
    query from triple patterns; its answer equals the server's own SPARQL endpoint's."""
    text = PREFIXES + query
    run = subprocess.run([comunica, live_server + "/fragments", "-q", text,
                          "-t", "application/sparql-results+json", "--httpTimeout", "30000",
                          # /fragments admits a few requests per client at once and answers
                          # the rest 429 with Retry-After, which a TPF client honours
                          "--httpRetryCount", "20"],
                         capture_output=True, text=True, timeout=120, cwd=COMUNICA_DIR,
                         check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    by_client = json.loads(run.stdout)
    expected = requests.post(live_server + "/sparql", data={"query": text}, timeout=30,
                             headers={"Accept": "application/sparql-results+json"})
    assert expected.status_code == 200, expected.text[:500]
    rows = _rows(expected.json())
    assert len(rows) >= at_least
    assert _rows(by_client) == rows
    # It asked for fragments (a client reading /fragments as one document would see only the
    # first page of the whole graph, and the row counts above would not match).
    assert by_client["metadata"]["httpRequests"] > 1


@pytest.mark.parametrize("page", ["\u00b2", "9" * 5000, "0", "-1", "abc", "1.5", "100001"])
def test_bad_page_is_a_clear_400(client, page):
    """issue 20: "page=²" and a 5,000-digit page were 500s with a traceback."""
    response = client.get("/fragments", query_string={"page": page},
                          headers={"Accept": "application/trig"})
    assert response.status_code == 400
    assert "page must be an integer" in response.get_data(as_text=True)


def test_controls_ignore_the_host_header(client):
    """Fragments are publicly cacheable: their controls point at the configured base, never at
    the Host header a client sent (issue 20)."""
    response = client.get(url(predicate=RDF.type), headers={"Accept": "application/trig",
                                                            "Host": "evil.example"})
    assert response.status_code == 200 and b"evil.example" not in response.data
    html = client.get("/fragments", headers={"Accept": "text/html", "Host": "evil.example"})
    assert b"evil.example" not in html.data


def test_a_repeated_fragment_is_not_evaluated_again(store):
    """Counts and pages are remembered per data version: the root fragment costs seconds of
    engine time on a large graph (issue 20)."""
    asked = []

    class Counting:
        base_uri, version = store.base_uri, store.version + "-counting"

        def select(self, text):
            asked.append(text)
            return store.select(text)

    first = fragments.fragment(Counting(), None, None, None, 2, INTERFACE)
    assert len(asked) == 2
    again = fragments.fragment(Counting(), None, None, None, 2, INTERFACE)
    assert len(asked) == 2 and again.triples == first.triples and again.total == first.total
    fragments.fragment(Counting(), None, None, None, 3, INTERFACE)
    assert len(asked) == 3  # another page: its triples only, the count is remembered
