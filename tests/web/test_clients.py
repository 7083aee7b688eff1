"""The clients researchers use, against the real `ikmkg serve` (issue #16, "Real clients").

SPARQLWrapper 2 sends its return format as `format=`, `output=` and `results=`, repeated with a
media-type list for some (`format=json-ld&format=application/ld+json,application/x-json+ld`),
and `format=n3` for Turtle; rdflib's SPARQLStore negotiates with Accept alone. Each is run
for SELECT, ASK, CONSTRUCT and DESCRIBE, in every return format it offers for that query form,
by GET and by POST, and what it reads is compared with the server's own answer fetched
without it (parsed, never compared as text).
"""

from __future__ import annotations

import csv
import io
import json
import warnings
import xml.dom.minidom

import pytest
import requests
from backends import running_ikmkg
from conftest import SPARQL_PROJECT
from rdflib import ConjunctiveGraph, Graph, URIRef
from rdflib.compare import graph_diff, isomorphic
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import POST, POSTDIRECTLY, URLENCODED, SPARQLWrapper
from SPARQLWrapper import __version__ as sparqlwrapper_version

pytestmark = pytest.mark.server

IKM = "PREFIX ikm: <https://w3id.org/ikmkg/ontology#> "
SELECT = IKM + "SELECT ?p WHERE { ?p a ikm:Province } ORDER BY ?p"
ASK = IKM + "ASK { ?p a ikm:Province }"
CONSTRUCT = (IKM + "CONSTRUCT { ?r ikm:province ?p } WHERE { ?r ikm:province ?p } "
             "ORDER BY ?r LIMIT 20")
DESCRIBE = "DESCRIBE <https://w3id.org/ikmkg/id/province/p01>"
QUERIES = {"SELECT": SELECT, "ASK": ASK, "CONSTRUCT": CONSTRUCT, "DESCRIBE": DESCRIBE}

#: SPARQLWrapper's return formats (its constants' values) for each query form: the ones its
#: documentation lists for solutions, and for graphs (JSON there means JSON-LD, as `rdf` means
#: RDF/XML).
WRAPPER_FORMATS = {
    "SELECT": ["json", "xml", "csv", "tsv"],
    "ASK": ["json", "xml", "csv", "tsv"],
    "CONSTRUCT": ["xml", "rdf+xml", "rdf", "turtle", "n3", "json-ld", "json"],
    "DESCRIBE": ["xml", "rdf+xml", "rdf", "turtle", "n3", "json-ld", "json"],
}
#: (method, request method) of SPARQLWrapper: GET; POST as a form; POST as the query itself.
WRAPPER_METHODS = {"GET": ("GET", URLENCODED), "POST-form": (POST, URLENCODED),
                   "POST-direct": (POST, POSTDIRECTLY)}
#: rdflib SPARQLStore's return formats (names of its result parsers) and its methods.
STORE_FORMATS = ["xml", "json", "csv", "tsv"]
STORE_METHODS = ["GET", "POST", "POST_FORM"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The real server over the small synthetic project (30 provinces, 300 regencies)."""
    with running_ikmkg(SPARQL_PROJECT, tmp_path_factory.mktemp("cache")) as (url, _):
        yield url


@pytest.fixture(scope="module")
def expected(server):
    """The server's own answers, fetched without the clients: solutions (SPARQL JSON) and
    graphs (N-Triples)."""
    answers = {}
    for form, query in QUERIES.items():
        graph = form in ("CONSTRUCT", "DESCRIBE")
        response = requests.get(server + "/sparql", params={"query": query}, timeout=30,
                                headers={"Accept": "application/n-triples" if graph
                                         else "application/sparql-results+json"})
        assert response.status_code == 200, response.text[:300]
        if graph:
            answers[form] = Graph().parse(data=response.text, format="nt")
            assert len(answers[form]) > 0
        elif form == "ASK":
            answers[form] = json.loads(response.content)["boolean"]
            assert answers[form] is True
        else:
            answers[form] = [b["p"]["value"] for b in
                             json.loads(response.content)["results"]["bindings"]]
            assert len(answers[form]) == 30
    return answers


def assert_same_graph(got: Graph, want: Graph) -> None:
    if not isomorphic(got, want):
        _, only_got, only_want = graph_diff(got, want)
        pytest.fail(f"graphs differ; only in the client's: {sorted(only_got)[:5]}; "
                    f"only in the server's: {sorted(only_want)[:5]}")


def column(text: str, delimiter: str) -> list[str]:
    """The first column of CSV or TSV results (TSV writes IRIs as <...>)."""
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    return [value.strip("<>") for value, *_ in rows[1:]]


def read_wrapper_result(form: str, fmt: str, converted):
    """What SPARQLWrapper's convert() gave, in comparable terms."""
    if form in ("CONSTRUCT", "DESCRIBE"):
        if isinstance(converted, bytes):  # turtle, n3: SPARQLWrapper hands over the bytes
            return Graph().parse(data=converted.decode("utf-8"), format="turtle")
        assert isinstance(converted, Graph), type(converted)
        return converted
    if fmt == "json":
        return converted["boolean"] if form == "ASK" else [
            b["p"]["value"] for b in converted["results"]["bindings"]]
    if fmt == "xml":
        assert isinstance(converted, xml.dom.minidom.Document)
        if form == "ASK":
            return converted.getElementsByTagName("boolean")[0].firstChild.data == "true"
        return [node.firstChild.data for node in converted.getElementsByTagName("uri")]
    text = converted.decode("utf-8") if isinstance(converted, bytes) else converted
    delimiter = "\t" if fmt == "tsv" else ","
    if form == "ASK":
        return text.strip().splitlines()[-1].strip() == "true"
    return column(text, delimiter)


CASES = [(form, fmt, method) for form, formats in WRAPPER_FORMATS.items() for fmt in formats
         for method in WRAPPER_METHODS]


def test_sparqlwrapper_is_version_2():
    assert sparqlwrapper_version.startswith("2.")


@pytest.mark.parametrize("form,fmt,method", CASES)
def test_sparqlwrapper(server, expected, form, fmt, method):
    client = SPARQLWrapper(server + "/sparql")
    http_method, request_method = WRAPPER_METHODS[method]
    client.setMethod(http_method)
    client.setRequestMethod(request_method)
    client.setQuery(QUERIES[form])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "Sending Accept header '*/*'"
        client.setReturnFormat(fmt)
        result = client.query()
    got = read_wrapper_result(form, fmt, result.convert())
    if form in ("CONSTRUCT", "DESCRIBE"):
        assert_same_graph(got, expected[form])
        media_type = result.info()["content-type"].split(";")[0]
        if fmt in ("turtle", "n3"):
            assert media_type == "text/turtle"  # Turtle is N3
    else:
        assert got == expected[form]


@pytest.mark.parametrize("value", [
    "json-ld", "application/ld+json,application/x-json+ld", "n3", "rdf+xml",
])
def test_format_values_sparqlwrapper_sends(server, expected, value):
    """The exact `format=` values SPARQLWrapper 2 sends, as plain requests."""
    response = requests.get(server + "/sparql", params={"query": CONSTRUCT, "format": value},
                            timeout=30)
    assert response.status_code == 200, response.text[:300]
    media_type = response.headers["Content-Type"].split(";")[0]
    parser = {"application/ld+json": "json-ld", "text/turtle": "turtle",
              "application/rdf+xml": "xml"}[media_type]
    assert_same_graph(Graph().parse(data=response.content, format=parser), expected["CONSTRUCT"])


def store_case(form: str, fmt: str):
    """One SPARQLStore case, marked with what the client cannot do whatever the server sends."""
    if form == "ASK" and fmt in ("csv", "tsv"):
        return pytest.param(form, fmt, marks=pytest.mark.xfail(
            strict=True, reason="rdflib's CSV and TSV result parsers read SELECT results only "
            "(SPARQL 1.1 CSV/TSV defines no boolean form)"))
    return pytest.param(form, fmt)


@pytest.mark.parametrize("form,fmt", [store_case(form, fmt) for form in QUERIES
                                      for fmt in STORE_FORMATS])
@pytest.mark.parametrize("method", STORE_METHODS)
def test_rdflib_sparqlstore(server, expected, form, fmt, method):
    """SPARQLStore's `xml` (its default) asks for SPARQL XML or RDF/XML and so serves every
    form; `json`, `csv` and `tsv` ask only for result formats, which a graph has none of: the
    server says 406 to the Accept header the client sends (which the client reports as a
    ValueError after GET and hands back as a tuple after POST)."""
    store = SPARQLStore(server + "/sparql", returnFormat=fmt, method=method)
    graph_form = form in ("CONSTRUCT", "DESCRIBE")
    if graph_form and fmt != "xml":
        accept = store.response_mime_types()
        response = requests.request("GET" if method == "GET" else "POST", server + "/sparql",
                                    data={"query": QUERIES[form]} if method != "GET" else None,
                                    params={"query": QUERIES[form]} if method == "GET" else None,
                                    headers={"Accept": accept}, timeout=30)
        assert response.status_code == 406, (accept, response.status_code)
        return
    result = ConjunctiveGraph(store=store).query(QUERIES[form])
    if graph_form:
        assert_same_graph(result.graph, expected[form])
    elif form == "ASK":
        assert result.askAnswer is expected[form]
    else:
        assert [str(row[0]) for row in result] == expected[form]
        assert all(isinstance(row[0], URIRef) for row in result)
