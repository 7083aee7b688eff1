"""Releases (ikmkg.releases, `ikmkg release`, ikmkg.web.releases): two releases of a fixture
project that differ in a few statements (tests/data/releases/README.md says which), their
changelog both ways, versioned dumps and their caching, `?version=` pages, citations parsed back
by bibtexparser and citeproc-py, CITATION.cff, and the research bundle with its RO-Crate."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import shutil
import zipfile
from pathlib import Path

import bibtexparser
import pytest
import yaml
from click.testing import CliRunner
from rdflib import Graph, Literal, URIRef
from rdflib import term as rdflib_term
from rdflib.compare import isomorphic
from rdflib.namespace import PROV, RDF, RDFS, SH

from conftest import TEST_DATA_DIR, make_app
from ikmkg import kg as kg_module
from ikmkg import releases as rel
from ikmkg.cli import cli
from ikmkg.namespaces import DCAT
from ikmkg.settings import PROJECT_DIR, Settings
from ikmkg.store import EmbeddedStore

FIXTURE = TEST_DATA_DIR / "releases"
ID = "https://w3id.org/ikmkg/id/"
DATASET = f"{ID}dataset/ikmkg"
V1, V2 = "1.0.0", "2.0.0"
DATE1, DATE2 = "2026-11-01", "2026-11-20"
IMMUTABLE = "public, max-age=31536000, immutable"
#: What data-2 changes (tests/data/releases/README.md).
CHANGED = {f"{ID}period/test-span", f"{ID}province/test-b", f"{ID}province/test-c",
           f"{ID}province/test-d"}


def _use_data(project: Path, version: int) -> None:
    shutil.rmtree(project / "data", ignore_errors=True)
    shutil.copytree(FIXTURE / f"data-{version}", project / "data")


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Settings:
    """A project with releases 1.0.0 (data-1) and 2.0.0 (data-2), made with the CLI."""
    root = tmp_path_factory.mktemp("release-project")
    for folder in ("ontology", "queries"):
        shutil.copytree(FIXTURE / folder, root / folder)
    runner = CliRunner()
    for number, (version, date) in enumerate(((V1, DATE1), (V2, DATE2)), 1):
        _use_data(root, number)
        result = runner.invoke(cli, ["release", version, "--date", date,
                                     "--project-dir", str(root)])
        assert result.exit_code == 0, result.output
        assert f"recorded release {version}" in result.output
    rel.forget()
    return Settings(project_dir=str(root), cache_dir=str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="module")
def client(project):
    app = make_app(EmbeddedStore(kg_module.load(project)), project_dir=project.project_dir,
                   cache_dir=project.cache_dir)
    app.config["TESTING"] = True
    return app.test_client()


@pytest.fixture(scope="module")
def bundle(client) -> zipfile.ZipFile:
    response = client.get(f"/dumps/{V2}/ikmkg-{V2}-bundle.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    return zipfile.ZipFile(io.BytesIO(response.data))


def str_triples(triples) -> set[str]:
    return {str(t) for t in triples}


# --- recording ----------------------------------------------------------------------------------

def test_release_files_and_metadata(project):
    folder = Path(project.project_dir) / "releases"
    for version in (V1, V2):
        assert {p.name for p in (folder / version).iterdir()} == {
            "release.ttl", "snapshot.nq", "validation.ttl", "queries"}
        assert sorted(p.name for p in (folder / version / "queries").iterdir()) == [
            "has-country.rq", "provinces.rq"]
    first, second = rel.list_releases(project)
    assert (first.version, second.version) == (V1, V2)
    assert (first.date.isoformat(), second.date.isoformat()) == (DATE1, DATE2)
    assert first.previous is None and second.previous == V1
    assert first.ontology_version == "https://w3id.org/ikmkg/ontology/0.0.1"
    assert second.snapshot_sha256 == hashlib.sha256(second.snapshot.read_bytes()).hexdigest()
    assert first.snapshot_sha256 != second.snapshot_sha256
    g = Graph().parse(folder / V2 / "release.ttl")
    v2, v1 = URIRef(f"{DATASET}/{V2}"), URIRef(f"{DATASET}/{V1}")
    assert (v2, DCAT.previousVersion, v1) in g
    assert (v2, PROV.wasRevisionOf, v1) in g
    assert (v2, DCAT.version, Literal(V2)) in g
    assert g.value(v2, URIRef("http://purl.org/dc/terms/issued")).toPython() == \
        dt.date.fromisoformat(DATE2)
    assert rel.latest_release(project).version == V2
    assert rel.get_release(project, "latest").version == V2


def test_snapshot_is_the_released_graph(project):
    """The snapshot holds exactly the files' graphs (data-2 for 2.0.0)."""
    loaded = kg_module.load(project)  # data-2 is in place
    released = rel.knowledge_graph(rel.get_release(project, V2))
    for name in kg_module.GRAPH_NAMES:
        assert isomorphic(getattr(loaded, name), getattr(released, name)), name
    assert released.content_hash == rel.get_release(project, V2).snapshot_sha256


def test_release_is_deterministic(project, tmp_path):
    """Recording the same files again (as another version, same date) gives the same snapshot."""
    root = tmp_path / "again"
    shutil.copytree(project.project_dir, root, ignore=shutil.ignore_patterns("releases"))
    result = CliRunner().invoke(cli, ["release", "9.0.0", "--date", DATE2,
                                      "--project-dir", str(root)])
    assert result.exit_code == 0, result.output
    assert (root / "releases/9.0.0/snapshot.nq").read_bytes() == \
        rel.get_release(project, V2).snapshot.read_bytes()


def test_ontology_change_is_reported(project, tmp_path):
    """A release whose ontology changed shows it in the changelog; the CLI warns while the
    ontology's owl:versionIRI stays the same, and records the new one once it is bumped."""
    root = tmp_path / "next"
    shutil.copytree(project.project_dir, root)
    ikm = root / "ontology" / "ikm.ttl"
    ikm.write_text(ikm.read_text().replace('"news article"@en', '"news article (test)"@en'))
    result = CliRunner().invoke(cli, ["release", "3.0.0", "--date", "2026-11-21",
                                      "--project-dir", str(root)])
    assert result.exit_code == 0, result.output
    assert "warning: the ontology changed since 2.0.0" in result.output
    settings = Settings(project_dir=str(root))
    log = rel.changelog(settings, V2, "3.0.0")
    assert [(c.graph, c.entity) for c in log.changes] == [
        ("ontology", "https://w3id.org/ikmkg/ontology#NewsArticle")]
    ikm.write_text(ikm.read_text().replace("ontology/0.0.1", "ontology/0.0.2")
                   .replace('"news article (test)"@en', '"news article (test 2)"@en'))
    result = CliRunner().invoke(cli, ["release", "4.0.0", "--date", "2026-11-22",
                                      "--project-dir", str(root)])
    assert result.exit_code == 0 and "warning" not in result.output, result.output
    assert rel.get_release(settings, "4.0.0").ontology_version == \
        "https://w3id.org/ikmkg/ontology/0.0.2"


@pytest.mark.parametrize("args,code,message", [
    ([V1, "--date", DATE2], 2, "is never replaced"),
    (["v3", "--date", DATE2], 2, "must start with a digit"),
    (["../x", "--date", DATE2], 2, "must start with a digit"),
    (["3.0.0", "--date", "2026-10-01"], 2, "before the newest release"),
])
def test_release_refuses(project, args, code, message):
    result = CliRunner().invoke(cli, ["release", *args, "--project-dir", project.project_dir])
    assert result.exit_code == code and message in result.output, result.output
    assert [r.version for r in rel.list_releases(project)] == [V1, V2]


def test_release_refuses_data_that_does_not_conform(tmp_path):
    root = tmp_path / "bad"
    for folder in ("ontology", "queries"):
        shutil.copytree(FIXTURE / folder, root / folder)
    (root / "data").mkdir()
    (root / "data" / "bad.ttl").write_text(
        "<https://w3id.org/ikmkg/id/country/x> a <https://w3id.org/ikmkg/ontology#Country> .\n")
    result = CliRunner().invoke(cli, ["release", "1.0.0", "--project-dir", str(root)])
    assert result.exit_code == 1, result.output
    assert not (root / "releases" / "1.0.0").exists()


# --- changelog ----------------------------------------------------------------------------------

def test_changelog_groups_by_entity(project):
    log = rel.changelog(project, V1, V2)
    assert {c.entity for c in log.changes} == CHANGED
    assert {c.graph for c in log.changes} == {"data"}, "ontology and shapes did not change"
    by_entity = {c.entity: c for c in log.changes}
    removed_c = by_entity[f"{ID}province/test-c"]
    assert (len(removed_c.added), len(removed_c.removed)) == (0, 4)
    added_d = by_entity[f"{ID}province/test-d"]
    assert (len(added_d.added), len(added_d.removed)) == (4, 0)
    renamed = by_entity[f"{ID}province/test-b"]
    assert [t.object.value for t in renamed.added] == ["Test province B (renamed)"]
    assert [t.object.value for t in renamed.removed] == ["Test province B"]


def test_changelog_blank_nodes(project):
    """The changed blank-node structure shows; the unchanged ones (test-span's beginning, the
    whole of test-other, the shapes' and the ontology's) show nothing."""
    span = rel.changelog(project, V1, V2).for_entity(f"{ID}period/test-span")[0]
    years = {t.object.value for t in span.added if t.predicate.value.endswith("inXSDgYear")}
    assert years == {"2017"}
    assert {t.object.value for t in span.removed
            if t.predicate.value.endswith("inXSDgYear")} == {"2016"}
    assert not any("2013" in str(t) for t in (*span.added, *span.removed))
    assert len(span.added) == len(span.removed) == 3  # hasEnd link, its type, its year


def test_changelog_both_directions(project):
    forward, backward = rel.changelog(project, V1, V2), rel.changelog(project, V2, V1)
    assert [c.entity for c in forward.changes] == [c.entity for c in backward.changes]
    for f, b in zip(forward.changes, backward.changes):
        assert str_triples(f.added) == str_triples(b.removed)
        assert str_triples(f.removed) == str_triples(b.added)
    assert (forward.added, forward.removed) == (backward.removed, backward.added) == (8, 8)
    assert rel.changelog(project, V2, V2).changes == []


def test_blank_node_labels_do_not_matter(project):
    """The same graph parsed afresh (other blank-node labels) shows no change at all."""
    from ikmkg import dumps

    kg = kg_module.load(project)
    fresh = dumps.read_quads(kg, kg.base_uri)
    assert rel.diff(fresh, rel.snapshot_quads(rel.get_release(project, V2))) == []


def test_changelog_rdf(project):
    log = rel.changelog(project, V1, V2)
    graph = Graph().parse(data=rel.changelog_graph(log, project.base_uri).serialize(
        format="turtle"), format="turtle")
    changesets = set(graph.subjects(RDF.type, rel.CS.ChangeSet))
    assert {str(graph.value(cs, rel.CS.subjectOfChange)) for cs in changesets} == CHANGED
    renamed = next(cs for cs in changesets
                   if str(graph.value(cs, rel.CS.subjectOfChange)).endswith("test-b"))
    added = [graph.value(st, RDF.object) for st in graph.objects(renamed, rel.CS.addition)]
    removed = [graph.value(st, RDF.object) for st in graph.objects(renamed, rel.CS.removal)]
    assert added == [Literal("Test province B (renamed)", lang="en")]
    assert removed == [Literal("Test province B", lang="en")]


# --- web: release pages, versioned dumps, time travel -----------------------------------------

def test_release_page(client):
    html = client.get(f"/releases/{V2}").get_data(as_text=True)
    assert "Test province B (renamed)" in html and "Test province D" in html
    assert f"/dumps/{V2}/ikmkg-{V2}-bundle.zip" in html
    assert "2017" in html and "2016" in html
    version_iri_page = client.get(f"/doc/dataset/ikmkg/{V2}").get_data(as_text=True)
    assert "Test province B (renamed)" in version_iri_page and f"ikmkg {V2}" in version_iri_page
    backward = client.get(f"/releases/{V1}?from={V2}").get_data(as_text=True)
    assert "Test province C" in backward and "Test province B (renamed)" in backward
    listing = client.get("/releases/").get_data(as_text=True)
    assert f"/releases/{V1}" in listing and f"/releases/{V2}" in listing
    assert client.get("/releases/7.7.7").status_code == 404


def test_release_page_as_rdf(client, project):
    response = client.get(f"/releases/{V2}", headers={"Accept": "text/turtle"})
    assert response.mimetype == "text/turtle"
    g = Graph().parse(data=response.data, format="turtle")
    v2 = URIRef(f"{DATASET}/{V2}")
    assert (v2, DCAT.previousVersion, URIRef(f"{DATASET}/{V1}")) in g
    assert len(set(g.subjects(RDF.type, rel.CS.ChangeSet))) == len(CHANGED)
    same = Graph().parse(data=client.get(f"/releases/{V2}.ttl").data, format="turtle")
    assert isomorphic(g, same)


@pytest.mark.parametrize("path,status,cache", [
    (f"/dumps/{V1}/ikmkg.ttl", 200, IMMUTABLE),
    (f"/dumps/{V2}/ikmkg.nq.gz", 200, IMMUTABLE),
    (f"/dumps/{V2}/csv/ikm-Province.csv", 200, IMMUTABLE),
    (f"/dumps/{V2}/ikmkg-{V2}-bundle.zip", 200, IMMUTABLE),
    ("/dumps/latest/ikmkg.ttl", 200, "public, max-age=300"),
    (f"/releases/{V1}/validation", 200, IMMUTABLE),
    (f"/releases/{V1}/validation.ttl", 200, IMMUTABLE),
    ("/dumps/ikmkg.ttl", 200, "public, no-cache"),  # the current graph's dumps are still there
    ("/dumps/csv/ikm-Province.csv", 200, "public, no-cache"),
    ("/dumps/7.7.7/ikmkg.ttl", 404, None),
    (f"/dumps/{V1}/nothing.ttl", 404, None),
    (f"/dumps/{V1}/../{V2}/ikmkg.ttl", 404, None),
])
def test_version_paths_and_caching(client, path, status, cache):
    response = client.get(path)
    assert response.status_code == status, path
    if cache:
        assert response.headers["Cache-Control"] == cache


def test_versioned_dumps_are_the_release(client, project):
    for version in (V1, V2):
        served = Graph().parse(data=client.get(f"/dumps/{version}/ikmkg.ttl").data,
                               format="turtle")
        kg = rel.knowledge_graph(rel.get_release(project, version))
        assert isomorphic(served, kg.ontology + kg.shapes + kg.data), version
    latest = client.get("/dumps/latest/ikmkg.ttl")
    assert latest.data == client.get(f"/dumps/{V2}/ikmkg.ttl").data
    assert latest.headers["Content-Location"] == f"/dumps/{V2}/ikmkg.ttl"
    etag = client.get(f"/dumps/{V1}/ikmkg.ttl").headers["ETag"]
    assert client.get(f"/dumps/{V1}/ikmkg.ttl", headers={"If-None-Match": etag}).status_code \
        == 304
    assert client.get(f"/dumps/{V1}/").status_code == 302


def test_time_travel_pages(client):
    old = client.get("/doc/province/test-c?version=1.0.0")
    assert old.status_code == 200
    html = old.get_data(as_text=True)
    assert "shown as it was in release" in html and "Test province C" in html
    assert 'href="/doc/province/test-c" class="latest"' in html
    assert "/doc/country/test?version=1.0.0" in html, "links stay in the release"
    assert client.get("/doc/province/test-c").status_code == 404, "removed in 2.0.0"
    assert client.get("/doc/province/test-d?version=1.0.0").status_code == 404
    assert client.get("/doc/province/test-b?version=7.7.7").status_code == 404
    redirect = client.get("/id/province/test-b?version=1.0.0")
    assert redirect.status_code == 303 and redirect.location.endswith("?version=1.0.0")


@pytest.mark.parametrize("version,label", [(V1, "Test province B"),
                                           (V2, "Test province B (renamed)")])
def test_time_travel_rdf(client, version, label):
    for url, headers in ((f"/doc/province/test-b.ttl?version={version}", {}),
                         (f"/doc/province/test-b?version={version}",
                          {"Accept": "text/turtle"})):
        response = client.get(url, headers=headers)
        assert response.mimetype == "text/turtle", url
        g = Graph().parse(data=response.data, format="turtle")
        labels = {str(o) for o in g.objects(URIRef(f"{ID}province/test-b"),
                                            URIRef("http://www.w3.org/2000/01/rdf-schema#label"))
                  if o.language == "en"}
        assert labels == {label}


def test_resource_page_history_and_conformance(client):
    html = client.get("/doc/province/test-b").get_data(as_text=True)
    assert "Changed in release" in html and f'href="/releases/{V2}"' in html
    assert "Test province B (renamed)" in html and "Test province B</span>" in html
    assert f'/releases/{V2}/validation' in html and "Conforms to the SHACL shapes" in html
    assert f'href="/doc/province/test-b?version={V2}" class="versioned"' in html
    unchanged = client.get("/doc/period/test-other").get_data(as_text=True)
    assert "Changed in release" not in unchanged
    span = client.get("/doc/period/test-span").get_data(as_text=True)
    assert "Changed in release" in span


def test_validation_report(client):
    g = Graph().parse(data=client.get(f"/releases/{V2}/validation.ttl").data, format="turtle")
    assert [o.toPython() for o in g.objects(None, SH.conforms)] == [True]
    html = client.get(f"/releases/{V2}/validation").get_data(as_text=True)
    assert "Conforms" in html and V2 in html


def test_void_lists_releases(client):
    g = Graph().parse(data=client.get("/.well-known/void", headers={"Accept": "text/turtle"})
                      .data, format="turtle")
    d = URIRef(DATASET)
    assert set(g.objects(d, DCAT.hasVersion)) == {URIRef(f"{DATASET}/{V1}"),
                                                      URIRef(f"{DATASET}/{V2}")}
    assert g.value(d, DCAT.hasCurrentVersion) == URIRef(f"{DATASET}/{V2}")
    assert (URIRef(f"{DATASET}/{V2}"), PROV.wasRevisionOf, URIRef(f"{DATASET}/{V1}")) in g


def test_releases_under_another_base(project):
    """Release files are written under the canonical base and rebased when served elsewhere."""
    base = "http://example.test/kg/"
    settings = dataclasses.replace(project, base_uri=base)
    app = make_app(EmbeddedStore(kg_module.load(settings)), base_uri=base,
                   project_dir=project.project_dir, cache_dir=project.cache_dir)
    c = app.test_client()
    g = Graph().parse(data=c.get(f"/releases/{V2}.ttl").data, format="turtle")
    assert (URIRef(f"{base}id/dataset/ikmkg/{V2}"), DCAT.previousVersion,
            URIRef(f"{base}id/dataset/ikmkg/{V1}")) in g
    assert not [t for triple in g for t in triple if "w3id.org/ikmkg" in str(t)]
    old = Graph().parse(data=c.get("/doc/province/test-b.ttl?version=1.0.0").data,
                        format="turtle")
    assert (URIRef(f"{base}id/province/test-b"), RDFS.label,
            Literal("Test province B", lang="en")) in old
    [entry] = bibtexparser.parse_string(c.get("/cite?format=bibtex").get_data(as_text=True)
                                        ).entries
    assert entry["url"] == f"{base}id/dataset/ikmkg"
    assert "Changed in release" in c.get("/doc/province/test-b").get_data(as_text=True)
    dump = Graph().parse(data=c.get(f"/dumps/{V1}/ikmkg.ttl").data, format="turtle")
    assert (URIRef(f"{base}id/province/test-c"), RDF.type, None) in dump


# --- citations ----------------------------------------------------------------------------------

def _cite(client, fmt: str, **args) -> str:
    response = client.get("/cite", query_string={"format": fmt, **args})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == rel.CITATION_FORMATS[fmt]
    return response.get_data(as_text=True)


def test_citation_bibtex(client):
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    library = bibtexparser.parse_string(_cite(client, "bibtex"))
    assert not library.failed_blocks
    [entry] = library.entries
    assert entry.entry_type == "misc"
    assert entry["version"] == V2 and entry["url"] == DATASET and entry["urldate"] == today
    assert f"{DATASET}/{V2}" in entry["note"] and entry["year"] == "2026"
    resource = bibtexparser.parse_string(_cite(client, "bibtex", iri=f"{ID}province/test-c",
                                               version=V1)).entries[0]
    assert resource["title"] == "Test province C" and resource["version"] == V1
    assert resource["url"] == f"{ID}province/test-c"


def test_bibtex_escapes_tex():
    citation = rel.make_citation(f"{ID}x/y", "A & B_1 {50%} #2 $ ~ ^ \\", None,
                                 "https://w3id.org/ikmkg/", dt.date(2026, 1, 2))
    [entry] = bibtexparser.parse_string(rel.format_citation(citation, "bibtex")).entries
    assert entry["title"] == (r"A \& B\_1 \{50\%\} \#2 \$ \~{} \^{} \textbackslash{}")
    assert entry["version"] == "unreleased" and entry["urldate"] == "2026-01-02"


def test_citation_csl_json(client):
    from citeproc import Citation, CitationItem, CitationStylesBibliography, CitationStylesStyle
    from citeproc import formatter
    from citeproc.source.json import CiteProcJSON

    items = json.loads(_cite(client, "csl-json", iri=f"{ID}province/test-b"))
    [item] = items
    assert item["type"] == "dataset" and item["version"] == V2
    assert item["title"] == "Test province B (renamed)"
    assert item["issued"] == {"date-parts": [[2026, 11, 20]]}
    source = CiteProcJSON(items)
    style = CitationStylesStyle("harvard-cite-them-right", validate=False)
    bibliography = CitationStylesBibliography(style, source, formatter.plain)
    bibliography.register(Citation([CitationItem(item["id"])]))
    [text] = [str(b) for b in bibliography.bibliography()]
    assert "Test province B (renamed)" in text and "2026" in text
    assert f"{ID}province/test-b" in text


def test_citation_text_and_ris(client):
    today = dt.datetime.now(dt.timezone.utc).date()
    text = _cite(client, "text", iri=f"{ID}province/test-b", version=V1)
    assert "Test province B" in text and "version 1.0.0" in text
    assert f"{DATASET}/{V1}" in text and f"Accessed {today.isoformat()}" in text
    ris = _cite(client, "ris").splitlines()
    fields = dict(line.split("  - ", 1) if "  - " in line else (line.rstrip(" -"), "")
                  for line in ris)
    assert ris[0] == "TY  - DATA" and ris[-1].startswith("ER  -")
    assert fields["ET"] == V2 and fields["UR"] == DATASET and fields["PY"] == "2026"
    assert fields["Y2"] == today.strftime("%Y/%m/%d")


@pytest.mark.parametrize("query,status", [
    ({"format": "mla"}, 406),
    ({"iri": f"{ID}province/test-c"}, 404),  # not in the newest release
    ({"iri": "https://example.org/x"}, 404),
    ({"version": "7.7.7"}, 404),
])
def test_citation_errors(client, query, status):
    assert client.get("/cite", query_string=query).status_code == status


def test_pages_offer_citations(client):
    for path in ("/doc/province/test-b", "/doc/dataset/ikmkg", f"/releases/{V2}"):
        html = client.get(path).get_data(as_text=True)
        assert "How to cite" in html and f"version {V2}" in html, path
        for fmt in rel.CITATION_FORMATS:
            assert f"format={fmt}" in html, (path, fmt)


def test_one_citation_of_the_dataset_everywhere(client, bundle):
    """Issue #17: the home, dumps, dataset and release pages show the same citation of the
    dataset as /cite gives, and the bundle's citation is that one too (its access date is the
    release date, for reproducible bytes)."""
    import html as html_module
    import re

    expected = _cite(client, "text").strip()
    for path in ("/", "/dumps/", "/doc/dataset/ikmkg", f"/releases/{V2}"):
        page = client.get(path).get_data(as_text=True)
        found = re.findall(r'<p class="citation"[^>]*>(.*?)</p>', page, re.S)
        assert [html_module.unescape(text) for text in found] == [expected], path
    served = json.loads(_cite(client, "csl-json"))
    bundled = json.loads(bundle.read("citation.json"))
    for item in (*served, *bundled):
        item.pop("accessed")
    assert bundled == served


def test_citation_cff_generated(project):
    cff = yaml.safe_load((Path(project.project_dir) / "CITATION.cff").read_text())
    expected = rel.citation_cff_data(rel.latest_release(project))
    assert json.loads(json.dumps(cff, default=str)) == expected
    assert cff["version"] == V2 and str(cff["date-released"]) == DATE2
    assert cff["references"][0]["title"].startswith("Indonesia dan Jepang")


def test_shipped_citation_cff_agrees_with_latest_release():
    """The repository's CITATION.cff is generated from its newest release."""
    settings = Settings()
    latest = rel.latest_release(settings)
    if latest is None:
        pytest.skip("no release recorded in this repository yet")
    cff = yaml.safe_load((PROJECT_DIR / "CITATION.cff").read_text(encoding="utf-8"))
    assert json.loads(json.dumps(cff, default=str)) == rel.citation_cff_data(latest)


# --- the research bundle ------------------------------------------------------------------------

BUNDLE_FILES = {
    "ro-crate-metadata.json", "SHA256SUMS", "LICENSE.txt", "CITATION.cff", "CITATION.bib",
    "citation.json", "citation.ris", "release.ttl", "changes.ttl", "void.ttl",
    "ontology/ikm.ttl", "ontology/shapes.ttl", "validation/report.ttl", "validation/report.html",
    "queries/provinces.rq", "queries/provinces-results.csv", "queries/provinces-results.json",
    "queries/has-country.rq", "queries/has-country-results.json",
    "dumps/ikmkg.ttl", "dumps/ikmkg.nt.gz", "dumps/ikmkg.jsonld", "dumps/ikmkg.rdf",
    "dumps/ikmkg.trig", "dumps/ikmkg.nq.gz", "dumps/SHA256SUMS", "dumps/manifest.json",
    "dumps/context.jsonld",
}


def test_bundle_contents(bundle, project):
    names = {n for n in bundle.namelist() if not n.endswith("/")}
    assert BUNDLE_FILES <= names, BUNDLE_FILES - names
    assert {n for n in names if n.startswith("dumps/csv/")} == {
        "dumps/csv/ikm-Country.csv", "dumps/csv/ikm-Province.csv", "dumps/csv/time-Instant.csv",
        "dumps/csv/time-ProperInterval.csv"}
    sums = dict(reversed(line.split("  ", 1))
                for line in bundle.read("SHA256SUMS").decode().splitlines())
    assert set(sums) == names - {"SHA256SUMS", "ro-crate-metadata.json"}
    for name, digest in sums.items():
        assert hashlib.sha256(bundle.read(name)).hexdigest() == digest, name
    rows = bundle.read("queries/provinces-results.csv").decode().splitlines()
    assert len(rows) == 4 and "Test province B (renamed)" in rows[2]
    assert json.loads(bundle.read("queries/has-country-results.json"))["boolean"] is True
    kg = rel.knowledge_graph(rel.get_release(project, V2))
    assert isomorphic(Graph().parse(data=bundle.read("ontology/shapes.ttl"), format="turtle"),
                      kg.shapes)
    void = Graph().parse(data=bundle.read("void.ttl"), format="turtle")
    v2 = URIRef(f"{DATASET}/{V2}")
    dumps_urls = {str(o) for o in void.objects(v2, URIRef("http://rdfs.org/ns/void#dataDump"))}
    assert f"https://w3id.org/ikmkg/dumps/{V2}/ikmkg.ttl" in dumps_urls
    changes = Graph().parse(data=bundle.read("changes.ttl"), format="turtle")
    assert len(set(changes.subjects(RDF.type, rel.CS.ChangeSet))) == len(CHANGED)
    assert b"Conforms" in bundle.read("validation/report.html")
    assert bibtexparser.parse_string(bundle.read("CITATION.bib").decode()).entries[0][
        "version"] == V2


def test_bundle_ro_crate_metadata(bundle):
    crate = json.loads(bundle.read("ro-crate-metadata.json"))
    assert crate["@context"] == "https://w3id.org/ro/crate/1.1/context"
    entities = {e["@id"]: e for e in crate["@graph"]}
    assert entities["ro-crate-metadata.json"]["conformsTo"] == {
        "@id": "https://w3id.org/ro/crate/1.1"}
    root = entities["./"]
    assert root["version"] == V2 and root["identifier"] == f"{DATASET}/{V2}"
    assert root["datePublished"] == DATE2
    reachable, todo = set(), ["./"]
    while todo:
        for part in entities[todo.pop()].get("hasPart", []):
            reachable.add(part["@id"])
            todo.append(part["@id"])
    files = {n for n in bundle.namelist() if not n.endswith("/")} - {"ro-crate-metadata.json"}
    assert files <= reachable, files - reachable
    for name in files:
        assert entities[name]["@type"] == "File"
        assert entities[name]["contentSize"] == str(len(bundle.read(name)))


def test_bundle_validates_as_ro_crate(client, tmp_path, monkeypatch):
    """roc-validator (RO-Crate 1.1 profile, REQUIRED and RECOMMENDED checks) accepts the bundle.

    The validator fetches the RO-Crate JSON-LD context, and this machine reaches no web site:
    the context is served from the copy ro-crate-py ships (its 1.3 context, whose terms used
    here map to the same schema.org and DCTERMS IRIs as 1.1's).
    """
    import requests
    import rocrate
    from rocrate_validator import models, services
    from rocrate_validator.utils import http

    context = json.loads((Path(rocrate.__file__).parent / "data" / "ro-crate.jsonld")
                         .read_text(encoding="utf-8"))["@context"]
    asked = []

    def get(self, url, **kwargs):  # noqa: ANN001, ANN003, ANN202
        asked.append(url)
        if url == "https://w3id.org/ro/crate/1.1/context":
            response = requests.Response()
            response.status_code, response.url = 200, url
            response._content = json.dumps({"@context": context}).encode()
            response.headers["Content-Type"] = "application/ld+json"
            return response
        return self.session.get(url, **kwargs)

    monkeypatch.setattr(http.HttpRequester, "get", get, raising=False)
    path = tmp_path / "bundle.zip"
    path.write_bytes(client.get(f"/dumps/{V2}/ikmkg-{V2}-bundle.zip").data)
    converters = dict(rdflib_term._toPythonMapping)
    try:
        result = services.validate(models.ValidationSettings(
            rocrate_uri=str(path), profile_identifier="ro-crate-1.1", offline=True,
            requirement_severity=models.Severity.RECOMMENDED))
    finally:
        # The validator runs OWL-RL inference, which swaps rdflib's lexical converters for
        # owlrl's process-wide (its gMonthDay parser rejects "--08-22"); put rdflib's back.
        rdflib_term._toPythonMapping.clear()
        rdflib_term._toPythonMapping.update(converters)
    assert result.passed(), [issue.message for issue in result.get_issues()]
    assert asked, "the validator read the crate's context"


def test_bundle_is_deterministic(project, tmp_path):
    first = rel.build_release(project, V1, tmp_path / "a")
    second = rel.build_release(project, V1, tmp_path / "b")
    assert first.bundle.read_bytes() == second.bundle.read_bytes()
    names = zipfile.ZipFile(first.bundle).namelist()
    assert "changes.ttl" not in names, "the first release has nothing to compare with"
