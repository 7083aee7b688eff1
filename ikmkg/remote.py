"""The published graph in a remote SPARQL store, queried over the SPARQL 1.1 Protocol.

`RemoteStore` implements `ikmkg.store.Store` for any SPARQL 1.1 query endpoint, so that several
stateless ikmkg instances can serve one shared database (`ikmkg serve --store URL`).
`load` writes a validated graph into such a store (`ikmkg load --store URL`).

Versions and the switch (issue #6). `load` never writes into graphs that readers query: each
load puts the three graphs under versioned names, `{base}graph/{name}/v/{key}` (`key` = the
first 16 hex digits of the content hash and a random suffix), and then publishes them with one
SPARQL Update that only *adds* one small record to the bookkeeping graph `<urn:ikmkg:meta:BASE>`:
`<urn:ikmkg:version:KEY>` with its sequence number, content hash, time and size. The current
version is the complete record with the highest sequence number. Readers resolve it first
(`RemoteStore.published()`, one small query, cached for `version_ttl` seconds) and then query
only that version's graphs, so one query sees one version, whatever the store's isolation:
Virtuoso commits each operation of an update request on its own and lets readers see the steps
of a multi-step switch (MOVE/DROP), but an insert-only record is either there or not. Nothing is
shared between ikmkg instances but the store: every instance resolves the pointer itself, and
all of them serve the new version at most `version_ttl` seconds after the switch. A replaced
version stays readable for `load`'s `grace` period (longer than any instance's `version_ttl`
plus a query's time limit) and is dropped by the first load after it; so a store holds the
current version, the previous one, and the one being loaded.

How the dataset is kept the same as on the embedded store: users, and ikmkg's own pages, VoID
counts and dumps, name the graphs by their public IRIs (`ikmkg.kg.graph_iri`); the stored names
never show. Unless the query names its own dataset with FROM / FROM NAMED, every query is sent
with `default-graph-uri` and `named-graph-uri` listing exactly the current version's three
graphs, so the default graph is their union on every store without a store-specific switch
(Virtuoso's own default graph is the union of *all* its graphs, system graphs included;
Oxigraph's `union-default-graph` would also show the bookkeeping graph). Every mention of a
public graph IRI in the query (FROM, FROM NAMED, GRAPH <g>, VALUES, comparisons; as an IRI, a
relative IRI under BASE or a prefixed name) and in `default-graph-uri`/`named-graph-uri` is
rewritten to the stored name before the query is sent (`rename_graphs`, on the token stream),
and every stored name in the results (`GRAPH ?g` bindings, and their `STR()`) is turned back
into the public one. The mapping is one-to-one because the graphs' IRIs name graphs only (the
data states nothing about them). What a query computes from a graph name's *string* inside
the query (`STRENDS(STR(?g), "/data")`) sees the stored name: the one difference left. A store
filled by other means, with the graphs under their public names and no version record, is
queried under those names (and its version is then `load`'s older single identifier, or a
hash of the store's URL).

Safety: every query is checked by `ikmkg.sparql.check_query` (updates, SERVICE, LOAD and FROM
outside the published graphs are refused) plus the extensions of common stores that could reach
files or the network (Virtuoso's `DEFINE` pragmas and `bif:`/`sql:` functions) before anything
is sent. The time limit is enforced here (the HTTP read gives up at the deadline: `QueryTimeout`)
and passed to Virtuoso (`timeout=` ms, whose partial "anytime" answers become `QueryTimeout` too);
Oxigraph's server has only a global limit (`oxigraph serve --timeout-s`), set it to the same value.

Results are normalised through pyoxigraph: the store is asked for SPARQL JSON (SELECT/ASK) or
N-Triples (CONSTRUCT/DESCRIBE), and ikmkg serialises the requested format itself, which irons out
store quirks (Virtuoso's "typed-literal", `nodeID://` blank nodes, ASK answered as a table) and
caps results the same way on every backend.

Connection errors are retried with exponential backoff; when the store stays unreachable the
request fails with `BackendUnavailable` (503, `Retry-After`); the pool reconnects by itself once
the store is back. No Flask import here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import itertools
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

import pyoxigraph as ox
import urllib3
from rdflib.term import Node

from ikmkg import sparql
from ikmkg.errors import BackendUnavailable, IkmkgError, QueryError, QueryTimeout
from ikmkg.executor import capped_tsv, fit_solutions, fit_triples
from ikmkg.formats import OXIGRAPH_RDF_FORMATS as RDF_FORMATS
from ikmkg.formats import OXIGRAPH_RESULT_FORMATS as RESULT_FORMATS
from ikmkg.kg import GRAPH_NAMES, KnowledgeGraph, graph_iri, iter_quads
from ikmkg.namespaces import prefixes
from ikmkg.store import QueryResult, StoreBase, to_oxigraph, to_rdflib

log = logging.getLogger(__name__)

SRJ = "application/sparql-results+json"
NTRIPLES = "application/n-triples"
DCT = "http://purl.org/dc/terms/"
VOID_TRIPLES = "http://rdfs.org/ns/void#triples"
XSD = "http://www.w3.org/2001/XMLSchema#"

#: Namespaces of store extension functions that can read files or open connections (Virtuoso's
#: `bif:` and `sql:`). Refused wherever they appear, like SERVICE.
FORBIDDEN_NAMESPACES = ("http://www.openlinksw.com/schemas/bif#",
                        "http://www.openlinksw.com/schemas/sql#")
FORBIDDEN_PREFIXES = {"bif", "sql"}  # predefined (undeclared) in Virtuoso
#: Subject prefix of the version records in the bookkeeping graph (`urn:ikmkg:version:KEY`).
VERSION_PREFIX = "urn:ikmkg:version:"
#: Predicate of a version record: its sequence number (the highest complete record is current).
SEQUENCE = "urn:ikmkg:sequence"
#: Seconds a replaced version stays in the store for instances still reading it (see `load`).
GRACE_SECONDS = 300.0
#: Subject prefix of the claim a load in progress holds in the bookkeeping graph
#: (`urn:ikmkg:load:KEY`, with the time it started): one load at a time (see `load`).
LOAD_PREFIX = "urn:ikmkg:load:"
#: Seconds after which a claim whose load neither published nor gave up is taken as dead (its
#: process was killed): the next load drops its graphs.
STALE_LOAD_SECONDS = 3600.0


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


def rename_graphs(text: str, names: dict[str, str]) -> str:
    """The query `text` with each mention of a graph in `names` replaced by `<names[iri]>`.

    Mentions are found on the token stream (`ikmkg.sparql.tokenize`): IRIs, relative IRIs under
    BASE and prefixed names that resolve to a key of `names`, wherever they stand (FROM, GRAPH,
    VALUES, FILTER); strings and comments are never touched. The IRIs of PREFIX and BASE
    declarations are left alone, so other names built on them keep their meaning. A text with
    \\u escapes is read, and when renamed sent, as a parser reads it (SPARQL 1.1 §19.2: the
    escapes are replaced before parsing). Returns `text` itself when nothing is renamed.
    """
    if not names:
        return text
    source = sparql._unescape(text)
    tokens = sparql.tokenize(source)
    prefixes: dict[str, str] = {}
    base = ""
    declaration: set[int] = set()
    edits: list[tuple[int, int, str]] = []
    for i, token in enumerate(tokens):
        word = token.text.upper() if token.kind == "word" else None
        if word == "BASE" and i + 1 < len(tokens) and tokens[i + 1].kind == "iri":
            base = urljoin(base, tokens[i + 1].text[1:-1])
            declaration.add(i + 1)
        elif (word == "PREFIX" and i + 2 < len(tokens) and tokens[i + 1].kind == "pname"
              and tokens[i + 2].kind == "iri"):
            prefixes[tokens[i + 1].text[:-1]] = urljoin(base, tokens[i + 2].text[1:-1])
            declaration.update((i + 1, i + 2))
        elif i not in declaration and token.kind in ("iri", "pname"):
            iri = sparql._resolve(token, prefixes, base)
            if iri in names:
                edits.append((token.start, token.start + len(token.text), f"<{names[iri]}>"))
    if not edits:
        return text
    parts, at = [], 0
    for start, end, replacement in edits:
        parts += [source[at:start], replacement]
        at = end
    return "".join(parts) + source[at:]


# --- safety checks specific to remote stores ---------------------------------------------------

def check_remote(text: str, allowed_graphs: set[str]) -> sparql.CheckedQuery:
    """`ikmkg.sparql.check_query`, plus what only a remote store could act on.

    Raises:
        QueryError: anything `check_query` refuses; a text that is not one standard query form
            after its prologue (store pragmas such as Virtuoso's `DEFINE`); store functions that
            reach outside the graph (`bif:`, `sql:`).
    """
    checked = sparql.check_query(text, allowed_graphs=allowed_graphs, max_results=0)
    tokens = sparql.tokenize(sparql._unescape(text))
    if checked.form is None:
        first = next((t.text for t in tokens if t.kind == "word"
                      and t.text.upper() not in ("BASE", "PREFIX")), "")
        raise QueryError("not a SPARQL query: after PREFIX/BASE a query must start with SELECT, "
                         f"ASK, CONSTRUCT or DESCRIBE (found {first[:40]!r}); store-specific "
                         "pragmas are not accepted")
    has_base = any(t.kind == "word" and t.text.upper() == "BASE" for t in tokens)
    for token in tokens:
        # Without BASE a relative IRI is a syntax error (the embedded store says so); a server
        # would resolve it against a base of its own instead.
        if token.kind == "iri" and not has_base and not _ABSOLUTE.match(token.text[1:-1]):
            raise QueryError(f"relative IRI {token.text} without BASE")
    declared = set()
    for i, token in enumerate(tokens):
        if token.kind == "word" and token.text.upper() == "DEFINE":
            raise QueryError("DEFINE pragmas are not accepted")
        if token.kind == "word" and token.text.upper() == "PREFIX" and i + 1 < len(tokens):
            declared.add(tokens[i + 1].text[:-1])
    for token in tokens:
        iri = None
        if token.kind == "iri":
            iri = token.text[1:-1]
        elif token.kind == "pname":
            prefix = token.text.partition(":")[0]
            if prefix.lower() in FORBIDDEN_PREFIXES and prefix not in declared:
                raise QueryError(f"{token.text}: store extension functions are not accepted")
        if iri and iri.startswith(FORBIDDEN_NAMESPACES):
            raise QueryError(f"<{iri}>: store extension functions are not accepted")
    for i, token in enumerate(tokens):  # a declared prefix may still point at those namespaces
        if (token.kind == "word" and token.text.upper() == "PREFIX" and i + 2 < len(tokens)
                and tokens[i + 2].text[1:-1].startswith(FORBIDDEN_NAMESPACES)):
            raise QueryError("store extension functions are not accepted")
    return checked


_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_VIRTUOSO_STATE = re.compile(r"^Virtuoso (\w{5}) Error")


# --- normalising what the store returns --------------------------------------------------------

def _plain_string(term: dict) -> bool:
    return "xml:lang" not in term and term.get("datatype", XSD + "string") == XSD + "string"


def _normalise_json(body: bytes, form: str | None, rename: dict[str, str] | None = None) -> bytes:
    """SPARQL JSON results as pyoxigraph reads them (Virtuoso writes an older dialect), with
    the stored graph names in `rename` (and their plain string forms) shown as its values."""
    data = json.loads(body)
    if "boolean" in data:
        return body
    head_vars = data.get("head", {}).get("vars", [])
    rows = data.get("results", {}).get("bindings", [])
    if form == "ASK":  # Virtuoso answers ASK as a one-column table (__ASK_RETVAL)
        truth = bool(rows) and all(
            next(iter(r.values()), {}).get("value") not in ("0", "false") for r in rows)
        return json.dumps({"head": {}, "boolean": truth}).encode()
    labels: dict[str, str] = {}
    for row in rows:
        for term in row.values():
            if term.get("type") == "typed-literal":
                term["type"] = "literal"
            elif term.get("type") == "bnode":
                term["value"] = labels.setdefault(term["value"], f"b{len(labels)}")
            if rename and term.get("value") in rename and (
                    term.get("type") == "uri" or term.get("type") == "literal"
                    and _plain_string(term)):
                term["value"] = rename[term["value"]]
    return json.dumps({"head": {"vars": head_vars}, "results": {"bindings": rows}}).encode()


def _serialise_solutions(body: bytes, form: str | None, result_format: str,
                         max_results: int, rename: dict[str, str] | None = None,
                         max_bytes: int = 0) -> tuple[bytes, str, bool, int | None]:
    """(bytes in `result_format`, kind, capped, rows) from the store's SPARQL JSON."""
    if result_format not in RESULT_FORMATS:
        raise QueryError(f"a {form or 'SELECT'} query has no {result_format} serialisation")
    results = ox.parse_query_results(_normalise_json(body, form, rename),
                                     format=ox.QueryResultsFormat.JSON)
    if isinstance(results, ox.QueryBoolean):
        return results.serialize(format=RESULT_FORMATS[result_format]), "boolean", False, None
    # Through TSV like the embedded executor: rows counted, the cap cheap (ikmkg.executor).
    tsv, capped, rows = capped_tsv(results, max_results)
    data, cut, rows = fit_solutions(tsv, result_format, max_bytes)
    return data, "solutions", capped or cut, rows


def _renamed(term: ox.NamedNode | ox.BlankNode | ox.Literal,
             rename: dict[str, str]) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(term, ox.NamedNode) and term.value in rename:
        return ox.NamedNode(rename[term.value])
    if (isinstance(term, ox.Literal) and term.value in rename and term.language is None
            and term.datatype.value == XSD + "string"):
        return ox.Literal(rename[term.value])
    return term


def _serialise_graph(body: bytes, result_format: str, max_results: int, base_uri: str,
                     rename: dict[str, str] | None = None,
                     max_bytes: int = 0) -> tuple[bytes, str, bool, int | None]:
    if result_format not in RDF_FORMATS:
        raise QueryError(f"a CONSTRUCT or DESCRIBE query has no {result_format} serialisation")
    triples: Iterable[ox.Triple] = ox.parse(body, format=ox.RdfFormat.N_TRIPLES)
    capped = False
    if max_results:
        triples = list(itertools.islice(triples, max_results + 1))
        capped = len(triples) > max_results
        triples = triples[:max_results]
    renamed = bool(rename) and any(name.encode() in body for name in rename)
    if renamed:
        triples = [ox.Triple(_renamed(t.subject, rename), t.predicate, _renamed(t.object, rename))
                   for t in triples]
    rows = len(triples) if max_results else None
    if result_format == "nt" and not capped and not renamed and len(body) <= (
            max_bytes or len(body)):
        return body, "graph", False, rows
    data, cut, kept = fit_triples(
        list(triples), lambda some: ox.serialize(some, format=RDF_FORMATS[result_format],
                                                 prefixes=prefixes(base_uri)), max_bytes)
    return data, "graph", capped or cut, kept if cut else rows


# --- the store ---------------------------------------------------------------------------------

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
        current = self._resolve()
        self._published = (current, now + self.version_ttl)
        return current

    def _resolve(self) -> Published:
        meta = meta_graph(self.base_uri)
        public = list(self.graph_iris.items())
        rows = self._select(
            f"SELECT ?v ?id WHERE {{ GRAPH <{meta}> {{ ?v <{DCT}isVersionOf> <{meta}> ; "
            f"<{SEQUENCE}> ?n ; <{DCT}identifier> ?id }} }} ORDER BY DESC(?n) DESC(STR(?v)) "
            "LIMIT 1", dataset=False)
        if rows and str(rows[0]["v"]).startswith(VERSION_PREFIX):
            key = str(rows[0]["v"])[len(VERSION_PREFIX):]
            return Published(str(rows[0]["id"]), key, {
                iri: version_graph(self.base_uri, name, key) for name, iri in public})
        same = {iri: iri for _, iri in public}
        rows = self._select(f"SELECT ?v WHERE {{ GRAPH <{meta}> {{ <{meta}> <{DCT}identifier> ?v }} }}",
                            dataset=False)  # written by ikmkg before versioned graphs
        if rows:
            return Published(str(rows[0]["v"]), None, same)
        # Not loaded by `ikmkg load`: no identity to build ETags on but the store's URL.
        return Published("unversioned-" + hashlib.sha256(self.url.encode()).hexdigest()[:16],
                         None, same, recorded=False)

    def __len__(self) -> int:
        """Number of statements in the three published graphs."""
        rows = self._select("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }")
        return int(rows[0]["n"]) if rows else 0

    def select(self, sparql_text: str) -> list[dict[str, Node]]:
        """Rows of a SELECT query as {variable: rdflib term} (unbound variables absent)."""
        body = self.query(sparql_text, result_format="srj", timeout=self.query_timeout).read()
        return _rows(body)

    def query(self, sparql_text: str, *, result_format: str, timeout: float | None = None,
              default_graph_uris: list[str] | None = None,
              named_graph_uris: list[str] | None = None, union: bool = True,
              max_results: int = 0, stream: bool = False, max_bytes: int = 0) -> QueryResult:
        """Check `sparql_text`, send it to the store and serialise its result.

        See `ikmkg.store.Store.query`. Raises QueryError (refused, or the store's syntax error),
        QueryTimeout, BackendUnavailable.
        """
        allowed = set(self.graph_iris.values())
        checked = check_remote(sparql_text, allowed)
        for uri in (default_graph_uris or []) + (named_graph_uris or []):
            if uri not in allowed:
                raise QueryError(f"<{uri}> is not one of the published graphs")
        current = self.published()
        params: list[tuple[str, str]] = [("query", current.query_text(sparql_text))]
        if default_graph_uris is not None or named_graph_uris is not None:
            params += [("default-graph-uri", current.stored[g]) for g in default_graph_uris or []]
            params += [("named-graph-uri", current.stored[g]) for g in named_graph_uris or []]
        elif union or not checked.has_dataset:
            params += self._union_dataset(current)
        limit = self.query_timeout if timeout is None else min(timeout, self.query_timeout)
        graph = checked.form in ("CONSTRUCT", "DESCRIBE")
        response = self._post(self.url, params, accept=NTRIPLES if graph else SRJ,
                              timeout=limit)
        if graph:
            data, kind, capped, rows = _serialise_graph(response.body, result_format, max_results,
                                                  self.base_uri, current.public, max_bytes)
        else:
            data, kind, capped, rows = _serialise_solutions(response.body, checked.form,
                                                      result_format, max_results, current.public,
                                                      max_bytes)
        return QueryResult(kind, result_format, capped, [data], rows=rows)

    # -- internals --

    @staticmethod
    def _union_dataset(current: Published) -> list[tuple[str, str]]:
        graphs = list(current.stored.values())
        return [("default-graph-uri", g) for g in graphs] + [("named-graph-uri", g)
                                                              for g in graphs]

    def _select(self, text: str, dataset: bool = True) -> list[dict[str, Node]]:
        """An internal SELECT (no checks): on the current version's dataset, graphs named
        by their public IRIs as in `query`; `dataset=False` sends the text as it is, with no
        dataset (the store's own graph names)."""
        if not dataset:
            response = self._post(self.url, [("query", text)], accept=SRJ,
                                  timeout=self.query_timeout)
            return _rows(_serialise_solutions(response.body, "SELECT", "srj", 0)[0])
        current = self.published()
        params = [("query", current.query_text(text))] + self._union_dataset(current)
        response = self._post(self.url, params, accept=SRJ, timeout=self.query_timeout)
        return _rows(_serialise_solutions(response.body, "SELECT", "srj", 0, current.public)[0])

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


# --- loading -----------------------------------------------------------------------------------

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


class _Loader:
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
    rows = store._select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}",
                         dataset=False)
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
    rows = store._select(
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
    rows = store._select(
        f"SELECT ?l ?c WHERE {{ GRAPH <{meta}> {{ ?l <{DCT}created> ?c }} }}", dataset=False)
    found = []
    for row in rows:
        if str(row["l"]).startswith(LOAD_PREFIX):
            found.append((_recorded_time(row["c"]), str(row["l"])[len(LOAD_PREFIX):]))
    return sorted(found)


def _unclaim(key: str, meta: str) -> str:
    return f"DELETE WHERE {{ GRAPH <{meta}> {{ <{LOAD_PREFIX}{key}> ?p ?o }} }}"


def _claim(store: RemoteStore, loader: _Loader, base_uri: str, key: str, stale: float,
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
                  f"\"{now.isoformat()}\"^^<{XSD}dateTime> }} }}", "registering the load")
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


def _drop_superseded(store: RemoteStore, loader: _Loader, base_uri: str,
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
    if versions and (now - versions[0].switched).total_seconds() >= grace and store._select(
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
    previous = store._resolve()
    history = _versions(store, meta)
    loader = _Loader(store, update_url, graph_store_url)
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
            f"<{DCT}modified> \"{switched.isoformat()}\"^^<{XSD}dateTime> ; "
            f"<{VOID_TRIPLES}> {sum(expected.values())} }} }}", "publishing the new version")
        published = True
        store._published = None
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
        store._published = None
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
