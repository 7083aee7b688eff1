"""Recorded releases: reading `releases/VERSION/release.ttl`, their snapshots and stores.

A release folder holds `release.ttl` (its metadata), `snapshot.nq` (the three named graphs as
canonical N-Quads), `validation.ttl` and `queries/*.rq` (see ikmkg.releases.recording, which
writes them). Files are written under the canonical base and rebased on reading when the graph
is published under another one. This module knows nothing about HTTP.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import threading
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, VOID

from ikmkg.errors import DataError, NotFound
from ikmkg.kg import GRAPH_NAMES, KnowledgeGraph, dataset_iri, graph_iri, rebase, rebase_term
from ikmkg.namespaces import DCAT, SPDX, bind_prefixes
from ikmkg.settings import CANONICAL_BASE, Settings
from ikmkg.store import EmbeddedStore
from ikmkg.terms import to_rdflib

RELEASES_DIR = "releases"
RELEASE_FILE = "release.ttl"
SNAPSHOT_FILE = "snapshot.nq"
VALIDATION_FILE = "validation.ttl"
QUERIES_DIR = "queries"
#: A version starts with a digit (semantic `1.2.0` or dated `2026-11-28`): the web layer tells
#: `/dumps/VERSION/...` from the current dump's files (`/dumps/csv/...`) by that.
VERSION_PATTERN = r"[0-9][0-9A-Za-z.+_-]{0,63}"
_VERSION = re.compile(VERSION_PATTERN)
#: Bump when what `build_release` writes changes: part of the cache key of built releases.


def check_version(version: str) -> str:
    """`version` if it can name a release (and a folder), else DataError."""
    if not _VERSION.fullmatch(version or "") or ".." in version:
        raise DataError(f"{version!r} is not a release version: it must start with a digit and "
                        "hold only letters, digits and . + _ - (e.g. 0.2.0 or 2026-11-28)")
    return version


def version_iri(base_uri: str, version: str) -> URIRef:
    """The persistent IRI of one release of the dataset: `{base}id/dataset/ikmkg/VERSION`."""
    return URIRef(f"{dataset_iri(base_uri)}/{version}")


def releases_dir(settings: Settings) -> Path:
    return Path(settings.project_dir) / RELEASES_DIR


def _version_key(version: str) -> tuple:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[.+_-]", version))


@dataclasses.dataclass(frozen=True)
class Release:
    """One recorded release, as `release.ttl` states it (IRIs under the canonical base)."""

    version: str
    date: dt.date
    previous: str | None
    directory: Path
    snapshot_sha256: str
    source_hash: str
    triples: int
    ontology_version: str | None
    conforms: bool

    def iri(self, base_uri: str) -> URIRef:
        return version_iri(base_uri, self.version)

    @property
    def snapshot(self) -> Path:
        return self.directory / SNAPSHOT_FILE

    @property
    def bundle_name(self) -> str:
        return f"ikmkg-{self.version}-bundle.zip"


# --- reading releases ---------------------------------------------------------------------------

def _read_release(directory: Path) -> Release:
    graph = Graph().parse(directory / RELEASE_FILE, format="turtle")
    version = directory.name
    v = version_iri(CANONICAL_BASE, version)
    if graph.value(v, DCAT.version) is None:
        raise DataError(f"{directory / RELEASE_FILE}: does not describe <{v}>")
    previous = graph.value(v, DCAT.previousVersion)
    prefix = f"{dataset_iri(CANONICAL_BASE)}/"
    checksum = graph.value(v, SPDX.checksum)
    sources = graph.value(URIRef(f"{v}#sources"), SPDX.checksum)
    ontology = next((str(o) for o in graph.objects(v, DCTERMS.conformsTo)
                     if str(o).startswith(f"{CANONICAL_BASE}ontology/")), None)
    return Release(
        version=version,
        date=dt.date.fromisoformat(str(graph.value(v, DCTERMS.issued))),
        previous=str(previous)[len(prefix):] if previous is not None else None,
        directory=directory,
        snapshot_sha256=str(graph.value(checksum, SPDX.checksumValue)),
        source_hash=str(graph.value(sources, SPDX.checksumValue) or ""),
        triples=int(graph.value(v, VOID.triples)),
        ontology_version=ontology,
        conforms=(v, DCTERMS.conformsTo, URIRef(f"{CANONICAL_BASE}shapes")) in graph,
    )


_RELEASES: dict[tuple, list[Release]] = {}
_LOCK = threading.RLock()


def list_releases(settings: Settings) -> list[Release]:
    """Every release of the project, oldest first (by date, then version)."""
    folder = releases_dir(settings)
    if not folder.is_dir():
        return []
    files = sorted(p for p in folder.glob(f"*/{RELEASE_FILE}") if _VERSION.fullmatch(p.parent.name))
    key = (str(folder), tuple((p.parent.name, p.stat().st_mtime_ns) for p in files))
    with _LOCK:
        if key not in _RELEASES:
            found = [_read_release(p.parent) for p in files]
            _RELEASES[key] = sorted(found, key=lambda r: (r.date, _version_key(r.version)))
        return list(_RELEASES[key])


def get_release(settings: Settings, version: str) -> Release:
    """The release `version` (`latest`: the newest); NotFound when there is none."""
    releases = list_releases(settings)
    if version == "latest" and releases:
        return releases[-1]
    for r in releases:
        if r.version == version:
            return r
    raise NotFound(f"there is no release {version!r}; releases: "
                   + (", ".join(r.version for r in releases) or "none yet"))


def latest_release(settings: Settings) -> Release | None:
    releases = list_releases(settings)
    return releases[-1] if releases else None


# --- snapshots ----------------------------------------------------------------------------------

def snapshot_quads(release: Release) -> list[ox.Quad]:
    """The release's statements, as written (canonical base, canonical blank-node labels)."""
    return list(ox.parse(path=str(release.snapshot), format=ox.RdfFormat.N_QUADS))


def knowledge_graph(release: Release, base_uri: str = CANONICAL_BASE) -> KnowledgeGraph:
    """The release's three graphs as a KnowledgeGraph (version = the snapshot's SHA-256)."""
    graphs = {name: bind_prefixes(Graph(), CANONICAL_BASE) for name in GRAPH_NAMES}
    by_iri = {str(graph_iri(CANONICAL_BASE, name)): name for name in GRAPH_NAMES}
    for q in snapshot_quads(release):
        name = by_iri.get(q.graph_name.value if isinstance(q.graph_name, ox.NamedNode) else "")
        if name is None:
            raise DataError(f"{release.snapshot}: a statement outside the three named graphs")
        graphs[name].add((to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object)))
    kg = KnowledgeGraph(graphs["ontology"], graphs["shapes"], graphs["data"],
                        content_hash=release.snapshot_sha256)
    return rebase(kg, base_uri) if base_uri != CANONICAL_BASE else kg


_STORES: dict[tuple[str, str, str], EmbeddedStore] = {}


def release_store(settings: Settings, version: str) -> tuple[Release, EmbeddedStore]:
    """The release's graph in a small in-memory store (built on first use, kept per version)."""
    release = get_release(settings, version)
    key = (str(release.directory), release.snapshot_sha256, settings.base_uri)
    with _LOCK:
        if key not in _STORES:
            _STORES[key] = EmbeddedStore(knowledge_graph(release, settings.base_uri))
        return release, _STORES[key]



# --- the catalogue entry ------------------------------------------------------------------------

def release_graph(release: Release, base_uri: str) -> Graph:
    """`release.ttl` under `base_uri`."""
    g = Graph().parse(release.directory / RELEASE_FILE, format="turtle")
    out = bind_prefixes(Graph(), base_uri)
    out.bind("dcat", DCAT, override=True, replace=True)
    for s, p, o in g:
        out.add(tuple(rebase_term(t, CANONICAL_BASE, base_uri) for t in (s, p, o)))
    return out


def forget() -> None:
    """Drop the in-process memos of read releases and their stores (tests)."""
    with _LOCK:
        _RELEASES.clear()
        _STORES.clear()
