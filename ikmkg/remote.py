"""The published graph in a remote SPARQL store, queried over the SPARQL 1.1 Protocol.

`RemoteStore` implements `ikmkg.store.Store` for any SPARQL 1.1 query endpoint, so that several
stateless ikmkg instances can serve one shared database (`ikmkg serve --store URL`).
`load` writes a validated graph into such a store (`ikmkg load --store URL`).

How the dataset is kept the same as on the embedded store: the three published graphs keep their
IRIs (`ikmkg.kg.graph_iri`), and, unless the query names its own dataset with FROM / FROM NAMED,
every query is sent with `default-graph-uri` and `named-graph-uri` listing exactly those three
graphs. That gives "the default graph is the union of the named graphs" on every store without
relying on a store-specific switch: Virtuoso's own default graph is the union of *all* its graphs
(including its system graphs), and Oxigraph's `union-default-graph` would also show the
bookkeeping graph below. A fourth graph, `<urn:ikmkg:meta:BASE>`, holds the version (the content
hash of the source files) written by `load`; it is never part of a query's dataset.

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
from urllib.parse import urlencode, urlsplit, urlunsplit

import pyoxigraph as ox
import urllib3
from rdflib.term import Node

from ikmkg import sparql
from ikmkg.errors import BackendUnavailable, IkmkgError, QueryError, QueryTimeout
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


def meta_graph(base_uri: str) -> str:
    """IRI of the bookkeeping graph `load` writes (version, time, size); never queried by users."""
    return f"urn:ikmkg:meta:{base_uri}"


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

def _normalise_json(body: bytes, form: str | None) -> bytes:
    """SPARQL JSON results as pyoxigraph reads them (Virtuoso writes an older dialect)."""
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
    return json.dumps({"head": {"vars": head_vars}, "results": {"bindings": rows}}).encode()


def _serialise_solutions(body: bytes, form: str | None, result_format: str,
                         max_results: int) -> tuple[bytes, str, bool]:
    """(bytes in `result_format`, kind, capped) from the store's SPARQL JSON."""
    if result_format not in RESULT_FORMATS:
        raise QueryError(f"a {form or 'SELECT'} query has no {result_format} serialisation")
    results = ox.parse_query_results(_normalise_json(body, form),
                                     format=ox.QueryResultsFormat.JSON)
    if isinstance(results, ox.QueryBoolean):
        return results.serialize(format=RESULT_FORMATS[result_format]), "boolean", False
    if not max_results:
        return results.serialize(format=RESULT_FORMATS[result_format]), "solutions", False
    tsv = results.serialize(format=ox.QueryResultsFormat.TSV)
    lines = tsv.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    capped = len(lines) - 1 > max_results
    if capped:
        tsv = b"\n".join(lines[:max_results + 1]) + b"\n"
    if result_format != "tsv":
        again = ox.parse_query_results(tsv, format=ox.QueryResultsFormat.TSV)
        tsv = again.serialize(format=RESULT_FORMATS[result_format])
    return tsv, "solutions", capped


def _serialise_graph(body: bytes, result_format: str, max_results: int,
                     base_uri: str) -> tuple[bytes, str, bool]:
    if result_format not in RDF_FORMATS:
        raise QueryError(f"a CONSTRUCT or DESCRIBE query has no {result_format} serialisation")
    triples: Iterable[ox.Triple] = ox.parse(body, format=ox.RdfFormat.N_TRIPLES)
    capped = False
    if max_results:
        triples = list(itertools.islice(triples, max_results + 1))
        capped = len(triples) > max_results
        triples = triples[:max_results]
    if result_format == "nt" and not capped:
        return body, "graph", False
    data = ox.serialize(list(triples), format=RDF_FORMATS[result_format],
                        prefixes=prefixes(base_uri))
    return data, "graph", capped


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
        version_ttl: seconds the graph version is cached before it is asked again (how long
            an instance may serve the previous version after a `load`).
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
        self._version: tuple[str, float] | None = None
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
        """The content hash `load` recorded, cached for `version_ttl` seconds."""
        cached = self._version
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        meta = meta_graph(self.base_uri)
        rows = self._select(f"SELECT ?v WHERE {{ GRAPH <{meta}> {{ <{meta}> <{DCT}identifier> ?v }} }}",
                            dataset=False)
        if rows:
            value = str(rows[0]["v"])
        else:  # not loaded by `ikmkg load`: no identity to build ETags on but the store's URL
            value = "unversioned-" + hashlib.sha256(self.url.encode()).hexdigest()[:16]
        self._version = (value, now + self.version_ttl)
        return value

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
              max_results: int = 0, stream: bool = False) -> QueryResult:
        """Check `sparql_text`, send it to the store and serialise its result.

        See `ikmkg.store.Store.query`. Raises QueryError (refused, or the store's syntax error),
        QueryTimeout, BackendUnavailable.
        """
        allowed = set(self.graph_iris.values())
        checked = check_remote(sparql_text, allowed)
        for uri in (default_graph_uris or []) + (named_graph_uris or []):
            if uri not in allowed:
                raise QueryError(f"<{uri}> is not one of the published graphs")
        params: list[tuple[str, str]] = [("query", sparql_text)]
        if default_graph_uris is not None or named_graph_uris is not None:
            params += [("default-graph-uri", g) for g in default_graph_uris or []]
            params += [("named-graph-uri", g) for g in named_graph_uris or []]
        elif union or not checked.has_dataset:
            params += self._union_dataset()
        limit = self.query_timeout if timeout is None else min(timeout, self.query_timeout)
        graph = checked.form in ("CONSTRUCT", "DESCRIBE")
        response = self._post(self.url, params, accept=NTRIPLES if graph else SRJ,
                              timeout=limit)
        if graph:
            data, kind, capped = _serialise_graph(response.body, result_format, max_results,
                                                  self.base_uri)
        else:
            data, kind, capped = _serialise_solutions(response.body, checked.form,
                                                      result_format, max_results)
        return QueryResult(kind, result_format, capped, [data])

    # -- internals --

    def _union_dataset(self) -> list[tuple[str, str]]:
        graphs = list(self.graph_iris.values())
        return [("default-graph-uri", g) for g in graphs] + [("named-graph-uri", g)
                                                              for g in graphs]

    def _select(self, text: str, dataset: bool = True) -> list[dict[str, Node]]:
        """An internal SELECT (no checks; `dataset=False` sends no dataset)."""
        params = [("query", text)] + (self._union_dataset() if dataset else [])
        response = self._post(self.url, params, accept=SRJ, timeout=self.query_timeout)
        return _rows(_serialise_solutions(response.body, "SELECT", "srj", 0)[0])

    def _http(self) -> urllib3.PoolManager:
        # A forked gunicorn worker must not share its parent's sockets.
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

    def text(self) -> str:
        parts = ", ".join(f"{name} {n}" for name, n in self.counts.items())
        was = f"replacing version {self.previous[:12]}" if self.previous else "first load"
        return (f"loaded {sum(self.counts.values())} triples ({parts}) into {self.url} "
                f"[{self.flavour}] as version {self.version[:12]} ({was}) in "
                f"{self.seconds:.1f} s; staged in fresh graphs, then switched in one update")


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


def load(store: RemoteStore, kg: KnowledgeGraph, *, update_url: str | None = None,
         graph_store_url: str | None = None, chunk_size: int = 50_000,
         progress: Callable[[str], None] | None = None) -> LoadReport:
    """Replace the published graphs in `store` by `kg` (already validated) so that readers
    never see a half-loaded graph.

    Each graph is uploaded into a fresh staging graph (Graph Store Protocol where the store has
    it, SPARQL Update otherwise), its size is checked, and then one SPARQL Update moves the
    three staging graphs onto the published IRIs and records the version in the bookkeeping
    graph: one update request, which Oxigraph and Virtuoso each run as one transaction.

    Raises:
        BackendUnavailable: the store cannot be reached.
        LoadError: the store refused a step (nothing published changed; staging graphs dropped).
    """
    say = progress or (lambda message: None)
    started = time.monotonic()
    meta = meta_graph(kg.base_uri)
    previous = store._select(
        f"SELECT ?v WHERE {{ GRAPH <{meta}> {{ <{meta}> <{DCT}identifier> ?v }} }}", dataset=False)
    loader = _Loader(store, update_url, graph_store_url)
    token = uuid.uuid4().hex[:12]
    triples: dict[str, list[ox.Triple]] = {name: [] for name in GRAPH_NAMES}
    for s, p, o, g in iter_quads(kg):
        name = str(g).rsplit("/", 1)[1]
        triples[name].append(ox.Triple(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o)))
    staging = {name: f"{graph_iri(kg.base_uri, name)}-staging-{token}" for name in GRAPH_NAMES}
    try:
        for name in GRAPH_NAMES:
            say(f"uploading {len(triples[name])} triples of {name} into <{staging[name]}>")
            for batch in chunks(triples[name], chunk_size):
                loader.upload(staging[name], batch)
            got = _count(store, staging[name])
            if got != len(triples[name]):
                raise LoadError(f"the store holds {got} of the {len(triples[name])} triples "
                                f"uploaded into <{staging[name]}>")
        say("switching the published graphs in one update")
        now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
        total = sum(len(t) for t in triples.values())
        steps = [f"MOVE <{staging[name]}> TO <{graph_iri(kg.base_uri, name)}>" if triples[name]
                 else f"DROP SILENT GRAPH <{graph_iri(kg.base_uri, name)}>"
                 for name in GRAPH_NAMES]
        steps.append(f"DROP SILENT GRAPH <{meta}>")
        steps.append(f'INSERT DATA {{ GRAPH <{meta}> {{ <{meta}> <{DCT}identifier> '
                     f'"{kg.content_hash}" ; <{DCT}modified> "{now}"^^<{XSD}dateTime> ; '
                     f'<{VOID_TRIPLES}> {total} }} }}')
        loader.update(" ;\n".join(steps), "switching to the new version")
    except BaseException:
        for graph in staging.values():
            try:
                loader.update(f"DROP SILENT GRAPH <{graph}>", "dropping a staging graph")
            except (IkmkgError, OSError):
                log.warning("could not drop staging graph <%s>", graph)
        raise
    store._version = None
    counts = {name: _count(store, str(graph_iri(kg.base_uri, name))) for name in GRAPH_NAMES}
    expected = {name: len(t) for name, t in triples.items()}
    if counts != expected or store.version != kg.content_hash:
        raise LoadError(f"after the switch the store holds {counts}, expected {expected}")
    return LoadReport(store.url, loader.flavour, kg.content_hash,
                      str(previous[0]["v"]) if previous else None, counts,
                      time.monotonic() - started)
