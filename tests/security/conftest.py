"""The server under attack: the real `ikmkg serve`, started once per test module."""

from __future__ import annotations

import pytest
from backends import free_port, wait_for_server
from conftest import SPARQL_PROJECT

from security.attack import spawn_server, stop_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The real server over the small synthetic project, default settings but for the cache."""
    port, cache = free_port(), tmp_path_factory.mktemp("cache")
    process = spawn_server(SPARQL_PROJECT, cache, port)
    url = f"http://127.0.0.1:{port}"
    wait_for_server(process, url + "/healthz", 90,
                    lambda: (cache / "server.log").read_text(errors="replace"))
    yield url
    stop_server(process)
