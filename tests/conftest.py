"""Shared fixtures: settings, the loaded graph, the app and its clients (session-scoped)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ikmkg import kg as kg_module
from ikmkg.settings import Settings

TESTS_DIR = Path(__file__).parent
TEST_DATA_DIR = TESTS_DIR / "data"
PROJECT_DIR = TESTS_DIR.parent


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def knowledge_graph(settings: Settings) -> kg_module.KnowledgeGraph:
    """The shipped graph, loaded once (canonical base)."""
    return kg_module.load(settings)


@pytest.fixture(scope="session")
def data(knowledge_graph):
    """The shipped data graph."""
    return knowledge_graph.data


@pytest.fixture(scope="session")
def article_text(settings) -> str:
    """The source article as copied into the project."""
    return (Path(settings.project_dir) / "sources" / "article-2017-12-26-republika.txt").read_text(
        encoding="utf-8")


@pytest.fixture(scope="session")
def store(knowledge_graph):
    from ikmkg.store import EmbeddedStore

    return EmbeddedStore(knowledge_graph)


def make_app(store=None, **overrides):
    """An app for tests; `store` reuses an already loaded store, `overrides` change settings."""
    from ikmkg.app import create_app

    return create_app(Settings(**overrides), store=store)


@pytest.fixture(scope="session")
def app(store, settings):
    application = make_app(store)
    application.config["TESTING"] = True
    return application


@pytest.fixture()
def client(app):
    return app.test_client()


#: A tiny synthetic project (30 provinces, 300 regencies, two named queries) for endpoint tests.
SPARQL_PROJECT = TEST_DATA_DIR / "sparql"


@pytest.fixture(scope="session")
def pooled_store(tmp_path_factory):
    """The server's store (on disk, killable executor processes) over SPARQL_PROJECT."""
    from ikmkg.publish import open_store

    store = open_store(Settings(project_dir=str(SPARQL_PROJECT), query_timeout=1.5,
                                store_mode="disk",
                                cache_dir=str(tmp_path_factory.mktemp("cache"))))
    yield store
    store.close()


@pytest.fixture(scope="session", params=["disk", "shared"])
def server_store(request, pooled_store):
    """The server's store in each mode that keeps queries stoppable: executors reading the
    on-disk store (`pooled_store`, the default) and one shared engine process holding the store
    in memory, queries on its threads, replaced when one overruns (store_mode=shared)."""
    if request.param == "disk":
        yield pooled_store
        return
    from ikmkg.pooled_store import PooledStore

    store = PooledStore.open(pooled_store.path, query_timeout=1.5, shared=True)
    yield store
    store.close()


@pytest.fixture(scope="session", params=["embedded", "oxigraph", "virtuoso"])
def backend(request, tmp_path_factory):
    """SPARQL_PROJECT on each store backend (tests/backends.py): the embedded on-disk store, and
    real Oxigraph and Virtuoso servers on loopback, loaded with `ikmkg load --store`.
    Yields a tests.backends.Backend (kind, store, server); the server stops afterwards."""
    from backends import open_backend

    opened = open_backend(request.param, SPARQL_PROJECT,
                          tmp_path_factory.mktemp(f"backend-{request.param}"), query_timeout=1.5)
    yield opened
    opened.close()
