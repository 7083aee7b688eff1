"""The application factory: load and validate the graph, pick the store, register blueprints."""

from __future__ import annotations

import dataclasses
import functools
import logging

from flask import Flask
from rdflib import Graph

from ikmkg import conformance
from ikmkg import kg as kg_module
from ikmkg.errors import DataError
from ikmkg.pooled_store import open_published
from ikmkg.settings import CANONICAL_BASE, Settings
from ikmkg.store import Store
from ikmkg.validation import check_conformance, validate

log = logging.getLogger(__name__)

#: Data triples from which the fast conformance check runs first (below, pySHACL alone takes
#: a few seconds at most; the shipped graph has about 6,000).
FAST_CHECK_FROM = 20_000


def _copy(graph: Graph) -> Graph:
    copy = Graph()
    for triple in graph:
        copy.add(triple)
    return copy


def load_validated(settings: Settings) -> kg_module.KnowledgeGraph | kg_module.OxigraphGraph:
    """Load and validate the graph; refuse invalid data with the report as message.

    A graph of FAST_CHECK_FROM data triples or more is parsed by pyoxigraph and checked by
    ikmkg.conformance (the shapes as set-at-a-time SPARQL queries, issue #3); when it conforms,
    that parse is what gets published. When the check finds any result, or cannot decide (a
    shape feature it does not implement, literals rdflib would read differently), or the graph
    is small, the files are loaded with rdflib and validated by pySHACL as they always were:
    pySHACL decides, and its report is the one a person reads.
    """
    graph = kg_module.load_oxigraph(settings)
    found = None
    if graph.data_triples() >= FAST_CHECK_FROM:
        try:
            results = check_conformance(graph)
        except conformance.Unsupported as exc:
            log.warning("fast SHACL check not applicable (%s): validating with pySHACL", exc)
        else:
            if conformance.conforms(results):
                if settings.base_uri != CANONICAL_BASE:
                    graph = graph.rebased(settings.base_uri)
                return graph
            found = len(results)
            log.warning("fast SHACL check: %d result(s); validating with pySHACL for the report",
                        found)
    del graph
    kg = kg_module.load(settings)
    # pyshacl adds RDFS/OWL axioms to the shapes graph it is given: validate on copies of the
    # (small) shapes and ontology graphs, so that exactly the files' triples are published.
    report = validate(dataclasses.replace(kg, shapes=_copy(kg.shapes),
                                          ontology=_copy(kg.ontology)))
    if not report.conforms:
        raise DataError("the data does not conform to the shapes; nothing is served.\n"
                        + report.text())
    if found:
        log.error("pySHACL finds the data conforming although the fast SHACL check reported "
                  "%d result(s): publishing (pySHACL decides); please report this", found)
    return kg


def load_store(settings: Settings) -> Store:
    """The published store: built once per content hash and base (load, validate, write to disk),
    reused as is on a restart with unchanged files. The rdflib graphs are not kept: serving
    reads only the store (see ikmkg.pooled_store.PooledStore). With `settings.store` set,
    the graph is served from that remote SPARQL store instead (loaded there by `ikmkg load
    --store`).
    """
    if settings.store:
        from ikmkg.remote import RemoteStore

        return RemoteStore.from_settings(settings)
    return open_published(settings, functools.partial(load_validated, settings))


def create_app(settings: Settings | None = None, *, store: Store | None = None) -> Flask:
    """Build the Flask app for `settings` (defaults when None); `store` skips loading (tests)."""
    settings = settings or Settings()
    app = Flask(__name__)
    app.config["IKMKG_SETTINGS"] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    if store is None:
        store = load_store(settings)
    app.extensions["ikmkg_store"] = store

    from ikmkg.web import dumps, errors, i18n, pages, releases, sparql

    errors.register_error_handlers(app)
    i18n.init_app(app)
    from ikmkg.web import ops

    ops.init_app(app)
    from ikmkg.web import transport

    transport.init_app(app)
    app.register_blueprint(sparql.blueprint)
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(dumps.blueprint)
    app.register_blueprint(releases.blueprint)
    from ikmkg.web import fragments as fragments_web
    from ikmkg.web import maps as maps_web
    from ikmkg.web import reconcile as reconcile_web
    from ikmkg.web import search as search_web

    app.register_blueprint(search_web.blueprint)
    app.register_blueprint(reconcile_web.blueprint)
    app.register_blueprint(fragments_web.blueprint)
    app.register_blueprint(maps_web.blueprint)
    from ikmkg.web import workbench

    app.register_blueprint(workbench.blueprint)
    return app
