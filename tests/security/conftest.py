"""The server under attack: the real `ikmkg serve`, started once per test module."""

from __future__ import annotations

import pytest
from backends import running_ikmkg
from conftest import SPARQL_PROJECT


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The real server over the small synthetic project, default settings but for the cache."""
    with running_ikmkg(SPARQL_PROJECT, tmp_path_factory.mktemp("cache")) as (url, _):
        yield url
