"""Search: folding and stemming, ranking tiers, facets, the shipped examples, the web API."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from conftest import TEST_DATA_DIR

from ikmkg import kg as kg_module
from ikmkg import search
from ikmkg.settings import Settings
from ikmkg.store import EmbeddedStore

BASE = "https://w3id.org/ikmkg/"
IKM = BASE + "ontology#"


def ids(results: search.Results) -> list[str]:
    return [hit.entry.iri.removeprefix(BASE + "id/") for hit in results.hits]


@pytest.fixture(scope="module")
def fixture_index() -> search.SearchIndex:
    graph = kg_module.load(Settings(), files=[TEST_DATA_DIR / "search" / "ranking.ttl"])
    return search.SearchIndex.build(EmbeddedStore(graph))


@pytest.fixture(scope="module")
def index(store) -> search.SearchIndex:
    return search.index_for(store)


@pytest.mark.parametrize("text,folded", [
    ("Jawa Timur", "jawa timur"),
    ("Crème  Brûlée", "creme brulee"),
    ("Kab. Dogiyai", "kab dogiyai"),
    ("olahan lidah buaya (aloe vera)", "olahan lidah buaya aloe vera"),
    ("Sumatra–Utara", "sumatra utara"),
])
def test_fold(text, folded):
    assert search.fold(text) == folded


def test_indonesian_stems_meet():
    assert "olah" in search.stems("pengolahan") and "olah" in search.stems("olahan")
    assert "tenun" in search.stems("pertenunan")


def test_ranking_tiers(fixture_index):
    """Exact label > alternative label > label prefix > label words > stem > description."""
    results = fixture_index.search("tenun", types=[IKM + "ProductCategory"])
    assert ids(results) == ["product/exact", "product/alternative", "product/prefix",
                            "product/token", "product/stem", "product/description"]
    tiers = [hit.tier for hit in results.hits]
    assert tiers == sorted(tiers, reverse=True) and tiers[0] == 4 and tiers[-1] == 1


def test_english_label_and_prefix(fixture_index):
    assert ids(fixture_index.search("weaving"))[0] == "product/exact"
    assert ids(fixture_index.search("ikat weav"))[0] == "product/prefix"
    assert ids(fixture_index.search("creme brulee")) == ["product/accents"]
    assert ids(fixture_index.search("CRÈME"))[0] == "product/accents"


def test_facets_count_before_the_type_filter(fixture_index):
    everything = fixture_index.search("tenun")
    assert dict(everything.facets) == {IKM + "ProductCategory": 6, IKM + "Province": 1}
    provinces = fixture_index.search("tenun", types=[IKM + "Province"])
    assert ids(provinces) == ["province/elsewhere"]
    assert provinces.total == 1 and dict(provinces.facets) == dict(everything.facets)


def test_every_word_must_match(fixture_index):
    assert ids(fixture_index.search("tenun songket")) == ["product/description"]
    assert fixture_index.search("tenun zzzz").total == 0
    assert fixture_index.search("").total == 0 and fixture_index.search("  !! ").total == 0


def test_paging(fixture_index):
    first = fixture_index.search("tenun", limit=2)
    second = fixture_index.search("tenun", limit=2, offset=2)
    assert first.total == second.total == 7
    assert len(first.hits) == len(second.hits) == 2
    assert not set(ids(first)) & set(ids(second))


def test_rebuilt_when_the_version_changes(store):
    class Versioned:
        base_uri = store.base_uri

        def __init__(self):
            self.version = "one"
            self.selects = 0

        def select(self, sparql):
            self.selects += 1
            return store.select(sparql)

    wrapped = Versioned()
    first = search.index_for(wrapped)
    calls = wrapped.selects
    assert search.index_for(wrapped) is first and wrapped.selects == calls
    wrapped.version = "two"
    assert search.index_for(wrapped) is not first and wrapped.selects == 2 * calls


# The shipped graph: the examples of issue 9, in both languages ----------------------------

@pytest.mark.parametrize("query,types,first", [
    ("kopi", ["ProductCategory"], "product/pengolahan-kopi"),
    ("pengolahan kopi", [], "product/pengolahan-kopi"),
    ("coffee processing", [], "product/pengolahan-kopi"),
    ("Sulsel", [], "province/sulawesi-selatan"),
    ("sulsel", ["Province"], "province/sulawesi-selatan"),
    ("South Sulawesi", [], "province/sulawesi-selatan"),
    ("Jatim", [], "province/jawa-timur"),
    ("jawa tim", ["Province"], "province/jawa-timur"),
    ("aloe vera", [], "product/olahan-lidah-buaya"),
    ("lidah buaya", ["ProductCategory"], "product/olahan-lidah-buaya"),
    ("Sumatra Utara", [], "province/sumatera-utara"),
    ("Kemenperin", [], "organisation/kemenperin"),
    ("Babel", [], "province/kepulauan-bangka-belitung"),
])
def test_shipped_examples(index, query, types, first):
    results = index.search(query, types=[IKM + t for t in types])
    assert ids(results)[:1] == [first], ids(results)[:5]


def test_morphology_finds_both_forms(index):
    found = ids(index.search("olah", types=[IKM + "ProductCategory"]))
    assert "product/pengolahan-kopi" in found and "product/olahan-lidah-buaya" in found


def test_abbreviations_point_at_labels_in_the_graph(index):
    """Every expansion of the curated table is the label of a province in the graph."""
    labels = {search.fold(text) for entry in index.entries.values()
              if IKM + "Province" in entry.types for text, _, _ in entry.labels}
    missing = {k: v for k, v in search.ABBREVIATIONS.items() if search.fold(v) not in labels}
    assert len(search.ABBREVIATIONS) >= 20 and not missing


def test_organisations_found_through_org_superclasses(index):
    results = index.search("jica", types=["http://www.w3.org/ns/org#Organization"])
    assert "organisation/jica" in ids(results)


# The web API -----------------------------------------------------------------------------

def test_json_api(client):
    response = client.get("/search?q=Sulsel&format=json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    assert body["query"] == "Sulsel" and body["total"] >= 1
    top = body["results"][0]
    assert top["iri"] == BASE + "id/province/sulawesi-selatan"
    assert top["url"] == "/doc/province/sulawesi-selatan" and top["match"] == "label"
    assert {f["iri"]: f["count"] for f in body["facets"]}[IKM + "Province"] == 1


def test_json_by_accept_and_type_filter(client):
    response = client.get("/search", query_string={"q": "kopi", "type": IKM + "ProductCategory"},
                          headers={"Accept": "application/json"})
    body = response.get_json()
    assert [r["iri"] for r in body["results"]] == [BASE + "id/product/pengolahan-kopi"]
    assert body["types"] == [IKM + "ProductCategory"]


def test_html_page_links_to_documents(client):
    response = client.get("/search?q=aloe+vera&lang=id")
    assert response.status_code == 200 and response.mimetype == "text/html"
    soup = BeautifulSoup(response.data, "html.parser")
    first = soup.select_one("ol.search-results li a")
    assert first["href"] == "/doc/product/olahan-lidah-buaya?lang=id"
    assert first.get_text() == "olahan lidah buaya (aloe vera)"
    assert soup.select_one("nav.facets") is not None
    assert soup.select_one("#site-search")["value"] == "aloe vera"


def test_query_is_escaped(client):
    evil = '<script>alert("x")</script>"><img src=x onerror=alert(1)>'
    response = client.get("/search", query_string={"q": evil})
    html = response.get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html
    soup = BeautifulSoup(html, "html.parser")
    assert soup.select_one("#site-search")["value"] == evil
    assert evil in soup.select_one("p.search-summary q").get_text()


def test_search_box_on_other_pages(client):
    for path in ("/", "/doc/province/jawa-timur", "/sparql"):
        page = client.get(path, headers={"Accept": "text/html"})
        soup = BeautifulSoup(page.data, "html.parser")
        form = soup.select_one("form.search-box")
        assert form is not None and form["action"] == "/search", path
        assert soup.select_one("#site-search").get("value", "") == "", path


def test_empty_query(client):
    assert client.get("/search").status_code == 200
    assert client.get("/search?q=kopi&page=&format=json").get_json()["page"] == 1
    assert client.get("/search?q=" + "a" * 5000).status_code == 200


@pytest.mark.parametrize("page", ["abc", "\u00b2", "\u0661", "9" * 5000, "0", "-1", "1.5", "51",
                                  "NaN", " 1"])
def test_bad_page_is_a_clear_400(client, page):
    """Not an integer from 1 to the last page: 400 naming the parameter (issue 20: "page=\u00b2" and
    a 5,000-digit page were 500s with a traceback)."""
    response = client.get("/search", query_string={"q": "kopi", "page": page,
                                                   "format": "json"})
    assert response.status_code == 400
    assert "page must be an integer" in response.get_data(as_text=True)
