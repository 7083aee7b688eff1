"""The published graph in a remote SPARQL store, queried over the SPARQL 1.1 Protocol.

`RemoteStore` implements `ikmkg.store.Store` for any SPARQL 1.1 query endpoint, so that several
stateless ikmkg instances can serve one shared database (`ikmkg serve --store URL`).
`ikmkg.remote_load.load` writes a validated graph into such a store (`ikmkg load --store URL`)
as a new version of the three graphs, published by one insert-only record in the bookkeeping
graph (issue #6; the protocol is described there). Readers resolve the current version first
(`RemoteStore.published()`, one small query, cached for `version_ttl` seconds) and then query
only that version's graphs, so one query sees one version, whatever the store's isolation.
Nothing is shared between ikmkg instances but the store: every instance resolves the pointer
itself.

How the dataset is kept the same as on the embedded store: users, and ikmkg's own pages, VoID
counts and dumps, name the graphs by their public IRIs (`ikmkg.kg.graph_iri`); the stored names
never show. Every query is sent with its dataset as `default-graph-uri` and `named-graph-uri`
(its FROM / FROM NAMED moved there, graphs the store does not hold replaced by empty ones:
ikmkg.query_dataset); unless the query or the request names one, that is exactly the current
version's three graphs, so the default graph is their union on every store without a store-specific switch
(Virtuoso's own default graph is the union of *all* its graphs, system graphs included;
Oxigraph's `union-default-graph` would also show the bookkeeping graph). Every mention of a
public graph IRI in the query (FROM, FROM NAMED, GRAPH <g>, VALUES, comparisons; as an IRI, a
relative IRI under BASE or a prefixed name) and in `default-graph-uri`/`named-graph-uri` is
rewritten to the stored name before the query is sent (`ikmkg.remote_sparql.rename_graphs`, on
the token stream), and every stored name in the results (`GRAPH ?g` bindings, and their `STR()`)
is turned back into the public one. The mapping is one-to-one because the graphs' IRIs name
graphs only (the data states nothing about them). What a query computes from a graph name's
*string* inside the query (`STRENDS(STR(?g), "/data")`) sees the stored name: the one difference
left. A store filled by other means, with the graphs under their public names and no version
record, is queried under those names (and its version is then `load`'s older single identifier,
or a hash of the store's URL).

Safety and results: every query is checked before anything is sent and every answer is
normalised through pyoxigraph (ikmkg.remote_sparql). The time limit is enforced here (the HTTP
read gives up at the deadline: `QueryTimeout`) and passed to Virtuoso (`timeout=` ms, whose
partial "anytime" answers become `QueryTimeout` too); Oxigraph's server has only a global limit
(`oxigraph serve --timeout-s`), set it to the same value.

Connection errors are retried with exponential backoff; when the store stays unreachable the
request fails with `BackendUnavailable` (503, `Retry-After`); the pool reconnects by itself once
the store is back. No Flask import here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import logging
import os
import re
import threading
import time
from urllib.parse import urlencode

import pyoxigraph as ox
import urllib3
from rdflib.term import Node

from ikmkg.errors import BackendUnavailable, IkmkgError, QueryError, QueryTimeout
from ikmkg.kg import graph_iri
from ikmkg.query_dataset import RemoteDataset
from ikmkg.remote_sparql import (
    check_remote,
    rename_graphs,
    serialise_graph,
    serialise_solutions,
    with_base,
)
from ikmkg.store import QueryResult, StoreBase
from ikmkg.terms import to_rdflib

log = logging.getLogger(__name__)

SRJ = "application/sparql-results+json"
NTRIPLES = "application/n-triples"
DCT = "http://purl.org/dc/terms/"
#: Subject prefix of the version records in the bookkeeping graph (`urn:ikmkg:version:KEY`).
VERSION_PREFIX = "urn:ikmkg:version:"
#: Predicate of a version record: its sequence number (the highest complete record is current).
SEQUENCE = "urn:ikmkg:sequence"


def meta_graph(base_uri: str) -> str:
    """IRI of the bookkeeping graph `load` writes (version records); never queried by users."""
    return f"urn:ikmkg:meta:{base_uri}"


def version_graph(base_uri: str, name: str, key: str) -> str:
    """Where version `key` of the published graph `name` (ontology, shapes, data) is stored."""
    return f"{graph_iri(base_uri, name)}/v/{key}"


@dataclasses.dataclass(frozen=True)
class Published:
    """The version readers query: its identity and where its graphs are stored.

    Attributes:
        version: the content hash `load` recorded (ETags build on it), or `unversioned-...`
            for a store no `load` has written.
        key: the version's key in the stored graph names; None when the graphs are stored
            under their public names (a store filled by other means, or by an older ikmkg).
        stored: public graph IRI -> stored graph IRI, for the three published graphs.
        recorded: whether `load` recorded this version.
    """

    version: str
    key: str | None
    stored: dict[str, str]
    recorded: bool = True

    @property
    def public(self) -> dict[str, str]:
        """Stored graph IRI -> public graph IRI (empty when they are the same)."""
        return {s: p for p, s in self.stored.items() if s != p}

    def query_text(self, text: str) -> str:
        """`text` with the public graph IRIs it mentions rewritten to the stored ones."""
        return rename_graphs(text, {p: s for p, s in self.stored.items() if s != p})



_VIRTUOSO_STATE = re.compile(r"^Virtuoso (\w{5}) Error")


@dataclasses.dataclass
class _Response:
    status: int
    headers: dict[str, str]
    body: bytes


class RemoteStore(StoreBase):
    """The published graph in a SPARQL 1.1 store reached over HTTP (see the module docstring).

    Args:
        url: the store's SPARQL query endpoint (Oxigraph: `http://host:7878/query`,
            Virtuoso: `http://host:8890/sparql`).
        base_uri: base IRI the graph was loaded under (`ikmkg load --base-uri`).
        query_timeout: upper bound of one query's time limit, in seconds.
        user, password: credentials for loading (digest or basic, as the store asks);
            queries are sent without them.
        flavour: "oxigraph", "virtuoso" or "generic"; None detects it from the `Server`
            header of the first answer.
        connect_timeout: seconds to wait for a TCP connection.
        retries: further attempts after a connection error, with exponential backoff from
            `backoff` seconds.
        retry_after: seconds a client is told to wait (`Retry-After`) when the store is down.
        version_ttl: seconds the current version (`published()`) is cached before it is
            resolved again: how long an instance may serve the previous version after a `load`
            (keep it well below `load`'s grace period).
    """

    def __init__(self, url: str, *, base_uri: str, query_timeout: float = 5.0,
                 user: str | None = None, password: str | None = None,
                 flavour: str | None = None, connect_timeout: float = 2.0, retries: int = 2,
                 backoff: float = 0.1, retry_after: int = 5, version_ttl: float = 2.0,
                 pool_size: int = 16):
        self.url = url
        self.base_uri = base_uri
        self.query_timeout = query_timeout
        self.user, self.password = user, password
        self.flavour = flavour
        self.connect_timeout = connect_timeout
        self.retries, self.backoff, self.retry_after = retries, backoff, retry_after
        self.version_ttl = version_ttl
        self.pool_size = pool_size
        self._pid = -1
        self._pool: urllib3.PoolManager | None = None
        self._published: tuple[Published, float] | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings) -> RemoteStore:  # noqa: ANN001 - ikmkg.settings.Settings
        """The store `settings.store` names; credentials from IKMKG_STORE_USER/_PASSWORD."""
        return cls(settings.store, base_uri=settings.base_uri,
                   query_timeout=settings.query_timeout,
                   user=os.environ.get("IKMKG_STORE_USER") or None,
                   password=os.environ.get("IKMKG_STORE_PASSWORD") or None,
                   pool_size=max(4, settings.max_concurrent_queries * 2))

    def __repr__(self) -> str:
        return f"RemoteStore({self.url!r}, base_uri={self.base_uri!r})"

    # -- the Store interface --

    @property
    def version(self) -> str:
        """The content hash `load` recorded for the current version (see `published`)."""
        return self.published().version

    def published(self) -> Published:
        """The version readers query now, resolved from the store at most every `version_ttl`
        seconds (one small query; every instance resolves it on its own)."""
        cached = self._published
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        current = self.resolve()
        self._published = (current, now + self.version_ttl)
        return current

    def forget_published(self) -> None:
        """Resolve the current version again on the next `published()` (after a load)."""
        self._published = None

    def resolve(self) -> Published:
        """The version readers query, resolved from the store now (no cache)."""
        meta = meta_graph(self.base_uri)
        public = list(self.graph_iris.items())
        rows = self.select_unchecked(
            f"SELECT ?v ?id WHERE {{ GRAPH <{meta}> {{ ?v <{DCT}isVersionOf> <{meta}> ; "
            f"<{SEQUENCE}> ?n ; <{DCT}identifier> ?id }} }} ORDER BY DESC(?n) DESC(STR(?v)) "
            "LIMIT 1", dataset=False)
        if rows and str(rows[0]["v"]).startswith(VERSION_PREFIX):
            key = str(rows[0]["v"])[len(VERSION_PREFIX):]
            return Published(str(rows[0]["id"]), key, {
                iri: version_graph(self.base_uri, name, key) for name, iri in public})
        same = {iri: iri for _, iri in public}
        rows = self.select_unchecked(  # written by ikmkg before versioned graphs
            f"SELECT ?v WHERE {{ GRAPH <{meta}> {{ <{meta}> <{DCT}identifier> ?v }} }}",
            dataset=False)
        if rows:
            return Published(str(rows[0]["v"]), None, same)
        # Not loaded by `ikmkg load`: no identity to build ETags on but the store's URL.
        return Published("unversioned-" + hashlib.sha256(self.url.encode()).hexdigest()[:16],
                         None, same, recorded=False)

    def __len__(self) -> int:
        """Number of statements in the three published graphs."""
        rows = self.select_unchecked("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }")
        return int(rows[0]["n"]) if rows else 0

    def select(self, sparql_text: str) -> list[dict[str, Node]]:
        """Rows of a SELECT query as {variable: rdflib term} (unbound variables absent)."""
        body = self.query(sparql_text, result_format="srj", timeout=self.query_timeout).read()
        return _rows(body)

    def query(self, sparql_text: str, *, result_format: str, timeout: float | None = None,
              default_graph_uris: list[str] | None = None,
              named_graph_uris: list[str] | None = None, union: bool = True,
              max_results: int = 0, stream: bool = False, max_bytes: int = 0,
              base_iri: str | None = None) -> QueryResult:
        """Check `sparql_text`, send it to the store and serialise its result.

        See `ikmkg.store.Store.query`. Raises QueryError (refused, or the store's syntax error),
        QueryTimeout, BackendUnavailable.
        """
        if base_iri:  # as a BASE of the text: a server would otherwise resolve against its own
            sparql_text = with_base(sparql_text, base_iri)
        checked = check_remote(sparql_text)
        current = self.published()
        # The dataset always travels as protocol parameters, graphs the store does not hold
        # replaced by empty ones (ikmkg.query_dataset: never passed through, issue #16).
        dataset = RemoteDataset.plan(sparql_text, current.stored, default_graph_uris,
                                     named_graph_uris)
        params: list[tuple[str, str]] = [("query", current.query_text(dataset.text))]
        params += [("default-graph-uri", current.stored.get(g, g))
                   for g in dataset.default_graphs]
        params += [("named-graph-uri", current.stored.get(g, g)) for g in dataset.named_graphs]
        rename = {**current.public, **dataset.shown}
        limit = self.query_timeout if timeout is None else min(timeout, self.query_timeout)
        graph = checked.form in ("CONSTRUCT", "DESCRIBE")
        response = self._post(self.url, params, accept=NTRIPLES if graph else SRJ,
                              timeout=limit)
        if graph:
            data, kind, capped, rows = serialise_graph(response.body, result_format, max_results,
                                                       self.base_uri, rename, max_bytes)
        else:
            data, kind, capped, rows = serialise_solutions(response.body, checked.form,
                                                           result_format, max_results,
                                                           rename, max_bytes)
        return QueryResult(kind, result_format, capped, [data], rows=rows)

    # -- internals --

    @staticmethod
    def _union_dataset(current: Published) -> list[tuple[str, str]]:
        graphs = list(current.stored.values())
        return [("default-graph-uri", g) for g in graphs] + [("named-graph-uri", g)
                                                              for g in graphs]

    def select_unchecked(self, text: str, dataset: bool = True) -> list[dict[str, Node]]:
        """A SELECT of ikmkg's own, unchecked (counts, the load protocol's bookkeeping): on the
        current version's dataset, graphs named by their public IRIs as in `query`;
        `dataset=False` sends the text as it is, with no dataset (the store's own graph
        names)."""
        if not dataset:
            response = self._post(self.url, [("query", text)], accept=SRJ,
                                  timeout=self.query_timeout)
            return _rows(serialise_solutions(response.body, "SELECT", "srj", 0)[0])
        current = self.published()
        params = [("query", current.query_text(text))] + self._union_dataset(current)
        response = self._post(self.url, params, accept=SRJ, timeout=self.query_timeout)
        return _rows(serialise_solutions(response.body, "SELECT", "srj", 0, current.public)[0])

    def _http(self) -> urllib3.PoolManager:
        # A forked server worker must not share its parent's sockets.
        if self._pid != os.getpid() or self._pool is None:
            with self._lock:
                if self._pid != os.getpid() or self._pool is None:
                    self._pool = urllib3.PoolManager(num_pools=4, maxsize=self.pool_size,
                                                     block=False, retries=False)
                    self._pid = os.getpid()
        return self._pool

    def _unavailable(self, detail: object) -> BackendUnavailable:
        log.warning("SPARQL store %s unavailable: %s", self.url, detail)
        return BackendUnavailable(
            f"the graph store is unavailable; try again in {self.retry_after} s",
            headers={"Retry-After": str(self.retry_after)})

    def _post(self, url: str, params: list[tuple[str, str]], *, accept: str,
              timeout: float) -> _Response:
        """POST a form to the store with retries on connection errors and a total deadline."""
        if self.flavour == "virtuoso":
            # Virtuoso's own limit (ms); a partial "anytime" answer is flagged by S1TAT below.
            params = params + [("timeout", str(max(1, int(timeout * 1000))))]
        body = urlencode(params)
        headers = {"Accept": accept, "Content-Type": "application/x-www-form-urlencoded"}
        deadline = time.monotonic() + timeout + 0.5  # a little grace: let the store say it
        for attempt in itertools.count():
            try:
                raw = self._http().request(
                    "POST", url, body=body, headers=headers, preload_content=False,
                    redirect=False, timeout=urllib3.Timeout(
                        connect=self.connect_timeout,
                        read=max(0.05, deadline - time.monotonic())))
                data = _read(raw, deadline)
                break
            except urllib3.exceptions.ReadTimeoutError:
                raise self._timeout(timeout) from None
            except (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError,
                    urllib3.exceptions.ProtocolError) as exc:
                if attempt >= self.retries or time.monotonic() >= deadline:
                    raise self._unavailable(exc) from None
                time.sleep(self.backoff * 2 ** attempt)
            except urllib3.exceptions.HTTPError as exc:
                raise self._unavailable(exc) from None
        headers_out = {k.lower(): v for k, v in raw.headers.items()}
        if self.flavour is None:
            server = headers_out.get("server", "").lower()
            self.flavour = ("virtuoso" if "virtuoso" in server
                            else "oxigraph" if "oxigraph" in server else "generic")
        if headers_out.get("x-sql-state", "").startswith("S1T"):
            raise self._timeout(timeout)
        if raw.status >= 400:
            self._fail(raw.status, data)
        return _Response(raw.status, headers_out, data)

    def _timeout(self, timeout: float) -> QueryTimeout:
        return QueryTimeout(f"the query ran longer than its time limit of {timeout:g} s and "
                            "was stopped", headers={"Retry-After": str(self.retry_after)})

    def _fail(self, status: int, data: bytes) -> None:
        text = data.decode("utf-8", "replace").strip()
        # Virtuoso echoes the query (with its own rewrites) after the message: not for users.
        text = text.split("\nSPARQL query:", 1)[0].strip()
        state = _VIRTUOSO_STATE.match(text)
        if "S1T00" in text or "timeout" in text.lower() and status >= 500:
            raise QueryTimeout(f"the query ran longer than the store's time limit: {text[:200]}")
        if status in (400, 422) or state and state.group(1).startswith(("37", "42", "22")):
            # SQLSTATE classes 37/42 (syntax, compile) and 22 (data): the query's fault.
            raise QueryError(f"the query was rejected: {text[:1000]}")
        if status in (502, 503, 504):
            raise self._unavailable(f"HTTP {status}: {text[:200]}")
        log.error("SPARQL store %s answered HTTP %s: %s", self.url, status, text[:1000])
        raise IkmkgError(f"the graph store failed to answer this query (HTTP {status})",
                         status=502)


def _read(raw: urllib3.BaseHTTPResponse, deadline: float) -> bytes:
    """The whole body, giving up at `deadline` even when the store trickles bytes."""
    parts = []
    try:
        for chunk in raw.stream(1 << 16):
            parts.append(chunk)
            if time.monotonic() > deadline:
                raise urllib3.exceptions.ReadTimeoutError(None, None, "deadline passed")
    finally:
        raw.release_conn()
    return b"".join(parts)


def _rows(srj: bytes) -> list[dict[str, Node]]:
    solutions = ox.parse_query_results(srj, format=ox.QueryResultsFormat.JSON)
    names = [v.value for v in solutions.variables]
    return [{n: to_rdflib(s[n]) for n in names if s[n] is not None} for s in solutions]
