"""Data updates without downtime (ikmkg.reload): swap, refusal, concurrency, a real server."""

from __future__ import annotations

import json
import logging
import shutil
import signal
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from backends import free_port, server_log, spawn_ikmkg, stop
from conftest import SPARQL_PROJECT

from ikmkg.app import create_app
from ikmkg.reload import reload_app
from ikmkg.settings import Settings

OLD_LABEL = '"Province 00"@en'
NEW_LABEL = '"Province 00 renamed"@en'
PAGE = "/doc/province/p00"
LABEL_QUERY = ("SELECT ?l WHERE { <https://w3id.org/ikmkg/id/province/p00> "
               "<http://www.w3.org/2000/01/rdf-schema#label> ?l FILTER(lang(?l) = 'en') }")
#: A province without a label: the test shapes require one (sh:minCount 1).
UNLABELLED = ("\n<https://w3id.org/ikmkg/id/province/p99> a "
              "<https://w3id.org/ikmkg/ontology#Province> .\n")


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    for part in ("ontology", "data", "queries"):
        shutil.copytree(SPARQL_PROJECT / part, project / part)
    return project


def _edit(project: Path, old: str, new: str) -> None:
    path = project / "data" / "sample.ttl"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.fixture()
def project_app(tmp_path):
    project = _project(tmp_path)
    settings = Settings(project_dir=str(project), cache_dir=str(tmp_path / "cache"),
                        query_timeout=5.0)
    app = create_app(settings)
    app.config["TESTING"] = True
    yield project, app
    app.extensions["ikmkg_store"].close()


def _label(client) -> str:
    response = client.get("/sparql", query_string={"query": LABEL_QUERY},
                          headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200, response.data[:300]
    return response.get_json()["results"]["bindings"][0]["l"]["value"]


def _data_version(client) -> str:
    return client.get("/version").get_json()["data"]


def test_reload_swaps_version_triple_and_etag(project_app):
    project, app = project_app
    client = app.test_client()
    old_version, old_etag = _data_version(client), client.get(PAGE).headers["ETag"]
    assert _label(client) == "Province 00"
    _edit(project, OLD_LABEL, NEW_LABEL)
    assert reload_app(app) is True
    assert _data_version(client) != old_version
    assert _label(client) == "Province 00 renamed"
    page = client.get(PAGE)
    assert page.headers["ETag"] != old_etag
    assert "Province 00 renamed" in page.get_data(as_text=True)
    # A conditional request with the old ETag now gets the new page, not a 304.
    assert client.get(PAGE, headers={"If-None-Match": old_etag}).status_code == 200


def test_reload_of_unchanged_files_keeps_the_store(project_app):
    _, app = project_app
    store = app.extensions["ikmkg_store"]
    assert reload_app(app) is True
    assert app.extensions["ikmkg_store"] is store


def test_nonconforming_change_is_refused_and_logged(project_app, caplog):
    project, app = project_app
    client = app.test_client()
    old_version, store = _data_version(client), app.extensions["ikmkg_store"]
    path = project / "data" / "sample.ttl"
    path.write_text(path.read_text().replace(OLD_LABEL, NEW_LABEL, 1) + UNLABELLED)
    with caplog.at_level(logging.ERROR, logger="ikmkg.reload"):
        assert reload_app(app) is False
    assert "reload refused" in caplog.text
    assert "province/p99" in caplog.text  # the validation report names the focus node
    assert app.extensions["ikmkg_store"] is store
    assert _data_version(client) == old_version
    assert _label(client) == "Province 00"


def test_a_request_keeps_the_store_it_started_with(project_app):
    """The swap is one reference; a request reads it once, so a swap mid-request is not seen."""
    from ikmkg.reload import swap
    from ikmkg.web import get_store

    _, app = project_app
    old, new = app.extensions["ikmkg_store"], object()
    with app.test_request_context(PAGE):
        assert get_store() is old
        assert swap(app, new) is old
        assert get_store() is old  # the same request: still the old store
    with app.test_request_context(PAGE):
        assert get_store() is new  # the next request: the new one
    swap(app, old)


def test_reload_under_concurrent_requests(project_app):
    """Threads fetch a page while the graph flips back and forth: every response is whole and
    either the old version (old ETag, old label) or the new one, never a mix, never an error."""
    project, app = project_app
    client = app.test_client()
    old = (client.get(PAGE).headers["ETag"], "Province 00 renamed" not in
           client.get(PAGE).get_data(as_text=True))
    _edit(project, OLD_LABEL, NEW_LABEL)
    assert reload_app(app)
    new = (client.get(PAGE).headers["ETag"], False)
    assert new[0] != old[0]
    seen, errors, stop = [], [], threading.Event()

    def hammer() -> None:
        local = app.test_client()
        while not stop.is_set():
            response = local.get(PAGE)
            if response.status_code != 200:
                errors.append(response.status_code)
                continue
            body = response.get_data(as_text=True)
            seen.append((response.headers["ETag"], "Province 00 renamed" not in body))

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        for i in range(6):  # both versions are built now: each reload is a quick swap
            _edit(project, *((NEW_LABEL, OLD_LABEL) if i % 2 == 0 else (OLD_LABEL, NEW_LABEL)))
            assert reload_app(app)
            time.sleep(0.15)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert not errors
    assert set(seen) <= {old, new}, set(seen) - {old, new}
    assert {old, new} <= set(seen)  # both versions were served during the run


# --- a real server -------------------------------------------------------------------------

def _get_label(port: int) -> str | None:
    url = (f"http://127.0.0.1:{port}/sparql?"
           + urllib.parse.urlencode({"query": LABEL_QUERY}))
    request = urllib.request.Request(url, headers={"Accept": "application/sparql-results+json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.load(response)["results"]["bindings"][0]["l"]["value"]
    except OSError:
        return None


def _poll(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture()
def serve(tmp_path):
    started = []

    def start(*extra: str) -> tuple[Path, int, subprocess.Popen]:
        project, port = _project(tmp_path), free_port()
        proc = spawn_ikmkg(project, tmp_path / "cache", port, *extra)
        started.append(proc)
        assert _poll(lambda: _get_label(port) == "Province 00", 60), \
            server_log(tmp_path / "cache")[-2000:]
        return project, port, proc

    yield start
    for proc in started:
        stop(proc)




def test_real_server_reloads_on_sighup(serve, tmp_path):
    project, port, proc = serve()
    _edit(project, OLD_LABEL, NEW_LABEL)
    time.sleep(0.5)
    assert _get_label(port) == "Province 00"  # no reload without the signal
    proc.send_signal(signal.SIGHUP)
    assert _poll(lambda: _get_label(port) == "Province 00 renamed", 60), \
        server_log(tmp_path / "cache")[-2000:]
    # A non-conforming change is refused: the server keeps serving the last good graph.
    path = project / "data" / "sample.ttl"
    path.write_text(path.read_text() + UNLABELLED)
    proc.send_signal(signal.SIGHUP)
    assert _poll(lambda: "reload refused" in server_log(tmp_path / "cache"), 60)
    assert _get_label(port) == "Province 00 renamed"
    assert proc.poll() is None


def test_real_server_watch_reloads_on_file_change(serve, tmp_path):
    project, port, _ = serve("--watch")
    _edit(project, OLD_LABEL, NEW_LABEL)
    assert _poll(lambda: _get_label(port) == "Province 00 renamed", 60), \
        server_log(tmp_path / "cache")[-2000:]
