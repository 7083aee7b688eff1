"""Loading a validated graph into a remote SPARQL store as a new version (issue #6).

`load` (`ikmkg load --store URL`) never writes into graphs that readers query: each load puts
the three graphs under versioned names, `{base}graph/{name}/v/{key}` (`key` = the first 16 hex
digits of the content hash and a random suffix), and then publishes them with one SPARQL Update
that only *adds* one small record to the bookkeeping graph `<urn:ikmkg:meta:BASE>`:
`<urn:ikmkg:version:KEY>` with its sequence number, content hash, time and size. The current
version is the complete record with the highest sequence number; readers resolve it first
(`ikmkg.remote.RemoteStore.published`). Virtuoso commits each operation of an update request on
its own and lets readers see the steps of a multi-step switch (MOVE/DROP), but an insert-only
record is either there or not. All instances serve the new version at most their
`version_ttl` seconds after the switch. A replaced version stays readable for `load`'s `grace`
period (longer than any instance's `version_ttl` plus a query's time limit) and is dropped by
the first load after it; so a store holds the current version, the previous one, and the one
being loaded. Loads go one at a time (a claim in the bookkeeping graph). No Flask import here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit, urlunsplit

import pyoxigraph as ox
from rdflib.namespace import XSD

from ikmkg.errors import IkmkgError
from ikmkg.kg import GRAPH_NAMES, KnowledgeGraph, graph_iri, iter_quads
from ikmkg.remote import (DCT, NTRIPLES, SEQUENCE, VERSION_PREFIX, RemoteStore, meta_graph,
                          version_graph)
from ikmkg.terms import to_oxigraph

log = logging.getLogger(__name__)

VOID_TRIPLES = "http://rdfs.org/ns/void#triples"
#: Seconds a replaced version stays in the store for instances still reading it (see `load`).
GRACE_SECONDS = 300.0
#: Subject prefix of the claim a load in progress holds in the bookkeeping graph
#: (`urn:ikmkg:load:KEY`, with the time it started): one load at a time (see `load`).
LOAD_PREFIX = "urn:ikmkg:load:"
#: Seconds after which a claim whose load neither published nor gave up is taken as dead (its
#: process was killed): the next load drops its graphs.
STALE_LOAD_SECONDS = 3600.0


@dataclasses.dataclass
class LoadReport:
    """What `load` did."""

    url: str
    flavour: str
    version: str
    previous: str | None
    counts: dict[str, int]
    seconds: float
    key: str = ""
    dropped: list[str] = dataclasses.field(default_factory=list)

    def text(self) -> str:
        parts = ", ".join(f"{name} {n}" for name, n in self.counts.items())
        was = f"replacing version {self.previous[:12]}" if self.previous else "first load"
        dropped = (f"; dropped {len(self.dropped)} superseded version(s)" if self.dropped
                   else "")
        return (f"loaded {sum(self.counts.values())} triples ({parts}) into {self.url} "
                f"[{self.flavour}] as version {self.version[:12]} ({was}) in "
                f"{self.seconds:.1f} s; uploaded into fresh graphs …/v/{self.key}, then "
                f"published by one update of the version record{dropped}")


class LoadError(IkmkgError):
    """The store refused or failed part of a load; the published graphs were not changed."""

    status = 502


def _sibling(url: str, path: str) -> str:
    """`url` with its last path segment replaced by `path` (…/query -> …/store)."""
    parts = urlsplit(url)
    head = parts.path.rsplit("/", 1)[0]
    return urlunsplit((parts.scheme, parts.netloc, f"{head}/{path}", "", ""))


def _components(triples: list[ox.Triple]) -> list[list[ox.Triple]]:
    """Group triples so that every blank node's triples share a group (union-find).

    A blank node label only means the same node inside one upload, so a graph sent in several
    requests must never split the statements about one blank node (RDF lists, SHACL shapes).
    """
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for t in triples:
        nodes = [n.value for n in (t.subject, t.object) if isinstance(n, ox.BlankNode)]
        if len(nodes) == 2:
            a, b = find(nodes[0]), find(nodes[1])
            if a != b:
                parent[a] = b
    plain: list[ox.Triple] = []
    groups: dict[str, list[ox.Triple]] = {}
    for t in triples:
        node = next((n.value for n in (t.subject, t.object) if isinstance(n, ox.BlankNode)), None)
        if node is None:
            plain.append(t)
        else:
            groups.setdefault(find(node), []).append(t)
    return [[t] for t in plain] + list(groups.values())


def chunks(triples: list[ox.Triple], size: int) -> Iterator[list[ox.Triple]]:
    """Batches of about `size` triples that never split a blank node's statements."""
    batch: list[ox.Triple] = []
    for group in _components(triples):
        batch.extend(group)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class Loader:
    """The write side of one store flavour: upload into a graph, run one update."""

    def __init__(self, store: RemoteStore, update_url: str | None, graph_store_url: str | None):
        import requests
        from requests.auth import HTTPBasicAuth, HTTPDigestAuth

        self.store = store
        self.session = requests.Session()
        flavour = store.flavour or "generic"
        if store.user is not None:
            auth_class = HTTPDigestAuth if flavour == "virtuoso" else HTTPBasicAuth
            self.session.auth = auth_class(store.user, store.password or "")
        elif flavour == "virtuoso":
            raise LoadError("Virtuoso accepts writes only with credentials: set "
                            "IKMKG_STORE_USER and IKMKG_STORE_PASSWORD", status=400)
        defaults = {
            "oxigraph": (_sibling(store.url, "update"), _sibling(store.url, "store")),
            "virtuoso": (_sibling(store.url, "sparql-auth"),
                         _sibling(store.url, "sparql-graph-crud-auth")),
        }.get(flavour, (store.url, None))
        self.update_url = update_url or defaults[0]
        self.graph_store_url = graph_store_url or defaults[1]
        self.flavour = flavour

    def _check(self, response, what: str) -> None:  # noqa: ANN001 - requests.Response
        if response.status_code >= 300:
            raise LoadError(f"{what}: the store answered HTTP {response.status_code}: "
                            f"{response.text[:500]}")

    def update(self, text: str, what: str) -> None:
        import requests

        try:
            response = self.session.post(self.update_url, data={"update": text}, timeout=3600)
        except requests.RequestException as exc:
            raise LoadError(f"{what}: {exc}") from None
        self._check(response, what)

    def upload(self, graph: str, triples: list[ox.Triple]) -> None:
        import requests

        body = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
        try:
            if self.graph_store_url is None:  # plain SPARQL Update
                response = self.session.post(
                    self.update_url, timeout=3600,
                    data={"update": f"INSERT DATA {{ GRAPH <{graph}> {{\n{body.decode()}\n}} }}"})
            else:
                # Graph Store Protocol POST (adds to the graph); Virtuoso names it graph-uri.
                key = "graph-uri" if self.flavour == "virtuoso" else "graph"
                kind = "text/turtle" if self.flavour == "virtuoso" else NTRIPLES
                response = self.session.post(self.graph_store_url, params={key: graph},
                                             data=body, timeout=3600,
                                             headers={"Content-Type": kind})
        except requests.RequestException as exc:
            raise LoadError(f"uploading into <{graph}>: {exc}") from None
        self._check(response, f"uploading into <{graph}>")


def _count(store: RemoteStore, graph: str) -> int:
    rows = store.select_unchecked(
        f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}", dataset=False)
    return int(rows[0]["n"]) if rows else 0


@dataclasses.dataclass(frozen=True)
class _Version:
    key: str
    sequence: int
    switched: dt.datetime  # when its record was written (UTC)


def _recorded_time(value: object) -> dt.datetime:
    """A time written into the bookkeeping graph, as UTC (a store may drop the offset)."""
    moment = dt.datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _drop_graphs_of(base_uri: str, key: str) -> list[str]:
    """The updates that drop version `key`'s graphs (whether or not they were all written)."""
    return [f"DROP SILENT GRAPH <{version_graph(base_uri, name, key)}>" for name in GRAPH_NAMES]


def _versions(store: RemoteStore, meta: str) -> list[_Version]:
    """The version records in the bookkeeping graph, oldest first."""
    rows = store.select_unchecked(
        f"SELECT ?v ?n ?m WHERE {{ GRAPH <{meta}> {{ ?v <{DCT}isVersionOf> <{meta}> ; "
        f"<{SEQUENCE}> ?n ; <{DCT}modified> ?m }} }}", dataset=False)
    found = []
    for row in rows:
        if not str(row["v"]).startswith(VERSION_PREFIX):
            continue
        found.append(_Version(str(row["v"])[len(VERSION_PREFIX):], int(row["n"]),
                              _recorded_time(row["m"])))
    return sorted(found, key=lambda v: (v.sequence, v.key))


def _claims(store: RemoteStore, meta: str) -> list[tuple[dt.datetime, str]]:
    """(start, key) of every load claim in the bookkeeping graph, oldest first."""
    rows = store.select_unchecked(
        f"SELECT ?l ?c WHERE {{ GRAPH <{meta}> {{ ?l <{DCT}created> ?c }} }}", dataset=False)
    found = []
    for row in rows:
        if str(row["l"]).startswith(LOAD_PREFIX):
            found.append((_recorded_time(row["c"]), str(row["l"])[len(LOAD_PREFIX):]))
    return sorted(found)


def _unclaim(key: str, meta: str) -> str:
    return f"DELETE WHERE {{ GRAPH <{meta}> {{ <{LOAD_PREFIX}{key}> ?p ?o }} }}"


def _claim(store: RemoteStore, loader: Loader, base_uri: str, key: str, stale: float,
           say: Callable[[str], None]) -> list[str]:
    """Record that load `key` runs, so that loads go one at a time; clear what dead loads left.

    Every other claim is looked at: one whose version was published (its process died before
    it removed the claim) is removed; one older than `stale` seconds with no version is a load
    that was killed mid-way, so its graphs and claim are dropped (returned as dropped keys);
    any other is a load in progress. When loads start together, the claim that started first
    (then the smaller key) goes on and the others give way.

    Raises:
        LoadError: another load is in progress (this claim is removed again).
    """
    meta = meta_graph(base_uri)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    loader.update(f"INSERT DATA {{ GRAPH <{meta}> {{ <{LOAD_PREFIX}{key}> <{DCT}created> "
                  f"\"{now.isoformat()}\"^^<{XSD.dateTime}> }} }}", "registering the load")
    try:
        published = {version.key for version in _versions(store, meta)}
        dropped, running = [], []
        for started, other in _claims(store, meta):
            if other == key:
                continue
            if other in published:
                loader.update(_unclaim(other, meta), f"clearing the finished load {other}")
            elif (now - started).total_seconds() > stale:
                say(f"dropping the graphs of load {other}, started {started.isoformat()} and "
                    "never finished")
                steps = [_unclaim(other, meta), *_drop_graphs_of(base_uri, other)]
                loader.update(" ;\n".join(steps), f"dropping the dead load {other}")
                dropped.append(other)
            else:
                running.append((started, other))
        if running and min(running) < (now, key):
            started, other = min(running)
            until = started + dt.timedelta(seconds=stale)
            raise LoadError(
                f"another load ({other}) has been running since {started.isoformat()}: loads "
                "go one at a time. Run again when it is done; if its process died, its graphs "
                f"are dropped by the first load after {until.isoformat()}.")
    except BaseException:
        try:
            loader.update(_unclaim(key, meta), "withdrawing this load")
        except (IkmkgError, OSError):
            log.warning("could not withdraw the claim of load %s", key)
        raise
    return dropped


def _drop_superseded(store: RemoteStore, loader: Loader, base_uri: str,
                     versions: list[_Version], grace: float,
                     say: Callable[[str], None]) -> list[str]:
    """Drop every version replaced more than `grace` seconds ago (its record first, then its
    graphs), and the graphs an older ikmkg kept under the public names once the first
    versioned load is that old. Failures are reported, not raised: the load itself is done."""
    meta = meta_graph(base_uri)
    now = dt.datetime.now(dt.UTC)
    dropped = []
    for older, newer in itertools.pairwise(versions):
        if (now - newer.switched).total_seconds() < grace:
            continue
        steps = [f"DELETE WHERE {{ GRAPH <{meta}> {{ <{VERSION_PREFIX}{older.key}> ?p ?o }} }}",
                 *_drop_graphs_of(base_uri, older.key)]
        try:
            loader.update(" ;\n".join(steps), f"dropping superseded version {older.key}")
        except LoadError as exc:
            say(f"warning: {exc.message}")
            continue
        dropped.append(older.key)
    public = [str(graph_iri(base_uri, name)) for name in GRAPH_NAMES]
    old_enough = bool(versions) and (now - versions[0].switched).total_seconds() >= grace
    if old_enough and store.select_unchecked(
            "SELECT ?g WHERE { VALUES ?g { " + " ".join(f"<{g}>" for g in [meta, *public])
            + f" }} GRAPH ?g {{ ?s ?p ?o }} FILTER(?g != <{meta}> || ?s = <{meta}>) }} LIMIT 1",
            dataset=False):
        steps = [f"DELETE WHERE {{ GRAPH <{meta}> {{ <{meta}> ?p ?o }} }}"]
        steps += [f"DROP SILENT GRAPH <{g}>" for g in public]
        try:
            loader.update(" ;\n".join(steps), "dropping the unversioned graphs")
            dropped.append("unversioned")
        except LoadError as exc:
            say(f"warning: {exc.message}")
    return dropped


def load(store: RemoteStore, kg: KnowledgeGraph, *, update_url: str | None = None,
         graph_store_url: str | None = None, chunk_size: int = 50_000,
         grace: float = GRACE_SECONDS, stale: float = STALE_LOAD_SECONDS,
         progress: Callable[[str], None] | None = None) -> LoadReport:
    """Publish `kg` (already validated) in `store` as a new version, so that readers see the
    old version or the new one, never a mix (see the module docstring).

    The three graphs are uploaded into fresh graphs `{graph}/v/{key}` (Graph Store Protocol
    where the store has it, SPARQL Update otherwise) that no reader queries yet, and their
    sizes are checked; then one SPARQL Update with one operation, `INSERT DATA`, adds the new
    version's record to the bookkeeping graph: from then on every reader resolves the new
    version. Versions replaced more than `grace` seconds ago are then dropped; the one just
    replaced stays for the instances that still read it (at most their `version_ttl`).

    Loads go one at a time: each holds a claim in the bookkeeping graph while it runs (see
    `_claim`); a load whose process was killed leaves its claim, and the first load more than
    `stale` seconds after it started drops the graphs it left.

    Raises:
        BackendUnavailable: the store cannot be reached.
        LoadError: another load is in progress, or the store refused a step (the published
            version unchanged; the new graphs and, if written, the new record removed again).
    """
    say = progress or (lambda message: None)
    started = time.monotonic()
    meta = meta_graph(kg.base_uri)
    previous = store.resolve()
    history = _versions(store, meta)
    loader = Loader(store, update_url, graph_store_url)
    key = f"{kg.content_hash[:16]}-{uuid.uuid4().hex[:8]}"
    record = VERSION_PREFIX + key
    sequence = max((v.sequence for v in history), default=0) + 1
    triples: dict[str, list[ox.Triple]] = {name: [] for name in GRAPH_NAMES}
    for s, p, o, g in iter_quads(kg):
        name = str(g).rsplit("/", 1)[1]
        triples[name].append(ox.Triple(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o)))
    target = {name: version_graph(kg.base_uri, name, key) for name in GRAPH_NAMES}
    expected = {name: len(t) for name, t in triples.items()}
    published = False
    abandoned = _claim(store, loader, kg.base_uri, key, stale, say)
    try:
        for name in GRAPH_NAMES:
            say(f"uploading {len(triples[name])} triples of {name} into <{target[name]}>")
            for batch in chunks(triples[name], chunk_size):
                loader.upload(target[name], batch)
            got = _count(store, target[name])
            if got != len(triples[name]):
                raise LoadError(f"the store holds {got} of the {len(triples[name])} triples "
                                f"uploaded into <{target[name]}>")
        say(f"publishing version {key}: one update adds its record to <{meta}>")
        switched = dt.datetime.now(dt.UTC).replace(microsecond=0)
        # One operation: a store that commits each operation of a request on its own
        # (Virtuoso) still makes the whole record visible at once.
        loader.update(
            f"INSERT DATA {{ GRAPH <{meta}> {{ <{record}> <{DCT}isVersionOf> <{meta}> ; "
            f"<{SEQUENCE}> {sequence} ; <{DCT}identifier> \"{kg.content_hash}\" ; "
            f"<{DCT}modified> \"{switched.isoformat()}\"^^<{XSD.dateTime}> ; "
            f"<{VOID_TRIPLES}> {sum(expected.values())} }} }}", "publishing the new version")
        published = True
        store.forget_published()
        current = store.published()
        counts = {name: _count(store, target[name]) for name in GRAPH_NAMES}
        if current.key != key or counts != expected:
            raise LoadError(f"after the switch the store holds {counts} in version "
                            f"{current.key}, expected {expected} in {key}")
    except BaseException:
        steps = [f"DELETE WHERE {{ GRAPH <{meta}> {{ <{record}> ?p ?o }} }}"] if published else []
        steps += [*_drop_graphs_of(kg.base_uri, key), _unclaim(key, meta)]
        for step in steps:
            try:
                loader.update(step, "undoing the failed load")
            except (IkmkgError, OSError):
                log.warning("could not undo %s", step)
        store.forget_published()
        raise
    dropped = abandoned + _drop_superseded(store, loader, kg.base_uri,
                                           [*history, _Version(key, sequence, switched)], grace,
                                           say)
    try:
        loader.update(_unclaim(key, meta), "ending the load")
    except LoadError as exc:  # the version is published; the next load clears the claim
        say(f"warning: {exc.message}")
    return LoadReport(store.url, loader.flavour, kg.content_hash,
                      previous.version if previous.recorded else None, counts,
                      time.monotonic() - started, key, dropped)
