"""GET answers of /sparql and /queries/ revalidate and repeat without the engine (issue #19).

Every GET answer carries a strong ETag from the data version and the normalised request,
`Cache-Control: public, max-age=N` and `Vary: Accept`; `If-None-Match` answers 304 before
anything is evaluated; complete answers are kept per process and served again without the
store. Capped, failed and POST answers are neither kept nor marked cacheable. The app runs on
a store that counts the queries it is asked (`CountingStore`), over tests/data/sparql.
"""

from __future__ import annotations

import pytest
from conftest import make_app

MAX = 100
PROVINCES = "PREFIX ikm: <https://w3id.org/ikmkg/ontology#> SELECT ?p WHERE { ?p a ikm:Province }"
#: 300 regencies: more rows than MAX, so capped.
REGENCIES = ("PREFIX ikm: <https://w3id.org/ikmkg/ontology#> "
             "SELECT ?r WHERE { ?r ikm:province ?p }")
SRJ = "application/sparql-results+json"


class CountingStore:
    """The store, counting the queries it evaluates; `version` can be changed (a reload)."""

    def __init__(self, store):
        self._store = store
        self.queries = 0
        self.version = store.version

    def __getattr__(self, name):
        return getattr(self._store, name)

    def query(self, *args, **kwargs):
        self.queries += 1
        return self._store.query(*args, **kwargs)


@pytest.fixture()
def counted(pooled_store):
    return CountingStore(pooled_store)


def make_client(store, **overrides):
    app = make_app(store, project_dir="tests/data/sparql", max_results=MAX, **overrides)
    app.config["TESTING"] = True
    return app.test_client()


@pytest.fixture()
def client(counted):
    return make_client(counted)


def ask(client, query=PROVINCES, **headers):
    return client.get("/sparql", query_string={"query": query},
                      headers={"Accept": SRJ, **headers})


def test_get_answers_carry_validators(client):
    response = ask(client)
    assert response.status_code == 200
    etag, weak = response.get_etag()
    assert etag and not weak
    assert response.headers["Cache-Control"] == "public, max-age=60"
    assert "Accept" in response.headers["Vary"]


def test_the_etag_follows_the_request_not_its_spelling(client):
    """Same query, same format: same ETag; another format or query: another one."""
    first = ask(client).headers["ETag"]
    assert ask(client).headers["ETag"] == first
    assert ask(client, Accept="text/csv").headers["ETag"] != first
    assert ask(client, query=PROVINCES + " LIMIT 5").headers["ETag"] != first


def test_a_repeat_does_not_reach_the_store(client, counted):
    first = ask(client)
    assert counted.queries == 1
    again = ask(client)
    assert counted.queries == 1
    assert again.data == first.data and again.headers["ETag"] == first.headers["ETag"]
    assert again.mimetype == SRJ


def test_if_none_match_answers_304_without_evaluating(client, counted):
    etag = ask(client).headers["ETag"]
    other = make_client(counted)  # a fresh app: nothing kept, so only the 304 avoids the store
    before = counted.queries
    response = ask(other, **{"If-None-Match": etag})
    assert response.status_code == 304
    assert counted.queries == before
    assert response.headers["ETag"] == etag
    assert response.headers["Cache-Control"] == "public, max-age=60"


def test_a_new_data_version_misses(client, counted):
    first = ask(client)
    counted.version = "another-version"  # as after a reload or a `load` into a remote store
    second = ask(client)
    assert counted.queries == 2
    assert second.headers["ETag"] != first.headers["ETag"]
    assert ask(client, **{"If-None-Match": first.headers["ETag"]}).status_code == 200


def test_capped_answers_are_neither_kept_nor_cacheable(client, counted):
    first = ask(client, query=REGENCIES)
    assert first.headers["X-Result-Capped"] == f"max-results={MAX}"
    assert "ETag" not in first.headers
    assert first.headers["Cache-Control"] == "no-store"
    ask(client, query=REGENCIES)
    assert counted.queries == 2


def test_failed_answers_are_neither_kept_nor_cacheable(client, counted):
    broken = "SELECT ?x WHERE { ?x ?y }"  # passes the checks, fails in the engine's parser
    for expected_queries in (1, 2):
        response = ask(client, query=broken)
        assert response.status_code == 400
        assert counted.queries == expected_queries
        assert "ETag" not in response.headers
        assert response.headers["Cache-Control"] == "no-store"


def test_refused_answers_are_not_cacheable(client, counted):
    response = ask(client, query="SELECT * WHERE { SERVICE <http://example.org/> { ?s ?p ?o } }")
    assert response.status_code == 400 and counted.queries == 0
    assert response.headers["Cache-Control"] == "no-store" and "ETag" not in response.headers


def test_post_is_not_cached(client, counted):
    for expected_queries in (1, 2):
        response = client.post("/sparql", data={"query": PROVINCES}, headers={"Accept": SRJ})
        assert response.status_code == 200
        assert counted.queries == expected_queries
        assert "ETag" not in response.headers
        assert response.headers["Cache-Control"] == "no-store"


def test_max_age_zero_means_revalidate(counted):
    client = make_client(counted, sparql_max_age=0)
    response = ask(client)
    assert response.headers["Cache-Control"] == "no-cache" and response.headers["ETag"]


def test_no_cache_entries_turns_the_result_cache_off(counted):
    client = make_client(counted, result_cache_entries=0)
    ask(client)
    ask(client)
    assert counted.queries == 2


def test_a_streamed_named_csv_is_kept_when_complete_and_small(client, counted):
    first = client.get("/queries/all-labels", query_string={"format": "csv"})
    assert first.status_code == 200 and first.data.count(b"\n") > MAX  # in full, not capped
    assert counted.queries == 1
    again = client.get("/queries/all-labels", query_string={"format": "csv"})
    assert again.data == first.data and counted.queries == 1
    assert again.headers["Content-Disposition"] == first.headers["Content-Disposition"]


def test_a_streamed_answer_over_the_bound_is_not_kept(counted):
    client = make_client(counted, result_cache_bytes=16 * 1024)  # keeps answers up to 1 KiB
    first = client.get("/queries/all-labels", query_string={"format": "csv"})
    assert len(first.data) > 1024
    client.get("/queries/all-labels", query_string={"format": "csv"})
    assert counted.queries == 2


def test_named_queries_revalidate(client, counted):
    first = client.get("/queries/provinces", headers={"Accept": SRJ})
    assert first.status_code == 200 and first.headers["ETag"]
    response = client.get("/queries/provinces", headers={"Accept": SRJ,
                                                         "If-None-Match": first.headers["ETag"]})
    assert response.status_code == 304 and counted.queries == 1


def test_the_page_revalidates_by_language(client, counted):
    english = client.get("/sparql", query_string={"query": PROVINCES, "lang": "en"},
                         headers={"Accept": "text/html"})
    indonesian = client.get("/sparql", query_string={"query": PROVINCES, "lang": "id"},
                            headers={"Accept": "text/html"})
    assert english.status_code == indonesian.status_code == 200
    assert english.headers["ETag"] != indonesian.headers["ETag"]
    assert "Accept-Language" in english.headers["Vary"]
    before = counted.queries
    again = client.get("/sparql", query_string={"query": PROVINCES, "lang": "en"},
                       headers={"Accept": "text/html", "If-None-Match": english.headers["ETag"]})
    assert again.status_code == 304 and counted.queries == before
