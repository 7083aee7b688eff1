"""Releases in VoID/DCAT: the catalogue of every recorded release and one release's own VoID.

`catalogue_graph` is what the current dataset's description (ikmkg.void) says about its
versions; `release_void` is the description written into a release's bundle (ikmkg.releases
.bundle), counted from the release's graph with its own dump URLs. Knows nothing about HTTP.
"""

from __future__ import annotations

from rdflib import Graph, URIRef

from ikmkg import dumps
from ikmkg.dataset import statistics, void_graph
from ikmkg.kg import dataset_iri
from ikmkg.namespaces import DCAT, bind_prefixes
from ikmkg.releases.records import Release, list_releases, release_graph
from ikmkg.settings import Settings
from ikmkg.store import EmbeddedStore


def catalogue_graph(settings: Settings) -> Graph:
    """Every release's metadata and `dcat:hasVersion` links from the dataset (for VoID/DCAT)."""
    base = settings.base_uri
    g = bind_prefixes(Graph(), base)
    d = dataset_iri(base)
    releases = list_releases(settings)
    for release in releases:
        g += release_graph(release, base)
        g.add((d, DCAT.hasVersion, release.iri(base)))
    if releases:
        g.add((d, DCAT.hasCurrentVersion, releases[-1].iri(base)))
    return g


def release_void(release: Release, store: EmbeddedStore, manifest: dumps.Manifest,
                 base_uri: str) -> Graph:
    """The VoID/DCAT description of one release: counted from its graph, its own dump URLs."""
    stats = statistics(store, base_uri)
    general = void_graph(stats, manifest, base_uri)
    d, v = str(dataset_iri(base_uri)), str(release.iri(base_uri))
    current, versioned = f"{base_uri}dumps/", f"{base_uri}dumps/{release.version}/"

    def move(node):  # noqa: ANN001, ANN202
        if isinstance(node, URIRef):
            text = str(node)
            if text == d or text.startswith(d + "#"):
                return URIRef(v + text[len(d):])
            if text.startswith(current):
                return URIRef(versioned + text[len(current):])
        return node

    out = bind_prefixes(Graph(), base_uri)
    for triple in general:
        out.add(tuple(move(t) for t in triple))
    out += release_graph(release, base_uri)
    out.add((URIRef(d), DCAT.hasVersion, URIRef(v)))
    return out
