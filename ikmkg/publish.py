"""The publishing pipeline: read the files, validate them, the published graph, open the store.

    files --read--> KnowledgeGraph --validate--> Publication --> dumps, release, remote load
                                                      \\--> on-disk store --> served

Every way the graph leaves ikmkg goes through here, so every way publishes the same triples:
the app factory and the reload (`open_store`), `ikmkg dump`, `ikmkg release` and `ikmkg load`
(`publish`). Validation never changes the graphs it checks (ikmkg.validation), and nothing
is published from data that does not conform (`DoesNotConform`, with the report).
`ikmkg validate` reports on any files without publishing them, so it calls ikmkg.validation
itself. This module knows nothing about HTTP.
"""

from __future__ import annotations

import dataclasses
import functools
import logging

from ikmkg import conformance
from ikmkg import kg as kg_module
from ikmkg.errors import DataError
from ikmkg.kg import KnowledgeGraph, OxigraphGraph
from ikmkg.pooled_store import open_published
from ikmkg.remote import RemoteStore
from ikmkg.settings import CANONICAL_BASE, Settings
from ikmkg.store import Store
from ikmkg.validation import ValidationReport, check_conformance, validate

log = logging.getLogger(__name__)

#: Data triples from which the fast conformance check runs first (below, pySHACL alone takes
#: a few seconds at most; the shipped graph has about 6,000).
FAST_CHECK_FROM = 20_000


class DoesNotConform(DataError):
    """The data violates the shapes, so nothing is published; `report` says where."""

    def __init__(self, report: ValidationReport):
        super().__init__("the data does not conform to the shapes; nothing is published.\n"
                         + report.text())
        self.report = report


@dataclasses.dataclass(frozen=True)
class Publication:
    """The graph that passed validation, exactly as the files state it, and its report."""

    graph: KnowledgeGraph
    report: ValidationReport


def publish(settings: Settings) -> Publication:
    """Read the project's files and validate them: the graph to publish under
    `settings.base_uri` (what `ikmkg dump`, `ikmkg release` and `ikmkg load` publish).

    Raises:
        TurtleSyntaxError: a file does not parse.
        DoesNotConform: the data violates the shapes (the report is on the exception).
        DataError: a file is missing or unreadable, or the shapes cannot be applied.
    """
    graph = kg_module.load(settings)
    report = validate(graph)
    if not report.conforms:
        raise DoesNotConform(report)
    return Publication(graph, report)


def published_graph(settings: Settings) -> KnowledgeGraph | OxigraphGraph:
    """The graph the served store is built from: `publish(settings).graph`, or for a large
    graph the same triples parsed by pyoxigraph when the fast check finds it conforming.

    A graph of FAST_CHECK_FROM data triples or more is parsed by pyoxigraph and checked by
    ikmkg.conformance (the shapes as set-at-a-time SPARQL queries, issue #3); when it conforms,
    that parse is what gets published. When the check finds any result, or cannot decide (a
    shape feature it does not implement, literals rdflib would read differently), or the graph
    is small, `publish` decides: pySHACL, and its report is the one a person reads.

    Raises:
        DataError: as `publish`.
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
    published = publish(settings).graph
    if found:
        log.error("pySHACL finds the data conforming although the fast SHACL check reported "
                  "%d result(s): publishing (pySHACL decides); please report this", found)
    return published


def open_store(settings: Settings) -> Store:
    """The store to serve: built once per content hash and base (read, validate, write to disk,
    in a child process: see ikmkg.pooled_store.open_published), reused as is on a restart with
    unchanged files. With `settings.store` set, the remote SPARQL store that `ikmkg load`
    published into instead.

    Raises:
        DataError: as `publish` (only when the store is built).
    """
    if settings.store:
        return RemoteStore.from_settings(settings)
    return open_published(settings, functools.partial(published_graph, settings))
