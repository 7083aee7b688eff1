"""The publishing pipeline (ikmkg.publish): however the graph is published, the same bytes.

`ikmkg dump`, the files the server serves under /dumps/ and the dumps of a release recorded
from the same files are made by three different paths (the command's own validated graph, the
server's store built in a child process and queried back, the release's canonical snapshot
parsed again). Issue #14: they once disagreed by 2 statements, because validation added
pySHACL's axioms to the shapes graph on one path only.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from ikmkg import dumps
from ikmkg import kg as kg_module
from ikmkg.app import create_app
from ikmkg.cli import cli
from ikmkg.settings import PROJECT_DIR, Settings

VERSION, DATE = "1.0.0", "2026-01-15"
HOW = ("cli", "served", "release")


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of the shipped project without its releases (a release is recorded into it)."""
    root = tmp_path_factory.mktemp("publish") / "project"
    for folder in ("ontology", "data", "queries"):
        shutil.copytree(PROJECT_DIR / folder, root / folder)
    return root


@pytest.fixture(scope="module")
def made(project, tmp_path_factory) -> dict[str, Path]:
    """The dump folder each way makes it: `ikmkg dump`, the app's /dumps/, `ikmkg release`."""
    out = tmp_path_factory.mktemp("made")
    runner = CliRunner()
    result = runner.invoke(cli, ["dump", "--out", str(out / "cli"), "--project-dir", str(project)])
    assert result.exit_code == 0, result.output

    app = create_app(Settings(project_dir=str(project), cache_dir=str(out / "cache")))
    try:
        client = app.test_client()
        for name in tree(out / "cli"):
            response = client.get(f"/dumps/{name}")
            assert response.status_code == 200, name
            (out / "served" / name).parent.mkdir(parents=True, exist_ok=True)
            (out / "served" / name).write_bytes(response.data)
    finally:
        app.extensions["ikmkg_store"].close()

    result = runner.invoke(cli, ["release", VERSION, "--date", DATE, "--out", str(out / "release"),
                                 "--project-dir", str(project)])
    assert result.exit_code == 0, result.output
    return {"cli": out / "cli", "served": out / "served", "release": out / "release" / "dumps"}


def manifest(folder: Path) -> dict:
    return json.loads((folder / dumps.MANIFEST_FILE).read_text(encoding="utf-8"))


def test_every_way_publishes_the_same_statements(made):
    counts = {how: manifest(made[how])["triples"] for how in HOW}
    assert len(set(counts.values())) == 1, f"triples per way of publishing: {counts}"
    graphs = {how: manifest(made[how])["graphs"] for how in HOW}
    assert graphs["cli"] == graphs["served"] == graphs["release"]


def test_what_is_published_is_exactly_the_files_statements(made, project):
    """Per named graph, as many statements as pyoxigraph reads from the files: validation
    adds nothing (pySHACL's axioms once reached every dump through the shapes graph)."""
    files = kg_module.load_oxigraph(Settings(project_dir=str(project)))
    expected = {files.graph(name).value: len(list(files.store.quads_for_pattern(
        None, None, None, files.graph(name)))) for name in kg_module.GRAPH_NAMES}
    assert manifest(made["cli"])["graphs"] == expected


@pytest.mark.parametrize("name", [kind.name for kind in dumps.RDF_DUMPS] + [dumps.CONTEXT_FILE])
def test_each_rdf_dump_is_byte_identical_however_it_is_made(made, name):
    cli_bytes = (made["cli"] / name).read_bytes()
    for how in ("served", "release"):
        assert (made[how] / name).read_bytes() == cli_bytes, f"{name}: {how} differs from cli"


def test_csv_files_are_byte_identical_however_they_are_made(made):
    csv = {how: {n: b for n, b in tree(made[how]).items() if n.startswith("csv/")}
           for how in HOW}
    assert csv["cli"], "no CSV file written"
    assert csv["served"] == csv["cli"] and csv["release"] == csv["cli"]


def test_listing_and_checksums_are_byte_identical(made):
    """The command and the server describe the same version of the files with the same
    manifest and SHA256SUMS; a release names itself by its snapshot's SHA-256 instead."""
    for name in (dumps.MANIFEST_FILE, dumps.CHECKSUM_FILE):
        assert (made["served"] / name).read_bytes() == (made["cli"] / name).read_bytes(), name
    released = {k: v for k, v in manifest(made["release"]).items() if k != "version"}
    assert released == {k: v for k, v in manifest(made["cli"]).items() if k != "version"}


def test_release_snapshot_is_the_uncompressed_nquads_dump(made, project):
    """release.ttl promises it: snapshot.nq is ikmkg.nq.gz uncompressed (canonical base)."""
    snapshot = (project / "releases" / VERSION / "snapshot.nq").read_bytes()
    assert snapshot == gzip.decompress((made["cli"] / "ikmkg.nq.gz").read_bytes())


def test_publish_refuses_data_that_does_not_conform_with_the_report(project, tmp_path):
    from ikmkg import publish  # here, so that the tests above also run on the code before it

    bad = tmp_path / "bad"
    for folder in ("ontology", "queries"):
        shutil.copytree(project / folder, bad / folder)
    (bad / "data").mkdir()
    (bad / "data" / "bad.ttl").write_text(
        "<https://w3id.org/ikmkg/id/country/x> a <https://w3id.org/ikmkg/ontology#Country> .\n")
    with pytest.raises(publish.DoesNotConform) as raised:
        publish.publish(Settings(project_dir=str(bad)))
    assert not raised.value.report.conforms
    assert "country/x" in raised.value.message
