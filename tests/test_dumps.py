"""Dumps (ikmkg.dumps, `ikmkg dump`, /dumps/): parse back, determinism, atomicity, HTTP."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import BNode, Dataset, Graph, Literal, URIRef

from conftest import TEST_DATA_DIR, make_app
from ikmkg import dumps
from ikmkg.dumps import built, writer
from ikmkg import kg as kg_module
from ikmkg.errors import DataError
from ikmkg.kg import GRAPH_NAMES, graph_iri
from ikmkg.settings import PROJECT_DIR, Settings
from ikmkg.store import EmbeddedStore
from ikmkg.terms import to_oxigraph

FIXTURE_PROJECT = TEST_DATA_DIR / "dumps"
RAPPER = shutil.which("rapper")
UNION_DUMPS = [k for k in dumps.RDF_DUMPS if not k.quads]
QUAD_DUMPS = [k for k in dumps.RDF_DUMPS if k.quads]


def load_project(project_dir: Path) -> kg_module.KnowledgeGraph:
    """The project's graph; the shipped data is skipped (with the reason) until it validates."""
    from ikmkg.validation import validate

    settings = Settings(project_dir=str(project_dir))
    try:
        kg = kg_module.load(settings)
    except DataError as exc:
        pytest.skip(f"{project_dir} does not load yet: {exc.message[:200]}")
    if project_dir != FIXTURE_PROJECT and not validate(kg).conforms:
        pytest.skip("the shipped data does not conform yet")
    return kg_module.load(settings)  # fresh: validation must not leak into what is dumped


@pytest.fixture(scope="module", params=["fixture", "shipped"])
def project(request) -> tuple[kg_module.KnowledgeGraph, EmbeddedStore, Path]:
    project_dir = FIXTURE_PROJECT if request.param == "fixture" else PROJECT_DIR
    kg = load_project(project_dir)
    return kg, EmbeddedStore(kg), project_dir


@pytest.fixture(scope="module")
def dump_dir(project, tmp_path_factory) -> Path:
    """The dumps written through the Store protocol, as the web layer writes them."""
    _, store, _ = project
    out = tmp_path_factory.mktemp("dumps") / "out"
    dumps.write_dumps(store, out, store.base_uri)
    return out


XSD_STRING = URIRef("http://www.w3.org/2001/XMLSchema#string")


def normalised(graph: Graph) -> Graph:
    """RDF 1.1 simple literals are xsd:string; rdflib tells `"x"` and `"x"^^xsd:string` apart."""
    out = Graph()
    for s, p, o in graph:
        if isinstance(o, Literal) and o.datatype == XSD_STRING:
            o = Literal(str(o))
        out.add((s, p, o))
    return out


def canonical_triples(graph: Graph) -> set[str]:
    """The graph's triples with RDFC-1.0 blank-node labels (pyoxigraph, native and fast)."""
    dataset = ox.Dataset()
    for s, p, o in graph:
        dataset.add(ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o), ox.DefaultGraph()))
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return {str(quad) for quad in dataset}


def assert_isomorphic(expected: Graph, actual: Graph, what: str) -> None:
    """Isomorphism as equality of the canonical forms; on failure, show a few differences."""
    expected, actual = normalised(expected), normalised(actual)
    assert len(expected) == len(actual), f"{what}: {len(expected)} triples in the store, " \
                                         f"{len(actual)} in the dump"
    left, right = canonical_triples(expected), canonical_triples(actual)
    if left != right:
        pytest.fail(f"{what}: not isomorphic; only in the store: {sorted(left - right)[:5]} ...;"
                    f" only in the dump: {sorted(right - left)[:5]} ...")


def union_of(store) -> Graph:
    return store.construct("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }")


def named_graph(store, name: str) -> Graph:
    g = graph_iri(store.base_uri, name)
    return store.construct(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{g}> {{ ?s ?p ?o }} }}")


def read(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def parse_graph(data: bytes, rdflib_format: str) -> Graph:
    graph = Graph()
    graph.parse(data=data, format=rdflib_format)
    return graph


RDFLIB_FORMAT = {"text/turtle": "turtle", "application/n-triples": "nt",
                 "application/ld+json": "json-ld", "application/rdf+xml": "xml",
                 "application/trig": "trig", "application/n-quads": "nquads"}
RAPPER_INPUT = {"text/turtle": "turtle", "application/n-triples": "ntriples",
                "application/rdf+xml": "rdfxml", "application/trig": "trig",
                "application/n-quads": "nquads"}


# --- every dump parses back to the published graph ------------------------------------------

@pytest.mark.parametrize("kind", UNION_DUMPS, ids=lambda k: k.name)
def test_union_dump_parses_back_with_rdflib(project, dump_dir, kind):
    _, store, _ = project
    parsed = parse_graph(read(dump_dir / kind.name), RDFLIB_FORMAT[kind.media_type])
    assert len(parsed) > 0
    assert_isomorphic(union_of(store), parsed, kind.name)


@pytest.mark.parametrize("kind", UNION_DUMPS, ids=lambda k: k.name)
def test_union_dump_parses_back_with_pyoxigraph(project, dump_dir, kind):
    """A second, independent parser (pyoxigraph also reads JSON-LD, offline: context inline)."""
    _, store, _ = project
    fmt = ox.RdfFormat.from_media_type(kind.media_type)
    parsed = Graph()
    for t in ox.parse(read(dump_dir / kind.name), format=fmt):
        parsed.add(tuple(_rdflib(x) for x in (t.subject, t.predicate, t.object)))
    assert_isomorphic(union_of(store), parsed, kind.name)


def _rdflib(term):
    from ikmkg.terms import to_rdflib

    return to_rdflib(term)


@pytest.mark.parametrize("kind", QUAD_DUMPS, ids=lambda k: k.name)
def test_quad_dump_keeps_the_named_graphs(project, dump_dir, kind):
    _, store, _ = project
    ds = Dataset()
    ds.parse(data=read(dump_dir / kind.name), format=RDFLIB_FORMAT[kind.media_type])
    names = {str(g.identifier) for g in ds.graphs() if len(g)}
    assert names == {str(graph_iri(store.base_uri, n)) for n in GRAPH_NAMES
                     if len(named_graph(store, n))}
    for name in GRAPH_NAMES:
        parsed = ds.graph(graph_iri(store.base_uri, name))
        copy = Graph()
        for triple in parsed:
            copy.add(triple)
        assert_isomorphic(named_graph(store, name), copy, f"{kind.name} graph {name}")


@pytest.mark.skipif(RAPPER is None, reason="rapper (raptor2-utils) is not installed")
@pytest.mark.parametrize("kind", [k for k in dumps.RDF_DUMPS if k.media_type in RAPPER_INPUT],
                         ids=lambda k: k.name)
def test_rapper_reads_the_dump(project, dump_dir, kind, tmp_path):
    _, store, _ = project
    source = tmp_path / kind.name.removesuffix(".gz")
    source.write_bytes(read(dump_dir / kind.name))
    out = subprocess.run([RAPPER, "-q", "-i", RAPPER_INPUT[kind.media_type], "-o", "nquads",
                          str(source), "http://example.invalid/base"],
                         capture_output=True, check=False)
    assert out.returncode == 0, out.stderr.decode()
    ds = Dataset()
    ds.parse(data=out.stdout, format="nquads")
    if kind.quads:
        for name in GRAPH_NAMES:
            copy = Graph()
            for triple in ds.graph(graph_iri(store.base_uri, name)):
                copy.add(triple)
            assert_isomorphic(named_graph(store, name), copy, f"rapper {kind.name} {name}")
    else:
        copy = Graph()
        for triple in ds.default_graph:
            copy.add(triple)
        assert_isomorphic(union_of(store), copy, f"rapper {kind.name}")


def test_jsonld_is_compacted_with_the_published_context(dump_dir):
    document = json.loads((dump_dir / "ikmkg.jsonld").read_text(encoding="utf-8"))
    context = json.loads((dump_dir / dumps.CONTEXT_FILE).read_text(encoding="utf-8"))
    assert document["@context"] == context["@context"]
    assert document["@graph"], "empty @graph"
    ids = [node["@id"] for node in document["@graph"]]
    assert any(i.startswith("id:") for i in ids), "entity IRIs are not compacted"


# --- checksums, manifest, gzip ----------------------------------------------------------------

def test_sha256sums_list_every_file_with_its_digest(dump_dir):
    listed = {}
    for line in (dump_dir / dumps.CHECKSUM_FILE).read_text().splitlines():
        digest, name = line.split("  ", 1)
        listed[name] = digest
    on_disk = {p.relative_to(dump_dir).as_posix() for p in dump_dir.rglob("*") if p.is_file()}
    assert set(listed) == on_disk - {dumps.CHECKSUM_FILE}
    for name, digest in listed.items():
        assert hashlib.sha256((dump_dir / name).read_bytes()).hexdigest() == digest, name
    manifest = dumps.Manifest.load(dump_dir)
    assert {f.name for f in manifest.files} == set(listed) - {dumps.CONTEXT_FILE,
                                                              dumps.MANIFEST_FILE}
    for f in manifest.files:
        assert f.size == (dump_dir / f.name).stat().st_size
        assert f.sha256 == listed[f.name]


@pytest.mark.parametrize("name", [k.name for k in dumps.RDF_DUMPS if k.gzip])
def test_gzip_header_has_no_timestamp_or_file_name(dump_dir, name):
    header = (dump_dir / name).read_bytes()[:10]
    assert header[:2] == b"\x1f\x8b"
    assert header[3] & 0x08 == 0, "FNAME flag set"
    assert header[4:8] == b"\0\0\0\0", "MTIME is not zero"


# --- CSV --------------------------------------------------------------------------------------

def test_one_csv_per_class_of_the_data_graph_one_row_per_entity(project, dump_dir):
    _, store, _ = project
    data = graph_iri(store.base_uri, "data")
    rows = store.select(f"SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE {{ GRAPH <{data}> "
                        "{ ?s a ?c FILTER(isIRI(?c)) } } GROUP BY ?c")
    expected = {str(r["c"]): int(r["n"]) for r in rows}
    manifest = dumps.Manifest.load(dump_dir)
    csvs = [f for f in manifest.files if not f.rdf]
    assert {f.class_iri for f in csvs} == set(expected)
    for f in csvs:
        table = list(csv.reader(io.StringIO((dump_dir / f.name).read_text(encoding="utf-8"))))
        assert table[0][:3] == ["iri", "label@id", "label@en"]
        assert len(table) - 1 == expected[f.class_iri] == f.rows, f.name
        assert len({row[0] for row in table[1:]}) == f.rows


def test_csv_cells_carry_labels_of_linked_resources(project, dump_dir):
    _, _, project_dir = project
    if project_dir != FIXTURE_PROJECT:
        pytest.skip("fixture-specific expectations")
    table = list(csv.DictReader(io.StringIO(
        (dump_dir / "csv/ikm-Province.csv").read_text(encoding="utf-8"))))
    row = next(r for r in table if r["iri"].endswith("/papua-tengah"))
    assert row["label@en"] == "Central Papua" and row["label@id"] == "Papua Tengah"
    assert row["ikm:country label"] == "Indonesia"
    assert row["ikm:status label"] == "completed | planned"
    assert row["ikm:established"] == "2022"
    other = next(r for r in table if r["iri"].endswith("/jawa-timur"))
    assert other["rdfs:comment@en"] == 'Test fixture, with a comma, a "quote" and a | bar.'


# --- determinism --------------------------------------------------------------------------------

def tree_bytes(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_two_runs_give_identical_bytes(project, dump_dir, tmp_path):
    """Once through the store, once from the loaded graph (other statement order, other blank
    node ids), and once in another process with another hash seed."""
    kg, store, project_dir = project
    dumps.write_dumps(kg, tmp_path / "from-kg", kg.base_uri)
    expected = tree_bytes(dump_dir)
    assert tree_bytes(tmp_path / "from-kg") == expected
    script = ("import sys; from ikmkg import dumps, kg; from ikmkg.settings import Settings; "
              "dumps.write_dumps(kg.load(Settings(project_dir=sys.argv[1])), sys.argv[2])")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", script, str(project_dir), str(tmp_path / "other")],
                   check=True, env=env, cwd=Path(__file__).parent.parent)
    assert tree_bytes(tmp_path / "other") == expected


# --- atomic writes ------------------------------------------------------------------------------

def test_interrupted_dump_leaves_the_previous_dump(project, tmp_path, monkeypatch):
    kg, _, _ = project
    out = tmp_path / "out"
    dumps.write_dumps(kg, out, kg.base_uri)
    before = tree_bytes(out)
    real_write = writer._write
    calls = []

    def failing_write(folder, name, data):
        calls.append(name)
        if len(calls) == 4:
            raise OSError(28, "No space left on device (simulated)")
        return real_write(folder, name, data)

    monkeypatch.setattr(writer, "_write", failing_write)
    with pytest.raises(OSError, match="simulated"):
        dumps.write_dumps(kg, out, kg.base_uri)
    assert len(calls) == 4
    assert tree_bytes(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"], "temporary folder left behind"


def test_failed_swap_restores_the_previous_dump(project, tmp_path, monkeypatch):
    kg, _, _ = project
    out = tmp_path / "out"
    dumps.write_dumps(kg, out, kg.base_uri)
    before = tree_bytes(out)
    real_rename = os.rename

    def rename(src, dst):
        if str(src).endswith(".tmp"):
            raise OSError("rename failed (simulated)")
        return real_rename(src, dst)

    monkeypatch.setattr(writer.os, "rename", rename)
    with pytest.raises(OSError, match="simulated"):
        dumps.write_dumps(kg, out, kg.base_uri)
    assert tree_bytes(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_refuses_to_replace_a_folder_that_is_not_a_dump(project, tmp_path):
    kg, _, _ = project
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(DataError, match="not an earlier ikmkg dump"):
        dumps.write_dumps(kg, tmp_path, kg.base_uri)
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_refuses_a_truncated_store_result(project, tmp_path):
    _, store, _ = project

    class Capped:
        base_uri = store.base_uri
        version = store.version
        select = staticmethod(store.select)

        @staticmethod
        def construct(query):
            graph = store.construct(query)
            if len(graph):
                graph.remove(next(iter(graph)))
            return graph

    with pytest.raises(DataError, match="truncated"):
        dumps.write_dumps(Capped(), tmp_path / "out", store.base_uri)
    assert not (tmp_path / "out").exists()


# --- the command --------------------------------------------------------------------------------

def test_dump_command_writes_with_progress_and_exit_codes(tmp_path):
    from click.testing import CliRunner

    from ikmkg.cli import cli

    runner = CliRunner()
    out = tmp_path / "dump"
    result = runner.invoke(cli, ["dump", "--out", str(out), "--project-dir", str(FIXTURE_PROJECT)])
    assert result.exit_code == 0, result.output
    assert "[1/" in result.stderr and "SHA256SUMS" not in result.stdout
    assert (out / dumps.CHECKSUM_FILE).is_file()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.txt").write_text("x")
    result = runner.invoke(cli, ["dump", "--out", str(tmp_path / "other"),
                                 "--project-dir", str(FIXTURE_PROJECT)])
    assert result.exit_code == 2
    assert "refusing" in result.stderr


# --- HTTP ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def web(tmp_path_factory):
    """An app over the fixture project with its own dump cache."""
    kg = load_project(FIXTURE_PROJECT)
    store = EmbeddedStore(kg)
    cache = tmp_path_factory.mktemp("cache")
    app = make_app(store, project_dir=str(FIXTURE_PROJECT), cache_dir=str(cache))
    app.config["TESTING"] = True
    dumps.forget_built()
    assert app.test_client().get("/dumps/").status_code == 200  # builds the dumps
    return app, store, cache


def built_dir(web) -> Path:
    _, store, cache = web
    return cache / "dumps" / dumps.dump_key(store, store.base_uri)


@pytest.mark.parametrize("name,media_type", [
    ("ikmkg.ttl", "text/turtle; charset=utf-8"),
    ("ikmkg.nt.gz", "application/gzip"),
    ("ikmkg.jsonld", "application/ld+json"),
    ("ikmkg.rdf", "application/rdf+xml; charset=utf-8"),
    ("ikmkg.trig", "application/trig"),
    ("ikmkg.nq.gz", "application/gzip"),
    ("csv/ikm-Province.csv", "text/csv; charset=utf-8"),
    ("SHA256SUMS", "text/plain; charset=utf-8"),
    ("context.jsonld", "application/ld+json"),
])
def test_each_file_is_served_with_its_media_type_and_validators(web, name, media_type):
    app, _, _ = web
    response = app.test_client().get(f"/dumps/{name}")
    body = (built_dir(web) / name).read_bytes()
    assert response.status_code == 200
    assert response.headers["Content-Type"] == media_type
    assert response.headers["Content-Length"] == str(len(body))
    assert response.data == body
    assert response.headers["ETag"].strip('"') == hashlib.sha256(body).hexdigest()
    assert response.headers["Last-Modified"]
    assert response.headers["Accept-Ranges"] == "bytes"
    assert "Content-Encoding" not in response.headers  # .gz is the file itself, not an encoding


def test_range_requests(web):
    client = web[0].test_client()
    body = (built_dir(web) / "ikmkg.nt.gz").read_bytes()
    response = client.get("/dumps/ikmkg.nt.gz", headers={"Range": "bytes=10-19"})
    assert response.status_code == 206
    assert response.data == body[10:20]
    assert response.headers["Content-Range"] == f"bytes 10-19/{len(body)}"
    response = client.get("/dumps/ikmkg.nt.gz", headers={"Range": "bytes=-5"})
    assert response.status_code == 206 and response.data == body[-5:]
    response = client.get("/dumps/ikmkg.nt.gz", headers={"Range": f"bytes={len(body) + 10}-"})
    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{len(body)}"


def test_conditional_requests(web):
    client = web[0].test_client()
    first = client.get("/dumps/ikmkg.ttl")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert client.get("/dumps/ikmkg.ttl", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/dumps/ikmkg.ttl",
                      headers={"If-Modified-Since": modified}).status_code == 304
    assert client.get("/dumps/ikmkg.ttl", headers={"If-None-Match": '"other"'}).status_code == 200
    assert client.get("/dumps/ikmkg.ttl",
                      headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}
                      ).status_code == 200
    listing = client.get("/dumps/", headers={"Accept": "application/json"})
    again = client.get("/dumps/", headers={"Accept": "application/json",
                                           "If-None-Match": listing.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("path", ["/dumps/nope.ttl", "/dumps/../ikmkg/app.py",
                                  "/dumps/%2e%2e/settings.py", "/dumps/csv/../manifest.json.bak"])
def test_only_dump_files_are_served(web, path):
    assert web[0].test_client().get(path).status_code == 404


@pytest.mark.parametrize("accept,expected", [
    (None, "text/html"),
    ("text/html", "text/html"),
    ("application/json", "application/json"),
    ("text/turtle", "text/turtle"),
    ("application/ld+json", "application/ld+json"),
    ("image/png", None),
])
def test_listing_negotiates(web, accept, expected):
    headers = {"Accept": accept} if accept else {}
    response = web[0].test_client().get("/dumps/", headers=headers)
    if expected is None:
        assert response.status_code == 406
        return
    assert response.status_code == 200
    assert response.mimetype == expected
    assert "Accept" in response.headers["Vary"]


def test_listing_lists_every_file(web):
    client = web[0].test_client()
    manifest = dumps.Manifest.load(built_dir(web))
    payload = client.get("/dumps/", headers={"Accept": "application/json"}).get_json()
    assert [f["name"] for f in payload["files"]] == [f.name for f in manifest.files]
    html = client.get("/dumps/", headers={"Accept": "text/html"}).get_data(as_text=True)
    for f in manifest.files:
        assert f'href="/dumps/{f.name}"' in html
        assert f.sha256 in html


@pytest.mark.parametrize("lang,unit,plural,singular", [
    ("en", "bytes", " rows of ", " row of "), ("id", "bita", " baris ", " baris ")])
def test_listing_shows_readable_sizes_and_counts(web, lang, unit, plural, singular):
    """Issue #17: a size a person reads (the exact byte count on hover), counts with the right
    plural, in the reader's language."""
    import html as html_module
    import re

    app, _, _ = web
    page = app.test_client().get(f"/dumps/?lang={lang}").get_data(as_text=True)
    sizes = re.findall(r'<data value="(\d+)" title="([^"]+)">([^<]+)</data>', page)
    assert len(sizes) >= 7
    for exact, title, shown in sizes:
        assert title == f"{int(exact):,} {unit}".replace(",", "." if lang == "id" else ","), title
        assert re.fullmatch(r"\d+ (bytes|bita)|\d+[.,]\d (kB|MB|GB)", shown), shown
    rows = re.findall(r"(\d+)( rows? of | baris )<code>", page)
    assert rows
    for n, words in rows:
        assert words == (singular if n == "1" else plural)
    assert "1 rows" not in html_module.unescape(page)


def test_dumps_are_built_once_and_reused(web, monkeypatch):
    app, _, _ = web
    app.test_client().get("/dumps/")

    def must_not_run(*args, **kwargs):
        raise AssertionError("dumps re-serialised on a request")

    monkeypatch.setattr(built, "write_dumps", must_not_run)
    client = app.test_client()
    assert client.get("/dumps/ikmkg.ttl").status_code == 200
    assert client.get("/dumps/").status_code == 200
    dumps.forget_built()  # a new process: finds the folder of this graph version on disk
    assert client.get("/dumps/ikmkg.trig").status_code == 200


def test_html_escapes_data(tmp_path):
    """Literal text reaches the page escaped (Jinja autoescape)."""
    project = tmp_path / "p"
    shutil.copytree(FIXTURE_PROJECT, project)
    kg = kg_module.load(Settings(project_dir=str(project)))
    kg.data.add((kg_module.dataset_iri(kg.base_uri), URIRef("http://purl.org/dc/terms/modified"),
                 Literal("<script>alert(1)</script>")))
    app = make_app(EmbeddedStore(kg), project_dir=str(project), cache_dir=str(tmp_path / "c"))
    html = app.test_client().get("/dumps/", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)" in html


def test_dumps_from_the_server_store(pooled_store, tmp_path):
    """The server's store (on disk, queried in executor processes) dumps the same way."""
    dumps.write_dumps(pooled_store, tmp_path / "out", pooled_store.base_uri)
    ds = Dataset()
    ds.parse(data=read(tmp_path / "out" / "ikmkg.nq.gz"), format="nquads")
    for name in GRAPH_NAMES:
        copy = Graph()
        for triple in ds.graph(graph_iri(pooled_store.base_uri, name)):
            copy.add(triple)
        assert_isomorphic(named_graph(pooled_store, name), copy, f"pooled store, graph {name}")


def test_head_and_format_parameter(web):
    client = web[0].test_client()
    body = (built_dir(web) / "ikmkg.trig").read_bytes()
    head = client.head("/dumps/ikmkg.trig")
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Content-Length"] == str(len(body))
    listing = client.get("/dumps/?format=ttl", headers={"Accept": "text/html"})
    assert listing.mimetype == "text/turtle"
    assert 'rel="describedby"' in listing.headers["Link"]
    assert client.get("/dumps/?format=xlsx").status_code == 406


def test_isomorphism_check_tells_blank_node_structures_apart():
    """The helper every parse-back test relies on must fail on a real difference."""
    ex = "http://example.test/"
    same_a, same_b, other = Graph(), Graph(), Graph()
    for graph, label in ((same_a, "x"), (same_b, "y")):
        node = BNode(label)
        graph.add((URIRef(ex + "s"), URIRef(ex + "p"), node))
        graph.add((node, URIRef(ex + "q"), Literal("v")))
    # Same triple count, but the literal hangs off a second, unconnected blank node.
    other.add((URIRef(ex + "s"), URIRef(ex + "p"), BNode("z")))
    other.add((BNode("w"), URIRef(ex + "q"), Literal("v")))
    assert_isomorphic(same_a, same_b, "relabelled blank nodes")
    with pytest.raises(pytest.fail.Exception):
        assert_isomorphic(same_a, other, "different structure")
