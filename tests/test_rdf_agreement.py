"""Every RDF format of a document, every dump and every CONSTRUCT carry the same triples, lexical
forms included (issue #16).

Two comparisons of each pair: rdflib parses both and the graphs must be isomorphic (a graph_diff
on failure), and pyoxigraph parses both and the RDFC-1.0 canonical statements must be equal as
strings. The second is the one that sees lexical forms: rdflib normalises some literals as it
parses (`"01"^^xsd:integer` reads as `"1"`), pyoxigraph keeps them as written.

Runs on the page fixture project plus tests/data/literals (numbers, booleans and strings that
writers like to rewrite), published as the server publishes it, and on the shipped graph: every
document of each (the shipped graph's 481 in one run take about 20 s on a quiet machine).
"""

from __future__ import annotations

import gzip
import shutil

import pyoxigraph as ox
import pytest
from rdflib import Dataset, Graph
from rdflib.compare import graph_diff, isomorphic, to_isomorphic

from ikmkg import dumps
from ikmkg.formats import RDF_FORMATS
from ikmkg.web.documents import local_path
from tests.conftest import TEST_DATA_DIR, make_app

PAGES = TEST_DATA_DIR / "pages"
LITERALS = TEST_DATA_DIR / "literals" / "literals.ttl"


@pytest.fixture(scope="module", params=["literals", "shipped"])
def published(request, tmp_path_factory, app):
    """(app, base IRI): the fixture project with tricky literals, or the shipped graph."""
    if request.param == "shipped":
        return app, app.extensions["ikmkg_store"].base_uri
    project = tmp_path_factory.mktemp("literals-project")
    shutil.copytree(PAGES, project, dirs_exist_ok=True)
    shutil.copy(LITERALS, project / "data" / LITERALS.name)
    # The real load path (load, validate, the on-disk store the server queries), not a test store.
    application = make_app(project_dir=str(project),
                           cache_dir=str(tmp_path_factory.mktemp("literals-cache")))
    application.config["TESTING"] = True
    return application, application.extensions["ikmkg_store"].base_uri


def statements(body: bytes, media_type: str, base: str) -> set[str]:
    """The triples of `body` (the union of its graphs) as pyoxigraph reads them (lexical forms as
    written), blank nodes canonically labelled (RDFC-1.0), each as its N-Triples string."""
    union = ox.Dataset(ox.Quad(q.subject, q.predicate, q.object) for q in ox.parse(
        body, format=ox.RdfFormat.from_media_type(media_type), base_iri=base))
    union.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return {str(quad.triple) for quad in union}


#: rdflib's parser names, by media type (the quad formats too: the dumps have them).
RDFLIB_PARSERS = {**{f.media_type: f.rdflib for f in RDF_FORMATS},
                  "application/trig": "trig", "application/n-quads": "nquads"}


def rdflib_graph(body: bytes, media_type: str, base: str) -> Graph:
    """The union of the graphs of `body`, as rdflib reads it."""
    dataset = Dataset()
    dataset.parse(data=body, format=RDFLIB_PARSERS[media_type], publicID=base)
    union = Graph()
    for s, p, o, _ in dataset.quads((None, None, None, None)):
        union.add((s, p, o))
    return union


def nt_lines(graph: Graph) -> list[str]:
    return sorted(graph.serialize(format="nt").splitlines())[:5]


def assert_same(expected: tuple[bytes, str], actual: tuple[bytes, str], base: str,
                what: str) -> None:
    """The same graph (rdflib isomorphism) with the same lexical forms (pyoxigraph)."""
    left, right = rdflib_graph(*expected, base), rdflib_graph(*actual, base)
    if not isomorphic(left, right):
        both, only_left, only_right = graph_diff(to_isomorphic(left), to_isomorphic(right))
        pytest.fail(f"{what}: not isomorphic ({len(both)} triples in both); only in "
                    f"{expected[1]}: {nt_lines(only_left)}; only in {actual[1]}: "
                    f"{nt_lines(only_right)}")
    a, b = statements(*expected, base), statements(*actual, base)
    assert a == b, (f"{what}: lexical forms differ; only in {expected[1]}: {sorted(a - b)[:5]}; "
                    f"only in {actual[1]}: {sorted(b - a)[:5]}")


def document_paths(app, base: str) -> list[str]:
    """The document of every IRI under the base that the graph mentions."""
    store = app.extensions["ikmkg_store"]
    rows = store.select("SELECT DISTINCT ?x WHERE { { ?x ?p ?o } UNION { ?s ?x ?o } UNION "
                        f"{{ ?s ?p ?x }} FILTER(isIRI(?x) && STRSTARTS(STR(?x), \"{base}\")) }}")
    return sorted({local_path(str(row["x"]), base).partition("#")[0] for row in rows})


def test_every_format_of_every_document_carries_the_same_triples(published):
    app, base = published
    client = app.test_client()
    paths = document_paths(app, base)
    assert len(paths) > 15 and "/ontology" in paths
    for path in paths:
        bodies = {}
        for fmt in RDF_FORMATS:
            response = client.get(f"{path}.{fmt.suffix}")
            assert response.status_code == 200, f"{path}.{fmt.suffix}: {response.status_code}"
            bodies[fmt.media_type] = response.data
        turtle = (bodies.pop("text/turtle"), "text/turtle")
        for media_type, body in bodies.items():
            assert_same(turtle, (body, media_type), base, path)


def all_of_it(client, media_type: str) -> bytes:
    response = client.get("/sparql", query_string={
        "query": "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }"},
        headers={"Accept": media_type})
    assert response.status_code == 200, response.data[:300]
    return response.data


def dump_files(client) -> dict[str, tuple[bytes, str]]:
    """Every RDF dump, unzipped: name -> (bytes, media type)."""
    found = {}
    for kind in dumps.RDF_DUMPS:
        response = client.get(f"/dumps/{kind.name}")
        assert response.status_code == 200, kind.name
        found[kind.name] = (gzip.decompress(response.data) if kind.gzip else response.data,
                            kind.media_type)
    assert len(found) == 6
    return found


def test_dumps_and_construct_carry_the_stores_triples(published):
    app, base = published
    client = app.test_client()
    reference = (all_of_it(client, "application/n-triples"), "application/n-triples")
    for fmt in RDF_FORMATS:
        if fmt.media_type != reference[1]:
            assert_same(reference, (all_of_it(client, fmt.media_type), fmt.media_type), base,
                        f"CONSTRUCT as {fmt.media_type}")
    for name, dump in dump_files(client).items():
        assert_same(reference, dump, base, f"/dumps/{name}")


def test_documents_state_what_the_dumps_state(published):
    """A document's statements (those without blank nodes, whose labels are the document's own)
    are in the dump as written: no format of a page rewrites a value the dump carries."""
    app, base = published
    client = app.test_client()
    dumped = statements(*dump_files(client)["ikmkg.nt.gz"], base)
    dataset_document = local_path(str(app.extensions["ikmkg_store"].base_uri
                                      + "id/dataset/ikmkg"), base)
    for path in document_paths(app, base):
        if path == dataset_document:
            continue  # its VoID/DCAT is computed, not stored
        for fmt in RDF_FORMATS:
            response = client.get(f"{path}.{fmt.suffix}")
            stated = {s for s in statements(response.data, fmt.media_type, base)
                      if "_:" not in s}
            assert stated <= dumped, (f"{path}.{fmt.suffix} states what no dump does: "
                                      f"{sorted(stated - dumped)[:5]}")
