"""The W3C SPARQL 1.1 Protocol test suite against the real `ikmkg serve` (issue #16).

The suite (tests/data/w3c-protocol, from w3c/rdf-tests; see its README for origin and licence)
has 34 tests. The server publishes a project folder made here from the suite's data files.

What applies to a read-only service, and how it is run:

- The 20 query-operation tests (`query_*`, `bad_query_*`) apply and run as the manifest writes
  them, with two adaptations that change nothing the tests check:
  * the manifest's `/sparql/` is an example path: requests go to this service's `/sparql`;
  * the suite's three graphs are named `http://kasei.us/.../dataN.rdf`; a service publishes its
    graphs under its own names, so data1, data2 and data3 are published as this service's
    ontology, shapes and data graphs, and the `default-graph-uri`/`named-graph-uri` values
    that name them are replaced by those names (query texts, and the data, stay as written).
    `data0.rdf`, which no test loads, stays as written: a graph the store does not hold is an
    empty graph, so `ASK {}` on it is true as the tests expect.
- The 7 `bad_update_*` tests expect a 4xx; a read-only service refuses every update, so they
  apply as written.
- The 7 update tests (`update_*`) expect an update to succeed, which a read-only service cannot
  do: they do not apply. Each is run to check the opposite: the update is refused (4xx) and the
  query that follows it in the manifest finds nothing written.

Result: all 27 applicable tests pass. `query_content_type_construct` (`CONSTRUCT { <s> <p> 1 }
WHERE {}`, relative IRIs without BASE) passed once the service defined its base IRI for queries,
its endpoint's own IRI `{base}sparql` (docs/sparql-endpoint.md); before, it answered 400.

Erratum: `query_multiple_dataset` percent-encodes the `&` and `=` between its two
`named-graph-uri` parameters (`...data1.rdf%26named-graph-uri%3D...data2.rdf`), so read literally
it names one graph whose IRI contains `&named-graph-uri=`; its prose, its title and every
implementation report read two parameters, and so does this test.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
import requests
from backends import running_ikmkg
from conftest import TEST_DATA_DIR

from ikmkg.kg import graph_iri
from ikmkg.settings import CANONICAL_BASE

pytestmark = pytest.mark.server

SUITE = TEST_DATA_DIR / "w3c-protocol"
TESTS = json.loads((SUITE / "protocol-tests.json").read_text(encoding="utf-8"))["tests"]
KASEI = "http://kasei.us/2009/09/sparql/data/"
#: The suite's graphs -> the graphs of the service that hold their data.
GRAPHS = {f"{KASEI}data1.rdf": str(graph_iri(CANONICAL_BASE, "ontology")),
          f"{KASEI}data2.rdf": str(graph_iri(CANONICAL_BASE, "shapes")),
          f"{KASEI}data3.rdf": str(graph_iri(CANONICAL_BASE, "data"))}
ERRATA = {"query_multiple_dataset": ("%26named-graph-uri%3D", "&named-graph-uri=")}
#: Media types the manifest accepts for each expected format.
FORMATS = {
    "boolean": {"application/sparql-results+xml", "application/sparql-results+json"},
    "tabular": {"application/sparql-results+xml", "application/sparql-results+json",
                "text/csv", "text/tab-separated-values"},
    "RDF": {"application/rdf+xml", "text/turtle", "application/n-triples",
            "application/ld+json", "application/n-quads", "application/trig"},
}
UPDATE_TESTS = [t for t in TESTS if t["id"].startswith("update_")]
APPLICABLE = [t for t in TESTS if not t["id"].startswith("update_")]


def test_the_suite_is_complete():
    assert len(TESTS) == 34 and len(APPLICABLE) == 27 and len(UPDATE_TESTS) == 7
    assert len([t for t in APPLICABLE if "update" not in t["id"]]) == 20


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> str:
    """`ikmkg serve` over a project folder holding the suite's three graphs."""
    project = tmp_path_factory.mktemp("w3c-project")
    for folder in ("ontology", "data", "queries"):
        (project / folder).mkdir()
    (project / "ontology" / "ikm.ttl").write_bytes((SUITE / "data1.nt").read_bytes())
    (project / "ontology" / "shapes.ttl").write_bytes((SUITE / "data2.nt").read_bytes())
    (project / "data" / "data3.ttl").write_bytes((SUITE / "data3.nt").read_bytes())
    with running_ikmkg(project, tmp_path_factory.mktemp("w3c-cache"), ready="/sparql",
                       seconds=60, IKMKG_QUERY_TIMEOUT="1.5", IKMKG_STORE_MODE="disk") as (url, _):
        yield url


def adapted_path(test: dict, path: str) -> str:
    """The request path on this service (see the module docstring)."""
    if test["id"] in ERRATA:
        path = path.replace(*ERRATA[test["id"]])
    parts = urlsplit(path)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    pairs = [(name, GRAPHS.get(value, value) if name.endswith("graph-uri") else value)
             for name, value in pairs]
    query = "&".join(f"{quote(n, safe='')}={quote(v, safe='')}" for n, v in pairs)
    return "/sparql" + (f"?{query}" if query else "")


def send(service: str, test: dict, request: dict) -> requests.Response:
    headers = {}
    if "content_type" in request:
        headers["Content-Type"] = request["content_type"]
    body = None
    if "body" in request:
        encoding = request["body_encoding"].lower()
        body = request["body"].encode("utf-16" if encoding == "utf-16" else encoding)
    return requests.request(request["method"], service + adapted_path(test, request["path"]),
                            data=body, headers=headers, timeout=30, allow_redirects=False)


def boolean(response: requests.Response) -> bool:
    media_type = response.headers["Content-Type"].split(";")[0].strip()
    if media_type == "application/sparql-results+json":
        return json.loads(response.content)["boolean"]
    root = ET.fromstring(response.content)
    return root.find("{http://www.w3.org/2005/sparql-results#}boolean").text == "true"


def check(response: requests.Response, expected: dict) -> None:
    status = response.status_code
    if expected["status"] == "2xx":
        assert 200 <= status < 400, response.text[:500]
    else:
        assert 400 <= status < 500, (status, response.text[:500])
    if "format" in expected:
        media_type = response.headers["Content-Type"].split(";")[0].strip()
        assert media_type in FORMATS[expected["format"]]
    if "boolean" in expected:
        assert boolean(response) is expected["boolean"]


#: Applicable tests this service fails, with the reason.
#: Applicable tests known to fail, with the reason (none now).
FAILING: dict[str, str] = {}


@pytest.mark.parametrize("test", [
    pytest.param(t, marks=pytest.mark.xfail(reason=FAILING[t["id"]], strict=True))
    if t["id"] in FAILING else t for t in APPLICABLE], ids=[t["id"] for t in APPLICABLE])
def test_w3c_protocol(service, test):
    for request in test["requests"]:
        check(send(service, test, request), request)


@pytest.mark.parametrize("test", UPDATE_TESTS, ids=[t["id"] for t in UPDATE_TESTS])
def test_w3c_update_tests_are_refused_and_change_nothing(service, test):
    update, *queries = test["requests"]
    response = send(service, test, update)
    assert 400 <= response.status_code < 500 and b"read-only" in response.content
    for query in queries:
        response = send(service, test, query)
        assert response.status_code == 200
        if "boolean" in query:
            assert boolean(response) is False  # what the update would have written is not there
        else:
            assert json.loads(response.content)["results"]["bindings"] == []


def test_the_published_graphs_hold_the_suite_data(service):
    """The mapping above is real: each suite graph's triple is in the graph standing for it."""
    for suite_graph, graph in GRAPHS.items():
        response = requests.get(service + "/sparql", params={
            "query": f"ASK {{ GRAPH <{graph}> {{ <{suite_graph}> a ?type }} }}"}, timeout=30)
        assert json.loads(response.content)["boolean"] is True
    assert Path(SUITE / "README.md").exists()
