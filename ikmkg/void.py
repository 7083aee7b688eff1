"""The dataset's description as served: its VoID/DCAT graph, its dumps and its releases.

`description(store, settings)` writes the dumps (ikmkg.dumps), counts the graph and builds its
VoID/DCAT graph (ikmkg.dataset) and adds the recorded releases (ikmkg.releases.catalogue), once
per graph version, for the web layer: the `/.well-known/void` document and, through
`describe_dataset`, the dataset IRI's page. This module knows nothing about HTTP.
"""

from __future__ import annotations

import dataclasses
import threading

from rdflib import Graph

from ikmkg import dumps
from ikmkg.dataset import Statistics, statistics, void_graph
from ikmkg.namespaces import bind_prefixes
from ikmkg.releases.catalogue import catalogue_graph
from ikmkg.settings import Settings
from ikmkg.store import Store


@dataclasses.dataclass
class Description:
    """The computed statistics, the dumps they describe, and the VoID/DCAT graph."""

    stats: Statistics
    manifest: dumps.Manifest
    graph: Graph


_DESCRIPTIONS: dict[tuple[str, str, str], Description] = {}
_LOCK = threading.Lock()


def description(store: Store, settings: Settings) -> Description:
    """Build (once per graph version, base and dump folder) the dumps and their description."""
    manifest = dumps.ensure_dumps(store, settings)
    key = (store.version, settings.base_uri, str(manifest.directory))
    with _LOCK:
        found = _DESCRIPTIONS.get(key)
        if found is None or not store.version:
            stats = statistics(store, settings.base_uri)
            graph = void_graph(stats, manifest, settings.base_uri)
            graph += catalogue_graph(settings)
            found = Description(stats, manifest, graph)
            _DESCRIPTIONS[key] = found
        return found


def describe_dataset(store: Store, settings: Settings) -> Graph:
    """The VoID/DCAT triples about `dataset_iri(base)`: for the dataset IRI's page.

    Returns a fresh copy the caller may add to.
    """
    graph = bind_prefixes(Graph(), settings.base_uri)
    for triple in description(store, settings).graph:
        graph.add(triple)
    return graph


def forget() -> None:
    """Drop cached descriptions (tests)."""
    with _LOCK:
        _DESCRIPTIONS.clear()


__all__ = ["Description", "describe_dataset", "description"]