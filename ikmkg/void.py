"""The dataset's description as served: its VoID/DCAT graph, its dumps and its releases.

`description(store, settings)` writes the dumps (ikmkg.dumps), counts the graph and builds its
VoID/DCAT graph (ikmkg.dataset) and adds the recorded releases (ikmkg.releases.catalogue), once
per graph version, for the web layer: the `/.well-known/void` document and, through
`describe_dataset`, the dataset IRI's page. This module knows nothing about HTTP.

Two dates (docs/linked-data.md): `dcterms:issued` is the date of the first recorded release (the
dataset's first publication; none before there is one) and `dcterms:modified` the instant of
the data version being served, which the web layer passes in (the instant its `Last-Modified`
headers give), in place of any date the graph states.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading

from rdflib import XSD, Graph, Literal
from rdflib.namespace import DCTERMS

from ikmkg import dumps
from ikmkg.dataset import Statistics, statistics, void_graph
from ikmkg.kg import dataset_iri
from ikmkg.namespaces import bind_prefixes
from ikmkg.releases import list_releases
from ikmkg.releases.catalogue import catalogue_graph
from ikmkg.settings import Settings
from ikmkg.store import Store


@dataclasses.dataclass
class Description:
    """The computed statistics, the dumps they describe, and the VoID/DCAT graph."""

    stats: Statistics
    manifest: dumps.Manifest
    graph: Graph


_DESCRIPTIONS: dict[tuple[str, str, str, dt.datetime | None], Description] = {}
_LOCK = threading.Lock()


def description(store: Store, settings: Settings, *,
                modified: dt.datetime | None = None) -> Description:
    """Build (once per graph version, base and dump folder) the dumps and their description.

    Args:
        modified: when the data version being served was published (its `dcterms:modified`);
            None keeps what the graph states.
    """
    manifest = dumps.ensure_dumps(store, settings)
    key = (store.version, settings.base_uri, str(manifest.directory), modified)
    with _LOCK:
        found = _DESCRIPTIONS.get(key)
        if found is None or not store.version:
            stats = statistics(store, settings.base_uri)
            graph = void_graph(stats, manifest, settings.base_uri)
            graph += catalogue_graph(settings)
            _add_dates(graph, settings, modified)
            found = Description(stats, manifest, graph)
            _DESCRIPTIONS[key] = found
        return found


def _add_dates(graph: Graph, settings: Settings, modified: dt.datetime | None) -> None:
    """`dcterms:issued` (the first release's date) and `dcterms:modified` (`modified`)."""
    dataset = dataset_iri(settings.base_uri)
    releases = list_releases(settings)
    if releases:
        graph.add((dataset, DCTERMS.issued, Literal(releases[0].date.isoformat(),
                                                    datatype=XSD.date)))
    if modified is not None:
        stamp = modified.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        graph.set((dataset, DCTERMS.modified, Literal(stamp, datatype=XSD.dateTime)))


def describe_dataset(store: Store, settings: Settings, *,
                     modified: dt.datetime | None = None) -> Graph:
    """The VoID/DCAT triples about `dataset_iri(base)`: for the dataset IRI's page.

    Returns a fresh copy the caller may add to.
    """
    graph = bind_prefixes(Graph(), settings.base_uri)
    for triple in description(store, settings, modified=modified).graph:
        graph.add(triple)
    return graph


def forget() -> None:
    """Drop cached descriptions (tests)."""
    with _LOCK:
        _DESCRIPTIONS.clear()


__all__ = ["Description", "describe_dataset", "description"]