"""Changelogs between two releases, entity by entity, and as RDF (the Changeset vocabulary).

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
import hashlib
import threading
from collections import defaultdict
from collections.abc import Iterable

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, XSD

from ikmkg.kg import GRAPH_NAMES, graph_iri, rebase_term
from ikmkg.namespaces import bind_prefixes
from ikmkg.releases.records import Release, get_release, list_releases, snapshot_quads, version_iri
from ikmkg.settings import CANONICAL_BASE, Settings
from ikmkg.terms import to_rdflib

#: The Changeset vocabulary (Tunnicliffe and Davis, 2005), for changelogs.
CS = Namespace("http://purl.org/vocab/changeset/schema#")

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
_LOCK = threading.Lock()


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
    return rebase_term(to_rdflib(term), CANONICAL_BASE, base_uri)


def changelog_iri(base_uri: str, log: Changelog) -> URIRef:
    return URIRef(f"{version_iri(base_uri, log.new.version)}#changes-from-{log.old.version}")


def changelog_graph(log: Changelog, base_uri: str) -> Graph:
    """The changelog as RDF: one cs:ChangeSet per (entity, graph), reified statements."""
    g = bind_prefixes(Graph(), base_uri)
    g.bind("cs", CS)
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



def ontology_changed(settings: Settings, release: Release) -> bool:
    """Whether the ontology graph of `release` differs from its previous release's."""
    if release.previous is None:
        return True
    return any(c.graph == "ontology" for c in changelog(settings, release.previous,
                                                       release.version).changes)


def forget() -> None:
    """Drop the in-process memo of changelogs (tests)."""
    with _LOCK:
        _CHANGELOGS.clear()
