"""Releases: citable, reproducible versions of the validated graph, their changelogs and bundles.

`record_release(settings, version, date)` (`ikmkg release VERSION`) writes into the repository

| file | content |
|---|---|
| `releases/VERSION/release.ttl` | the release's metadata (DCAT/VoID/PROV): version IRI, date, previous version, checksums |
| `releases/VERSION/snapshot.nq` | the three named graphs as canonical N-Quads (RDFC-1.0 blank-node labels, sorted) |
| `releases/VERSION/validation.ttl` | the SHACL validation report of the released graph |
| `releases/VERSION/queries/*.rq` | the named queries as they were, so that their results can be rebuilt |

and regenerates `CITATION.cff` from the newest release. Everything else about a release (its
dumps, VoID/DCAT description, changelog, citation, research bundle) is rebuilt from these files,
byte for byte, by `build_release`: a release is reproducible from a git tag. Files are written
under the canonical base and rebased on reading when the graph is published under another one.

Changelogs compare two snapshots entity by entity: each IRI subject's statements together with
the blank-node structures hanging from it. Every such structure is canonicalised on its own
(RDFC-1.0) and its blank nodes are named after a hash of its content, so a structure that did
not change has the same labels in both releases and shows no change, whatever changed elsewhere.
The changelog as RDF uses the Changeset vocabulary (`http://purl.org/vocab/changeset/schema#`):
one `cs:ChangeSet` per entity, `cs:addition`/`cs:removal` of reified `rdf:Statement`s.

This module knows nothing about HTTP.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import textwrap
import threading
import zipfile
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, RDFS, SH, VOID, XSD

from ikmkg import dumps
from ikmkg.describe import plain_string
from ikmkg.errors import DataError, NotFound
from ikmkg.kg import GRAPH_NAMES, KnowledgeGraph, dataset_iri, graph_iri, rebase, rebase_text
from ikmkg.namespaces import SPDX, bind_prefixes
from ikmkg.settings import CANONICAL_BASE, Settings
from ikmkg.store import EmbeddedStore, to_oxigraph, to_rdflib

#: DCAT 3 terms (rdflib's DCAT namespace predates `dcat:version` and friends).
DCAT = Namespace("http://www.w3.org/ns/dcat#")
#: The Changeset vocabulary (Tunnicliffe and Davis, 2005), for changelogs.
CS = Namespace("http://purl.org/vocab/changeset/schema#")

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
BUILD_LAYOUT = "1"

DATA_LICENSE = "https://creativecommons.org/licenses/by/4.0/"
DATA_LICENSE_NAME = "Creative Commons Attribution 4.0 International (CC BY 4.0)"
AUTHOR = "ikmkg contributors"
TITLE = "ikmkg: knowledge graph of Indonesia's IKM development programme"
IANA = "https://www.iana.org/assignments/media-types/"


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
        # RDF 1.1: "x" is "x"^^xsd:string; rdflib tells them apart, the loaded files say "x".
        graphs[name].add((to_rdflib(q.subject), to_rdflib(q.predicate),
                          plain_string(to_rdflib(q.object))))
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


# --- recording a release ------------------------------------------------------------------------

def _canonical(kg: KnowledgeGraph) -> KnowledgeGraph:
    return rebase(kg, CANONICAL_BASE) if kg.base_uri != CANONICAL_BASE else kg


def _ontology_version(quads: Iterable[ox.Quad]) -> str | None:
    ontology = f"{CANONICAL_BASE}ontology"
    for q in quads:
        if q.subject == ox.NamedNode(ontology) and q.predicate.value == str(OWL.versionIRI):
            return q.object.value
    return None


def release_metadata(version: str, date: dt.date, previous: Release | None, *, triples: int,
                     snapshot_sha256: str, source_hash: str, ontology_version: str | None,
                     conforms: bool) -> Graph:
    """The triples of `release.ttl` (canonical base)."""
    base = CANONICAL_BASE
    g = bind_prefixes(Graph(), base)
    g.bind("dcat", DCAT, override=True, replace=True)
    v, d = version_iri(base, version), dataset_iri(base)
    for cls in (DCAT.Dataset, VOID.Dataset, PROV.Entity):
        g.add((v, RDF.type, cls))
    g.add((v, DCTERMS.title, Literal(f"{TITLE}, release {version}", lang="en")))
    g.add((v, RDFS.label, Literal(f"ikmkg {version}", lang="en")))
    g.add((v, DCTERMS.isVersionOf, d))
    g.add((v, DCAT.version, Literal(version)))
    g.add((v, OWL.versionInfo, Literal(version)))
    g.add((v, DCTERMS.issued, Literal(date.isoformat(), datatype=XSD.date)))
    g.add((v, DCTERMS.license, URIRef(DATA_LICENSE)))
    g.add((v, DCTERMS.creator, URIRef(f"{d}#publisher")))
    g.add((v, VOID.triples, Literal(triples, datatype=XSD.integer)))
    if previous is not None:
        p = version_iri(base, previous.version)
        g.add((v, DCAT.previousVersion, p))
        g.add((v, PROV.wasRevisionOf, p))
    if ontology_version:
        g.add((v, DCTERMS.conformsTo, URIRef(ontology_version)))
    if conforms:
        g.add((v, DCTERMS.conformsTo, URIRef(f"{base}shapes")))
    checksum = URIRef(f"{v}#snapshot-sha256")
    g.add((v, SPDX.checksum, checksum))
    g.add((checksum, RDF.type, SPDX.Checksum))
    g.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
    g.add((checksum, SPDX.checksumValue, Literal(snapshot_sha256, datatype=XSD.hexBinary)))
    g.add((checksum, RDFS.comment, Literal(
        f"SHA-256 of {RELEASES_DIR}/{version}/{SNAPSHOT_FILE}: the three named graphs as "
        "N-Quads with RDFC-1.0 blank-node labels, sorted (ikmkg.nq.gz, uncompressed)", lang="en")))
    sources = URIRef(f"{v}#sources")
    g.add((v, PROV.wasDerivedFrom, sources))
    g.add((sources, RDF.type, PROV.Entity))
    g.add((sources, RDFS.comment, Literal(
        "The ontology, shapes and data files the release was made from (SHA-256 over their "
        "names and bytes in load order, the store version ikmkg reports)", lang="en")))
    g.add((sources, SPDX.checksum, URIRef(f"{v}#sources-sha256")))
    g.add((URIRef(f"{v}#sources-sha256"), RDF.type, SPDX.Checksum))
    g.add((URIRef(f"{v}#sources-sha256"), SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
    g.add((URIRef(f"{v}#sources-sha256"), SPDX.checksumValue,
           Literal(source_hash, datatype=XSD.hexBinary)))
    report = URIRef(f"{base}releases/{version}/validation")
    g.add((v, RDFS.seeAlso, report))
    g.add((report, DCTERMS.title, Literal(f"SHACL validation report of release {version}",
                                          lang="en")))
    bundle = URIRef(f"{v}#bundle")
    g.add((v, DCAT.distribution, bundle))
    g.add((bundle, RDF.type, DCAT.Distribution))
    g.add((bundle, DCTERMS.title, Literal(f"Research bundle of release {version} (RO-Crate)",
                                          lang="en")))
    url = URIRef(f"{base}dumps/{version}/ikmkg-{version}-bundle.zip")
    g.add((bundle, DCAT.downloadURL, url))
    g.add((bundle, DCAT.mediaType, URIRef(IANA + "application/zip")))
    g.add((bundle, DCTERMS.license, URIRef(DATA_LICENSE)))
    return g


def _turtle(graph: Graph, base_uri: str) -> bytes:
    return dumps.serialize(dumps.graph_to_triples(graph), ox.RdfFormat.TURTLE, base_uri)


def record_release(settings: Settings, version: str, kg: KnowledgeGraph, report_graph: Graph,
                   conforms: bool, *, date: dt.date | None = None) -> Release:
    """Write `releases/VERSION/` for the validated graph `kg` and regenerate CITATION.cff.

    Args:
        settings: where the project is (`project_dir`).
        version: the new version (see `check_version`); an existing one is never replaced.
        kg: the loaded graph (any base).
        report_graph: its SHACL validation report.
        conforms: whether it conforms (a graph that does not is refused).
        date: the release date (default: today, UTC); stored, so rebuilding is deterministic.

    Raises:
        DataError: bad or existing version, a non-conforming graph, a date before the previous
            release's.
    """
    check_version(version)
    if not conforms:
        raise DataError("the data does not conform to the shapes; no release is made")
    date = date or dt.datetime.now(dt.timezone.utc).date()
    folder = releases_dir(settings)
    target = folder / version
    if target.exists():
        raise DataError(f"{target}: release {version} exists; a release is never replaced")
    previous = latest_release(settings)
    if previous is not None and date < previous.date:
        raise DataError(f"release date {date} is before the newest release ({previous.version}, "
                        f"{previous.date})")
    kg = _canonical(kg)
    quads = dumps.canonical_quads(dumps.read_quads(kg, CANONICAL_BASE), CANONICAL_BASE)
    snapshot = dumps.serialize(quads, ox.RdfFormat.N_QUADS, CANONICAL_BASE)
    digest = hashlib.sha256(snapshot).hexdigest()
    metadata = release_metadata(
        version, date, previous, triples=len(dumps.union_triples(quads)), snapshot_sha256=digest,
        source_hash=kg.content_hash, ontology_version=_ontology_version(quads), conforms=conforms)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{version}.", suffix=".tmp", dir=folder))
    try:
        os.chmod(tmp, 0o755)
        (tmp / SNAPSHOT_FILE).write_bytes(snapshot)
        (tmp / RELEASE_FILE).write_bytes(_turtle(metadata, CANONICAL_BASE))
        (tmp / VALIDATION_FILE).write_bytes(report_turtle(report_graph))
        (tmp / QUERIES_DIR).mkdir()
        for path in sorted(settings.queries_dir.glob("*.rq")):
            shutil.copyfile(path, tmp / QUERIES_DIR / path.name)
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    release = get_release(settings, version)
    write_citation_cff(settings)
    return release


def report_turtle(report_graph: Graph) -> bytes:
    """A SHACL report as deterministic Turtle (blank nodes canonicalised)."""
    triples = [ox.Quad(*(to_oxigraph(t) for t in triple)) for triple in report_graph]
    dataset = ox.Dataset(triples)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    ordered = sorted({q.triple for q in dataset}, key=lambda t: (str(t.subject), str(t.predicate),
                                                                 str(t.object)))
    return dumps.serialize(ordered, ox.RdfFormat.TURTLE, CANONICAL_BASE)


def ontology_changed(settings: Settings, release: Release) -> bool:
    """Whether the ontology graph of `release` differs from its previous release's."""
    if release.previous is None:
        return True
    return any(c.graph == "ontology" for c in changelog(settings, release.previous,
                                                       release.version).changes)


# --- changelogs ---------------------------------------------------------------------------------

Triple = tuple[ox.NamedNode | ox.BlankNode, ox.NamedNode, ox.NamedNode | ox.BlankNode | ox.Literal]


def _graph_name(q: ox.Quad) -> str:
    iri = q.graph_name.value if isinstance(q.graph_name, ox.NamedNode) else ""
    for name in GRAPH_NAMES:
        if iri == str(graph_iri(CANONICAL_BASE, name)):
            return name
    return iri


def _subtree(root: ox.BlankNode, by_subject: dict, seen: set) -> list[ox.Triple]:
    """Every statement reachable from the blank node `root` through blank nodes."""
    out, stack = [], [root]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        for t in by_subject.get(node, ()):
            out.append(t)
            if isinstance(t.object, ox.BlankNode):
                stack.append(t.object)
    return out


def _relabel(head: str, triples: list[ox.Triple]) -> tuple[str, list[ox.Triple]]:
    """Canonicalise one blank-node structure on its own; name its nodes after its content."""
    dataset = ox.Dataset(ox.Quad(t.subject, t.predicate, t.object) for t in triples)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    canonical = sorted((q.triple for q in dataset), key=str)
    digest = hashlib.sha256("\n".join([head, *map(str, canonical)]).encode()).hexdigest()[:16]
    return digest, canonical


def entity_statements(quads: Iterable[ox.Quad]) -> dict[tuple[str, str], set[ox.Triple]]:
    """(graph name, entity IRI) -> its statements, blank nodes named by content.

    An entity's statements are those with the IRI as subject plus the blank-node structures
    they point to. Blank-node structures that no IRI points to are grouped under the entity "".
    """
    by_graph: dict[str, list[ox.Triple]] = defaultdict(list)
    for q in quads:
        by_graph[_graph_name(q)].append(q.triple)
    out: dict[tuple[str, str], set[ox.Triple]] = {}
    for graph, triples in by_graph.items():
        by_subject: dict = defaultdict(list)
        objects = set()
        for t in triples:
            by_subject[t.subject].append(t)
            if isinstance(t.object, ox.BlankNode):
                objects.add(t.object)
        roots: list[tuple[str, ox.NamedNode | None, ox.NamedNode | None, ox.BlankNode]] = []
        for subject, own in by_subject.items():
            if isinstance(subject, ox.NamedNode):
                statements = out.setdefault((graph, subject.value), set())
                for t in own:
                    if isinstance(t.object, ox.BlankNode):
                        roots.append((subject.value, subject, t.predicate, t.object))
                    else:
                        statements.add(t)
            elif subject not in objects:
                roots.append(("", None, None, subject))
        counts: dict[tuple[str, str], int] = defaultdict(int)
        reached: set = set()
        for entity, subject, predicate, node in sorted(roots, key=lambda r: (r[0], str(r[2]),
                                                                             str(r[3]))):
            tree = _subtree(node, by_subject, set())
            reached.add(node)
            reached.update(t.subject for t in tree)
            head = ox.Triple(subject or ox.NamedNode("urn:x-ikmkg:root"),
                             predicate or ox.NamedNode("urn:x-ikmkg:root"), node)
            digest, canonical = _relabel(str(predicate), [head, *tree])
            counts[(entity, digest)] += 1
            suffix = f"{digest}n{counts[(entity, digest)]}"
            rename = {}
            statements = out.setdefault((graph, entity), set())
            for t in canonical:
                s, o = t.subject, t.object
                if isinstance(s, ox.BlankNode):
                    s = rename.setdefault(s, ox.BlankNode(f"b{suffix}{s.value}"))
                if isinstance(o, ox.BlankNode):
                    o = rename.setdefault(o, ox.BlankNode(f"b{suffix}{o.value}"))
                if s.value == "urn:x-ikmkg:root":
                    continue
                statements.add(ox.Triple(s, t.predicate, o))
        leftover = [t for s, own in by_subject.items() if isinstance(s, ox.BlankNode)
                    and s not in reached for t in own]
        if leftover:  # blank nodes only in cycles: canonicalise them together
            _, canonical = _relabel("cycles", leftover)
            out.setdefault((graph, ""), set()).update(canonical)
    return out


@dataclasses.dataclass
class EntityChange:
    """What changed about one entity in one named graph."""

    entity: str  # the IRI ("" for blank-node structures no IRI points to)
    graph: str  # ontology, shapes or data
    added: list[ox.Triple]
    removed: list[ox.Triple]


@dataclasses.dataclass
class Changelog:
    old: Release
    new: Release
    changes: list[EntityChange]

    @property
    def added(self) -> int:
        return sum(len(c.added) for c in self.changes)

    @property
    def removed(self) -> int:
        return sum(len(c.removed) for c in self.changes)

    def for_entity(self, iri: str) -> list[EntityChange]:
        return [c for c in self.changes if c.entity == iri]


def diff(old: Iterable[ox.Quad], new: Iterable[ox.Quad]) -> list[EntityChange]:
    """The statements added and removed between two versions, grouped by entity."""
    before, after = entity_statements(old), entity_statements(new)
    changes = []
    for key in sorted(set(before) | set(after)):
        was, now = before.get(key, set()), after.get(key, set())
        if was != now:
            changes.append(EntityChange(key[1], key[0], sorted(now - was, key=str),
                                         sorted(was - now, key=str)))
    changes.sort(key=lambda c: (c.entity, GRAPH_NAMES.index(c.graph)
                                if c.graph in GRAPH_NAMES else 9, c.graph))
    return changes


_CHANGELOGS: dict[tuple, Changelog] = {}


def changelog(settings: Settings, old_version: str, new_version: str) -> Changelog:
    """The changes from release `old_version` to `new_version` (either may be the older)."""
    old, new = get_release(settings, old_version), get_release(settings, new_version)
    key = (old.snapshot_sha256, new.snapshot_sha256, str(old.directory), str(new.directory))
    with _LOCK:
        if key not in _CHANGELOGS:
            _CHANGELOGS[key] = Changelog(old, new, diff(snapshot_quads(old), snapshot_quads(new)))
        return _CHANGELOGS[key]


def entity_history(settings: Settings, iri: str) -> list[tuple[Release, list[EntityChange]]]:
    """The releases in which `iri` (canonical base) changed since the release before them,
    with what changed, newest first (the first release has nothing to compare with)."""
    releases = list_releases(settings)
    history = []
    for release in releases:
        if release.previous is None:
            continue
        found = changelog(settings, release.previous, release.version).for_entity(iri)
        if found:
            history.append((release, found))
    return history[::-1]


def served_term(term: ox.NamedNode | ox.BlankNode | ox.Literal, base_uri: str):  # noqa: ANN201
    """A changelog term (pyoxigraph, canonical base) as the rdflib term published under
    `base_uri`."""
    return _rebased(to_rdflib(term), base_uri)


def changelog_iri(base_uri: str, log: Changelog) -> URIRef:
    return URIRef(f"{version_iri(base_uri, log.new.version)}#changes-from-{log.old.version}")


def changelog_graph(log: Changelog, base_uri: str) -> Graph:
    """The changelog as RDF: one cs:ChangeSet per (entity, graph), reified statements."""
    g = bind_prefixes(Graph(), base_uri)
    g.bind("cs", CS)
    g.bind("dcat", DCAT, override=True, replace=True)
    node = changelog_iri(base_uri, log)
    old, new = version_iri(base_uri, log.old.version), version_iri(base_uri, log.new.version)
    g.add((node, RDF.type, PROV.Entity))
    g.add((node, DCTERMS.title, Literal(
        f"Changes from ikmkg {log.old.version} to {log.new.version}", lang="en")))
    g.add((node, PROV.wasDerivedFrom, old))
    g.add((node, PROV.wasDerivedFrom, new))
    g.add((node, DCTERMS.date, Literal(log.new.date.isoformat(), datatype=XSD.date)))
    for i, change in enumerate(log.changes, 1):
        cs = URIRef(f"{node}-{i}")
        g.add((node, DCTERMS.hasPart, cs))
        g.add((cs, RDF.type, CS.ChangeSet))
        if change.entity:
            g.add((cs, CS.subjectOfChange, served_term(ox.NamedNode(change.entity), base_uri)))
        g.add((cs, CS.changeReason, Literal(
            f"Release {log.new.version} compared with release {log.old.version}", lang="en")))
        g.add((cs, DCTERMS.isPartOf, graph_iri(base_uri, change.graph)
               if change.graph in GRAPH_NAMES else URIRef(change.graph)))
        for kind, triples in ((CS.addition, change.added), (CS.removal, change.removed)):
            for t in triples:
                st = BNode()
                g.add((cs, kind, st))
                g.add((st, RDF.type, RDF.Statement))
                g.add((st, RDF.subject, served_term(t.subject, base_uri)))
                g.add((st, RDF.predicate, served_term(t.predicate, base_uri)))
                g.add((st, RDF.object, served_term(t.object, base_uri)))
    return g


# --- the catalogue: releases in VoID/DCAT --------------------------------------------------------

def release_graph(release: Release, base_uri: str) -> Graph:
    """`release.ttl` under `base_uri`."""
    g = Graph().parse(release.directory / RELEASE_FILE, format="turtle")
    out = bind_prefixes(Graph(), base_uri)
    out.bind("dcat", DCAT, override=True, replace=True)
    for s, p, o in g:
        out.add(tuple(_rebased(t, base_uri) for t in (s, p, o)))
    return out


def _rebased(node, base_uri: str):  # noqa: ANN001, ANN202
    if isinstance(node, URIRef) and base_uri != CANONICAL_BASE and node.startswith(CANONICAL_BASE):
        return URIRef(base_uri + node[len(CANONICAL_BASE):])
    return node


def catalogue_graph(settings: Settings) -> Graph:
    """Every release's metadata and `dcat:hasVersion` links from the dataset (for VoID/DCAT)."""
    base = settings.base_uri
    g = bind_prefixes(Graph(), base)
    g.bind("dcat", DCAT, override=True, replace=True)
    d = dataset_iri(base)
    releases = list_releases(settings)
    for release in releases:
        g += release_graph(release, base)
        g.add((d, DCAT.hasVersion, release.iri(base)))
    if releases:
        g.add((d, DCAT.hasCurrentVersion, releases[-1].iri(base)))
    return g


# --- citations ----------------------------------------------------------------------------------

CITATION_FORMATS = {
    "text": "text/plain",
    "bibtex": "application/x-bibtex",
    "csl-json": "application/vnd.citationstyles.csl+json",
    "ris": "application/x-research-info-systems",
}


@dataclasses.dataclass(frozen=True)
class Citation:
    """What a citation of the dataset, or of one resource in it, names."""

    title: str  # the resource's label, or the dataset's title
    iri: str  # the resource cited (the dataset IRI for the dataset)
    version: str | None
    version_iri: str | None
    released: dt.date | None
    accessed: dt.date
    container: str | None  # the dataset's title when a resource is cited

    @property
    def key(self) -> str:
        tail = re.sub(r"[^A-Za-z0-9]+", "_", self.iri.rsplit("/", 1)[-1]).strip("_")
        version = re.sub(r"[^A-Za-z0-9]+", "_", self.version or "unreleased")
        return f"ikmkg_{version}" + (f"_{tail}" if self.container else "")


def make_citation(iri: str, title: str | None, release: Release | None, base_uri: str,
                  accessed: dt.date | None = None) -> Citation:
    """A citation of `iri` (the dataset IRI: the dataset itself) as of `release`."""
    is_dataset = iri == str(dataset_iri(base_uri))
    return Citation(
        title=TITLE if is_dataset or not title else title,
        iri=iri,
        version=release.version if release else None,
        version_iri=str(release.iri(base_uri)) if release else None,
        released=release.date if release else None,
        accessed=accessed or dt.datetime.now(dt.timezone.utc).date(),
        container=None if is_dataset else TITLE,
    )


_TEX_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "%": r"\%", "&": r"\&",
                "#": r"\#", "$": r"\$", "_": r"\_", "^": r"\^{}", "~": r"\~{}"}


def _tex(text: str) -> str:
    return "".join(_TEX_SPECIAL.get(ch, ch) for ch in text)


def _parts(day: dt.date) -> list[list[int]]:
    return [[day.year, day.month, day.day]]


def format_citation(c: Citation, fmt: str) -> str:
    """The citation as plain text, BibTeX, CSL-JSON or RIS (`CITATION_FORMATS`)."""
    version = f"version {c.version}" if c.version else "unreleased version"
    if fmt == "text":
        year = f" ({c.released.year})" if c.released else ""
        where = f" In: {c.container}." if c.container else ""
        release = f" Release {c.version_iri}" if c.version_iri else ""
        released = f", released {c.released.isoformat()}" if c.released else ""
        return (f"{AUTHOR}{year}. {c.title} ({version}{released}).{where} {c.iri}."
                f"{release + '.' if release else ''} Accessed {c.accessed.isoformat()}.\n")
    if fmt == "bibtex":
        fields = [("author", "{" + _tex(AUTHOR) + "}"), ("title", _tex(c.title))]
        if c.container:
            fields.append(("booktitle", _tex(c.container)))
        if c.released:
            fields += [("year", str(c.released.year)), ("month", str(c.released.month)),
                       ("date", c.released.isoformat())]
        fields += [("version", _tex(c.version or "unreleased")), ("url", c.iri),
                   ("howpublished", r"\url{" + c.iri + "}"),
                   ("urldate", c.accessed.isoformat()), ("publisher", _tex(AUTHOR))]
        if c.version_iri:
            fields.append(("note", _tex(f"Release {c.version}: {c.version_iri}")))
        body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields)
        return f"@misc{{{c.key},\n{body}\n}}\n"
    if fmt == "csl-json":
        item: dict = {"id": c.key, "type": "dataset", "title": c.title,
                      "author": [{"literal": AUTHOR}], "publisher": AUTHOR, "URL": c.iri,
                      "version": c.version or "unreleased",
                      "accessed": {"date-parts": _parts(c.accessed)}}
        if c.container:
            item["container-title"] = c.container
        if c.released:
            item["issued"] = {"date-parts": _parts(c.released)}
        if c.version_iri:
            item["note"] = f"Release {c.version}: {c.version_iri}"
        return json.dumps([item], ensure_ascii=False, indent=2) + "\n"
    if fmt == "ris":
        lines = [("TY", "DATA"), ("AU", AUTHOR), ("TI", c.title)]
        if c.container:
            lines.append(("T2", c.container))
        if c.released:
            lines += [("PY", str(c.released.year)), ("DA", c.released.strftime("%Y/%m/%d"))]
        lines += [("ET", c.version or "unreleased"), ("UR", c.iri), ("PB", AUTHOR),
                  ("Y2", c.accessed.strftime("%Y/%m/%d"))]
        if c.version_iri:
            lines.append(("N1", f"Release {c.version}: {c.version_iri}"))
        lines.append(("ER", ""))
        return "".join(f"{tag}  - {value}".rstrip() + "\n" for tag, value in lines)
    raise ValueError(f"unknown citation format {fmt!r}; one of: {', '.join(CITATION_FORMATS)}")


# --- CITATION.cff -------------------------------------------------------------------------------

CFF_MESSAGE = ("If you use the ikmkg knowledge graph or its software, please cite it as below. "
               "The data is licensed CC BY 4.0 and the code MIT; the facts are drawn from the "
               "Republika article cited in the references.")
CFF_ABSTRACT = (
    "Linked data about the small and medium industry (IKM) development programme of Indonesia's "
    "Ministry of Industry (Kemenperin, Ditjen IKM) with JICA: an OWL ontology, SHACL shapes and "
    "curated Turtle data in which every fact is traced to the sentence of its source article or "
    "to a cited reference table, published with a SPARQL endpoint, linked-data pages and dumps.")
CFF_KEYWORDS = ("knowledge graph", "linked data", "Indonesia", "small and medium industry", "IKM",
                "JICA")
#: The source article, as the article prints its names (not split into given and family names).
CFF_REFERENCES = [{
    "type": "newspaper-article",
    "title": "Indonesia dan Jepang Kerja Sama Bidang Industri Kecil",
    "authors": [{"name": "Intan Pratiwi"}],
    "editors": [{"name": "Dwi Murdaningsih"}],
    "publisher": {"name": "Republika"},
    "date-published": "2017-12-26",
    "languages": ["id"],
}]


def citation_cff_data(release: Release | None) -> dict:
    """CITATION.cff's content for the newest release, as plain data (what the file holds)."""
    data: dict = {
        "cff-version": "1.2.0", "message": CFF_MESSAGE, "type": "dataset", "title": TITLE,
        "abstract": CFF_ABSTRACT, "authors": [{"name": AUTHOR}],
        "license": ["CC-BY-4.0", "MIT"], "url": CANONICAL_BASE,
        "identifiers": [{"type": "url", "value": str(dataset_iri(CANONICAL_BASE)),
                         "description": "The dataset IRI (VoID/DCAT description at "
                                        "/.well-known/void)."}],
        "keywords": list(CFF_KEYWORDS),
        "references": CFF_REFERENCES,
    }
    if release is not None:
        data["version"] = release.version
        data["date-released"] = release.date.isoformat()
        data["identifiers"].append({"type": "url", "value": str(release.iri(CANONICAL_BASE)),
                                    "description": f"The persistent IRI of release "
                                                   f"{release.version}."})
    return data


def citation_cff(release: Release | None) -> str:
    """CITATION.cff (YAML; strings written as JSON strings, which YAML reads the same)."""
    data = citation_cff_data(release)

    def s(text: str) -> str:
        return json.dumps(text, ensure_ascii=False)

    def folded(text: str) -> str:  # YAML `>-` joins the lines with single spaces again
        return ">-\n" + "\n".join("  " + line for line in textwrap.wrap(text, 94))

    lines = ["# Citation metadata (https://citation-file-format.github.io/). No DOI has been "
             "minted for ikmkg.",
             "# Generated by `ikmkg release` from the newest release (ikmkg/release.py); do not "
             "edit by hand.",
             f"cff-version: {data['cff-version']}", f"message: {folded(data['message'])}",
             f"type: {data['type']}", f"title: {s(data['title'])}",
             f"abstract: {folded(data['abstract'])}", "authors:", f"  - name: {s(AUTHOR)}"]
    if "version" in data:
        lines += [f"version: {s(data['version'])}", f"date-released: {data['date-released']}"]
    lines += ["license:", *[f"  - {x}" for x in data["license"]], f"url: {s(data['url'])}",
              "identifiers:"]
    for ident in data["identifiers"]:
        lines += [f"  - type: {ident['type']}", f"    value: {s(ident['value'])}",
                  f"    description: {s(ident['description'])}"]
    lines += ["keywords:", *[f"  - {s(k)}" for k in data["keywords"]], "references:"]
    for ref in data["references"]:
        lines += [f"  - type: {ref['type']}", f"    title: {s(ref['title'])}",
                  "    # Names as the article prints them (not split into given and family names)."]
        for role in ("authors", "editors"):
            lines += [f"    {role}:", *[f"      - name: {s(p['name'])}" for p in ref[role]]]
        lines += ["    publisher:", f"      name: {s(ref['publisher']['name'])}",
                  f"    date-published: {ref['date-published']}", "    languages:",
                  *[f"      - {x}" for x in ref["languages"]]]
    return "\n".join(lines) + "\n"


def write_citation_cff(settings: Settings) -> Path:
    path = Path(settings.project_dir) / "CITATION.cff"
    path.write_text(citation_cff(latest_release(settings)), encoding="utf-8")
    return path


# --- building a release: dumps, VoID/DCAT, validation page, bundle --------------------------------

@dataclasses.dataclass
class ReleaseBuild:
    """The files of one built release: its dumps and its research bundle."""

    release: Release
    directory: Path
    manifest: dumps.Manifest

    @property
    def bundle(self) -> Path:
        return self.directory / self.release.bundle_name

    def servable(self, name: str) -> Path | None:
        """The path of `/dumps/VERSION/<name>`: a dump file or the bundle (nothing else)."""
        if name == self.release.bundle_name:
            return self.bundle
        return self.manifest.servable(name)


def release_void(release: Release, store: EmbeddedStore, manifest: dumps.Manifest,
                 base_uri: str) -> Graph:
    """The VoID/DCAT description of one release: counted from its graph, its own dump URLs."""
    from ikmkg import void

    stats = void.statistics(store, base_uri)
    general = void.void_graph(stats, manifest, base_uri)
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
    out.bind("dcat", DCAT, override=True, replace=True)
    for triple in general:
        out.add(tuple(move(t) for t in triple))
    out += release_graph(release, base_uri)
    out.add((URIRef(d), DCAT.hasVersion, URIRef(v)))
    return out


def _results(store: EmbeddedStore, text: str) -> dict[str, bytes]:
    """A named query's results: CSV and SPARQL JSON for SELECT, JSON for ASK, Turtle for graphs."""
    from ikmkg.errors import QueryError

    try:
        first = store.query(text, result_format="srj")
    except QueryError:
        return {"ttl": store.query(text, result_format="ttl").read()}
    body = first.read()
    if first.kind == "boolean":
        return {"json": body}
    return {"json": body, "csv": store.query(text, result_format="csv").read()}


def validation_report_html(release: Release, base_uri: str) -> str:
    """The release's validation report as a standalone HTML page (templates/validation.html)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("ikmkg", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    return env.get_template("validation.html").render(
        release=release, report=validation_summary(release, base_uri),
        version_iri=str(release.iri(base_uri)))


@dataclasses.dataclass
class ValidationSummary:
    conforms: bool
    results: list[dict]  # focus, path, severity, message, value, shape (IRIs as text)

    def for_focus(self, iri: str) -> list[dict]:
        return [r for r in self.results if r["focus"] == iri]


@functools.lru_cache(maxsize=64)
def _summary(path: Path, mtime_ns: int, base_uri: str) -> ValidationSummary:
    return _read_summary(path, base_uri)


def validation_summary(release: Release, base_uri: str) -> ValidationSummary:
    """The release's SHACL report as plain data (read once per file version; callers must not
    modify it)."""
    path = release.directory / VALIDATION_FILE
    return _summary(path, path.stat().st_mtime_ns, base_uri)


def _read_summary(path: Path, base_uri: str) -> ValidationSummary:
    graph = Graph().parse(path, format="turtle")
    conforms = any(bool(o.toPython()) for o in graph.objects(None, SH.conforms))
    results = []
    for r in graph.subjects(RDF.type, SH.ValidationResult):
        def text(p):  # noqa: ANN001, ANN202
            value = graph.value(r, p)
            return "" if value is None else str(_rebased(value, base_uri))
        results.append({"focus": text(SH.focusNode), "path": text(SH.resultPath),
                        "severity": text(SH.resultSeverity).rsplit("#", 1)[-1],
                        "message": text(SH.resultMessage), "value": text(SH.value),
                        "shape": text(SH.sourceShape)})
    results.sort(key=lambda r: (r["focus"], r["path"], r["message"]))
    return ValidationSummary(conforms, results)


def _zip(files: dict[str, bytes], date: dt.date) -> bytes:
    """A zip whose bytes depend only on `files` and `date` (sorted, fixed times and modes)."""
    buffer = io.BytesIO()
    stamp = (max(date.year, 1980), date.month, date.day, 0, 0, 0)
    folders = {f"{'/'.join(name.split('/')[:i])}/" for name in files
               for i in range(1, name.count("/") + 1)}
    with zipfile.ZipFile(buffer, "w") as archive:
        for folder in sorted(folders):  # RO-Crate data entities `dumps/` etc. are in the payload
            info = zipfile.ZipInfo(folder, date_time=stamp)
            info.external_attr = (0o40755 << 16) | 0x10
            info.create_system = 3
            archive.writestr(info, b"")
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            archive.writestr(info, files[name], compresslevel=9)
    return buffer.getvalue()


_MEDIA = {".ttl": "text/turtle", ".nq": "application/n-quads", ".trig": "application/trig",
          ".jsonld": "application/ld+json", ".rdf": "application/rdf+xml",
          ".csv": "text/csv", ".json": "application/json", ".rq": "application/sparql-query",
          ".html": "text/html", ".cff": "application/x-yaml", ".bib": "application/x-bibtex",
          ".ris": "application/x-research-info-systems", ".txt": "text/plain",
          ".gz": "application/gzip", ".md": "text/markdown"}


def _media_type(name: str) -> str:
    if name.endswith("SHA256SUMS"):
        return "text/plain"
    if name == "citation.json":
        return "application/vnd.citationstyles.csl+json"
    if name.endswith("-results.json"):
        return "application/sparql-results+json"
    return _MEDIA.get(Path(name).suffix, "application/octet-stream")


_DESCRIPTIONS = {
    "dumps/": "The dumps of the release: the graph in six RDF formats, CSV per class, checksums",
    "dumps/csv/": "One CSV file per class of the data graph",
    "ontology/": "The ontology and the SHACL shapes of the release",
    "validation/": "The SHACL validation report of the release (Turtle and HTML)",
    "queries/": "The named SPARQL queries of the release and their results",
}


def ro_crate_metadata(release: Release, files: dict[str, bytes], base_uri: str) -> dict:
    """`ro-crate-metadata.json` (RO-Crate 1.1) describing every file of the bundle."""
    v = str(release.iri(base_uri))
    publisher = f"{dataset_iri(base_uri)}#publisher"
    folders = sorted({str(Path(n).parent) + "/" for n in files if "/" in n})
    entities: list[dict] = [
        {"@id": "ro-crate-metadata.json", "@type": "CreativeWork",
         "conformsTo": {"@id": "https://w3id.org/ro/crate/1.1"}, "about": {"@id": "./"}},
    ]
    top = [n for n in sorted(files) if "/" not in n] + [f for f in folders if f.count("/") == 1]
    entities.append({
        "@id": "./", "@type": "Dataset", "name": f"{TITLE}, release {release.version}",
        "description": ("Research bundle of an ikmkg release: the graph's dumps, ontology, "
                        "shapes, validation report, VoID/DCAT description, named queries with "
                        "their results, checksums, license and citation."),
        "datePublished": release.date.isoformat(), "version": release.version,
        "identifier": v, "url": v, "license": {"@id": DATA_LICENSE},
        "author": {"@id": publisher}, "publisher": {"@id": publisher},
        "hasPart": [{"@id": n} for n in top],
    })
    for folder in folders:
        parts = [n for n in sorted(files) if str(Path(n).parent) + "/" == folder]
        parts += [f for f in folders if f != folder and f.startswith(folder)
                  and f[len(folder):].count("/") == 1]
        entities.append({"@id": folder, "@type": "Dataset",
                         "name": folder.rstrip("/"),
                         "description": _DESCRIPTIONS.get(folder, folder.rstrip("/")),
                         "hasPart": [{"@id": n} for n in parts]})
    for name in sorted(files):
        entities.append({"@id": name, "@type": "File", "name": Path(name).name,
                         "encodingFormat": _media_type(name),
                         "contentSize": str(len(files[name]))})
    entities.append({"@id": DATA_LICENSE, "@type": "CreativeWork", "name": DATA_LICENSE_NAME,
                     "identifier": "CC-BY-4.0"})
    entities.append({"@id": publisher, "@type": "Organization", "name": AUTHOR, "url": base_uri})
    return {"@context": "https://w3id.org/ro/crate/1.1/context", "@graph": entities}


LICENSE_TEXT = """The ikmkg knowledge graph (the data, the ontology and the shapes in this bundle) is
licensed under the Creative Commons Attribution 4.0 International license (CC BY 4.0):
https://creativecommons.org/licenses/by/4.0/legalcode
Attribution: cite the release as in CITATION.cff (or CITATION.bib, citation.json, citation.ris).
The ikmkg software is licensed MIT; it is not part of this bundle.
"""


def bundle_files(release: Release, base_uri: str, dump_dir: Path, store: EmbeddedStore,
                 void_graph: Graph, settings: Settings) -> dict[str, bytes]:
    """Every file of the research bundle, by its path inside the zip."""
    files: dict[str, bytes] = {}
    for path in sorted(dump_dir.rglob("*")):
        if path.is_file():
            files[f"dumps/{path.relative_to(dump_dir).as_posix()}"] = path.read_bytes()
    kg = knowledge_graph(release, base_uri)
    files["ontology/ikm.ttl"] = _turtle(kg.ontology, base_uri)
    files["ontology/shapes.ttl"] = _turtle(kg.shapes, base_uri)
    report = (release.directory / VALIDATION_FILE).read_text(encoding="utf-8")
    files["validation/report.ttl"] = rebase_text(report, base_uri).encode()
    files["validation/report.html"] = validation_report_html(release, base_uri).encode()
    files["void.ttl"] = _turtle(void_graph, base_uri)
    files["release.ttl"] = _turtle(release_graph(release, base_uri), base_uri)
    if release.previous is not None:
        log = changelog(settings, release.previous, release.version)
        files["changes.ttl"] = _turtle(changelog_graph(log, base_uri), base_uri)
    for path in sorted((release.directory / QUERIES_DIR).glob("*.rq")):
        text = rebase_text(path.read_text(encoding="utf-8"), base_uri)
        files[f"queries/{path.name}"] = text.encode()
        for suffix, body in _results(store, text).items():
            name = f"{path.stem}-results.{suffix}"
            files[f"queries/{name}"] = body
    citation = make_citation(str(dataset_iri(base_uri)), None, release, base_uri,
                             accessed=release.date)
    files["CITATION.cff"] = citation_cff(release).encode()
    files["CITATION.bib"] = format_citation(citation, "bibtex").encode()
    files["citation.json"] = format_citation(citation, "csl-json").encode()
    files["citation.ris"] = format_citation(citation, "ris").encode()
    files["LICENSE.txt"] = LICENSE_TEXT.encode()
    files["SHA256SUMS"] = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n"
                                  for name, data in sorted(files.items())).encode()
    files["ro-crate-metadata.json"] = dumps.json_bytes(ro_crate_metadata(release, files,
                                                                         base_uri))
    return files


def build_release(settings: Settings, version: str, out_dir: str | os.PathLike) -> ReleaseBuild:
    """Write the dumps (`out_dir/dumps/`) and the research bundle of a recorded release.

    The same release files and base always give the same bytes.
    """
    release, store = release_store(settings, version)
    base = settings.base_uri
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = dumps.write_dumps(knowledge_graph(release, base), out_dir / "dumps", base)
    void_graph = release_void(release, store, manifest, base)
    files = bundle_files(release, base, out_dir / "dumps", store, void_graph, settings)
    target = out_dir / release.bundle_name
    # Several server processes may build at once: each writes its own file, the last rename wins
    # (they are byte-identical).
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=out_dir)
    with os.fdopen(fd, "wb") as f:
        f.write(_zip(files, release.date))
    os.chmod(tmp, 0o644)
    os.replace(tmp, target)
    (out_dir / "validation.html").write_bytes(files["validation/report.html"])
    (out_dir / "void.ttl").write_bytes(files["void.ttl"])
    return ReleaseBuild(release, out_dir, manifest)


_BUILDS: dict[Path, ReleaseBuild] = {}
_BUILD_LOCK = threading.Lock()


def ensure_release_build(settings: Settings, version: str) -> ReleaseBuild:
    """The built files of a release, built once per release content and base into the cache."""
    release = get_release(settings, version)
    key = hashlib.sha256("\n".join([
        BUILD_LAYOUT, dumps.LAYOUT_VERSION, settings.base_uri, release.version,
        release.snapshot_sha256,
        hashlib.sha256((release.directory / RELEASE_FILE).read_bytes()).hexdigest(),
    ]).encode()).hexdigest()[:24]
    directory = dumps.cache_folder(settings).parent / "releases" / f"{release.version}-{key}"
    with _BUILD_LOCK:
        if directory in _BUILDS:
            return _BUILDS[directory]
        done = directory / ".complete"
        if done.is_file():
            build = ReleaseBuild(release, directory, dumps.Manifest.load(directory / "dumps"))
        else:
            build = build_release(settings, version, directory)
            done.write_text(release.version)
        _BUILDS[directory] = build
        return build


def forget() -> None:
    """Drop in-process memos (tests)."""
    with _LOCK:
        _RELEASES.clear()
        _STORES.clear()
        _CHANGELOGS.clear()
    with _BUILD_LOCK:
        _BUILDS.clear()


__all__ = ["Changelog", "Citation", "EntityChange", "Release", "ReleaseBuild", "build_release",
           "catalogue_graph", "changelog", "changelog_graph", "check_version", "citation_cff",
           "diff", "ensure_release_build", "entity_history", "format_citation",
           "get_release", "knowledge_graph", "latest_release", "list_releases",
           "make_citation", "record_release", "release_store", "version_iri"]

