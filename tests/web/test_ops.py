"""Operations endpoints: health, readiness, version, metrics, request ids and the access log."""

from __future__ import annotations

import json
import logging
import re

import pytest
from conftest import PROJECT_DIR, make_app

import ikmkg
from ikmkg.settings import SETTINGS
from ikmkg.web import ops

SETTINGS_DOC = (
    PROJECT_DIR / "docs" / "settings.md"
).read_text(encoding="utf-8")


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.headers[ops.VERSION_HEADER] == ikmkg.__version__


def test_readyz_ready(client, store):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert store.version in response.get_data(as_text=True)


class _DownStore:
    """A remote store whose backend does not answer."""

    base_uri = "https://w3id.org/ikmkg/"
    version = "x"
    graph_iris: dict[str, str] = {}  # noqa: RUF012

    def query(self, *args, **kwargs):
        raise ConnectionError("backend unreachable")


def test_readyz_remote_backend_down():
    from ikmkg.app import create_app
    from ikmkg.settings import Settings

    app = create_app(Settings(store="http://127.0.0.1:9/sparql"), store=_DownStore())
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert "not ready" in response.get_data(as_text=True)
    assert ops.VERSION_HEADER in response.headers


def test_version(client, store):
    data = client.get("/version").get_json()
    assert data["ikmkg"] == ikmkg.__version__
    assert data["data"] == store.version
    assert re.fullmatch(r"\d+\.\d+.*", data["python"])
    assert data["rdflib"] and data["pyoxigraph"]


@pytest.mark.parametrize("incoming,echoed", [("abc-123", True), ("bad id; <x>", False),
                                             ("x" * 500, False), ("", False)])
def test_request_id(client, incoming, echoed):
    response = client.get("/healthz", headers={"X-Request-Id": incoming} if incoming else {})
    rid = response.headers["X-Request-Id"]
    assert (rid == incoming) is echoed
    assert re.fullmatch(r"[A-Za-z0-9._:-]{1,128}", rid)


def _records(caplog) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "ikmkg.access"]


def test_access_log(client, caplog):
    caplog.set_level(logging.INFO, logger="ikmkg.access")
    client.get("/healthz", headers={"X-Request-Id": "req-1"})
    client.get("/no/such/thing")
    first, second = _records(caplog)[-2:]
    assert first["request_id"] == "req-1" and first["status"] == 200
    assert first["method"] == "GET" and first["path"] == "/healthz"
    assert first["duration_ms"] >= 0
    assert second["status"] == 404 and second["route"] == "<unmatched>"
    assert "query_sha256" not in first


def test_access_log_sparql_hash(client, caplog):
    import hashlib

    caplog.set_level(logging.INFO, logger="ikmkg.access")
    query = "SELECT * WHERE { ?s ?p ?o } LIMIT 1"
    response = client.get("/sparql", query_string={"query": query},
                          headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200
    record = _records(caplog)[-1]
    assert record["route"] == "/sparql"
    assert record["query_sha256"] == hashlib.sha256(query.encode()).hexdigest()



@pytest.mark.parametrize("accept", ["application/sparql-results+json", "text/csv",
                                    "application/sparql-results+xml", "text/html"])
def test_access_log_rows(client, caplog, accept):
    caplog.set_level(logging.INFO, logger="ikmkg.access")
    query = "SELECT ?s WHERE { ?s a ?type } LIMIT 3"
    assert client.get("/sparql", query_string={"query": query},
                      headers={"Accept": accept}).status_code == 200
    assert _records(caplog)[-1]["rows"] == 3


def test_access_log_rows_of_graph_and_capped_results(store, caplog):
    caplog.set_level(logging.INFO, logger="ikmkg.access")
    client = make_app(store, max_results=4).test_client()
    construct = "CONSTRUCT { ?s a ?t } WHERE { ?s a ?t } LIMIT 2"
    assert client.get("/sparql", query_string={"query": construct},
                      headers={"Accept": "text/turtle"}).status_code == 200
    assert _records(caplog)[-1]["rows"] == 2
    response = client.get("/sparql", query_string={"query": "SELECT * { ?s ?p ?o }"},
                          headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200
    assert len(response.json["results"]["bindings"]) == 4  # the cap, not the total
    assert _records(caplog)[-1]["rows"] == 4

def _sample(text: str, name: str, **labels) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith((name + "{", name + " ")) and all(
                f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_counts_by_route_and_status(client):
    before = client.get("/metrics").get_data(as_text=True)
    client.get("/healthz")
    client.get("/healthz")
    client.get("/sparql", query_string={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 1"},
               headers={"Accept": "application/sparql-results+json"})
    ops.record_reload(True)
    ops.record_reload(False)
    after = client.get("/metrics")
    assert after.headers["Content-Type"].startswith("text/plain")
    text, name = after.get_data(as_text=True), "ikmkg_http_requests_total"
    assert _sample(text, name, route="/healthz", status="200") - \
        _sample(before, name, route="/healthz", status="200") == 2
    assert _sample(text, "ikmkg_sparql_query_duration_seconds_count") - \
        _sample(before, "ikmkg_sparql_query_duration_seconds_count") == 1
    for outcome in ("ok", "refused"):
        assert _sample(text, "ikmkg_reloads_total", outcome=outcome) - \
            _sample(before, "ikmkg_reloads_total", outcome=outcome) == 1
    assert "ikmkg_sparql_timeouts_total" in text
    assert "ikmkg_http_request_duration_seconds_bucket" in text


def test_metrics_multiprocess(monkeypatch, tmp_path, client):
    """With PROMETHEUS_MULTIPROC_DIR set, /metrics reads the folder's aggregated files."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    response = client.get("/metrics")
    assert response.status_code == 200
    # Metrics were created before the variable was set, so the folder holds none: the
    # multiprocess collector reads only the folder, not this process's in-memory values.
    assert "ikmkg_http_requests_total{" not in response.get_data(as_text=True)


@pytest.mark.parametrize("setting", [s.name for s in SETTINGS])
def test_every_setting_documented(setting):
    assert f"| `{setting}` |" in SETTINGS_DOC


@pytest.mark.parametrize("path", ["/doc/%0D", "/doc/a%0Ab", "/id/%00", "/sparql%7F"])
def test_control_characters_in_path_refused(client, path):
    """Found by the fuzzer: `/doc/%0D` put a CR into the Link header (500)."""
    response = client.get(path)
    assert response.status_code == 400
    assert "control characters" in response.get_data(as_text=True)


class _TimingOutStore:
    """The session store, except that every query runs past its time limit."""

    def __init__(self, store):
        self._store = store

    def __getattr__(self, name):
        return getattr(self._store, name)

    def query(self, *args, **kwargs):
        from ikmkg.errors import QueryTimeout

        raise QueryTimeout("the query ran past its time limit")


def test_timeouts_counted(store):
    from ikmkg.app import create_app
    from ikmkg.settings import Settings

    client = create_app(Settings(), store=_TimingOutStore(store)).test_client()
    before = _sample(client.get("/metrics").get_data(as_text=True), "ikmkg_sparql_timeouts_total")
    response = client.get("/sparql", query_string={"query": "ASK { ?s ?p ?o }"},
                          headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 503
    after = _sample(client.get("/metrics").get_data(as_text=True), "ikmkg_sparql_timeouts_total")
    assert after - before == 1


def test_metrics_count_unknown_methods_as_other(client):
    """Clients may send any method token; each must not become a time series of its own."""
    before = client.get("/metrics").get_data(as_text=True)
    for method in ("FROB", "BLAH1", "BLAH2"):
        assert client.open("/healthz", method=method).status_code == 405
    text, name = client.get("/metrics").get_data(as_text=True), "ikmkg_http_requests_total"
    assert _sample(text, name, method="OTHER", route="<unmatched>", status="405") - \
        _sample(before, name, method="OTHER", route="<unmatched>", status="405") == 3
    assert "FROB" not in text and "BLAH1" not in text
