"""Where the published graph lives: the Store interface, the embedded store, the store folders.

The web layer depends only on `Store`. Both backends keep the graph in pyoxigraph (a native
SPARQL engine, chosen by measurement over rdflib's pure-Python one, see bench/); rdflib stays for
parsing, serialising and SHACL. The ontology, the shapes and the data sit in three named graphs
(`ikmkg.kg.graph_iri`); a query's default graph is their union unless the query (FROM) or the
request (default-graph-uri) names graphs.

- `EmbeddedStore`: the graph in this process. Queries cannot be stopped once started, so it is
  meant for tests and tools, not for serving the open internet.
- The store folder (`build_store_dir`): the graph written once to an on-disk pyoxigraph store,
  cached by content hash, so that a restart on unchanged files skips loading and validation. The
  server queries it through `ikmkg.pooled_store.PooledStore`: each query runs in a process
  of its own (ikmkg.engine) that is stopped when the time limit passes. The pages of the store
  files are shared by all processes through the OS page cache instead of being copied into every
  server worker.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Protocol

import pyoxigraph as ox
from rdflib import Graph
from rdflib.term import Node

from ikmkg.engine import executor
from ikmkg.engine import process as engine
from ikmkg.errors import QueryError
from ikmkg.kg import GRAPH_NAMES, KnowledgeGraph, OxigraphGraph, graph_iri, iter_quads
from ikmkg.namespaces import bind_prefixes, prefixes
from ikmkg.terms import to_oxigraph, to_rdflib

#: Bump when the on-disk layout written by `build_store_dir` changes (invalidates caches).
STORE_LAYOUT = "1"


@dataclasses.dataclass
class QueryResult:
    """A query's serialised result.

    `chunks` yields the bytes of the result in `result_format` (a suffix of ikmkg.formats);
    `capped` is True when `max_results` or `max_bytes` cut it (`capped_by`: "rows" or
    "bytes"); `rows` is the number of solutions or triples in it where the store knows it
    (None: unknown, as for streamed results). Call `close()` if you stop iterating early.
    """

    kind: str  # "solutions", "boolean" or "graph"
    result_format: str
    capped: bool
    chunks: Iterable[bytes]
    close: Callable[[], None] = lambda: None
    rows: int | None = None
    capped_by: str | None = None

    def read(self) -> bytes:
        try:
            return b"".join(self.chunks)
        finally:
            self.close()


class Store(Protocol):
    """What the web layer needs from a graph store."""

    base_uri: str

    def select(self, sparql: str) -> list[dict[str, Node]]:
        """Rows of a SELECT query as {variable: rdflib term} (unbound variables absent)."""

    def ask(self, sparql: str) -> bool: ...

    def construct(self, sparql: str) -> Graph:
        """The graph a CONSTRUCT or DESCRIBE query returns."""

    def query(self, sparql: str, *, result_format: str, timeout: float | None = None,
              default_graph_uris: list[str] | None = None,
              named_graph_uris: list[str] | None = None, union: bool = True,
              max_results: int = 0, stream: bool = False, max_bytes: int = 0,
              base_iri: str | None = None) -> QueryResult:
        """Evaluate `sparql` and serialise its result natively (see `QueryResult`).

        `union=False` lets the query's own FROM/FROM NAMED clauses pick the dataset; protocol
        graph lists override both. `max_bytes` cuts the answer to whole rows or triples within
        that size (not a streamed one). `base_iri` resolves relative IRIs of a query without
        BASE (the service's base IRI). Raises QueryError (syntax, with line:column),
        QueryTimeout, TooManyRequests.
        """

    @property
    def version(self) -> str:
        """Identity of the published graph (changes when the data changes): ETags build on it."""

    @property
    def graph_iris(self) -> dict[str, str]:
        """The published named graphs: name (ontology, shapes, data) -> IRI."""


@functools.lru_cache(maxsize=16)
def _graph_iris(base_uri: str) -> tuple[tuple[str, str], ...]:
    """(name, IRI) of the published named graphs under `base_uri` (asked on every request)."""
    return tuple((name, str(graph_iri(base_uri, name))) for name in GRAPH_NAMES)


class StoreBase:
    """select/ask/construct built on `query`, shared by every backend (remote one included)."""

    base_uri: str
    query_timeout: float | None = None

    def query(self, sparql: str, **kwargs) -> QueryResult:
        raise NotImplementedError

    @property
    def graph_iris(self) -> dict[str, str]:
        return dict(_graph_iris(self.base_uri))

    def ping(self, timeout: float) -> None:
        """Answer a trivial query within `timeout` seconds (the readiness probe), or raise."""
        self.query("ASK {}", result_format="srj", timeout=timeout).read()

    def select(self, sparql: str) -> list[dict[str, Node]]:
        body = self.query(sparql, result_format="tsv", timeout=self.query_timeout).read()
        solutions = ox.parse_query_results(body, format=ox.QueryResultsFormat.TSV)
        names = [v.value for v in solutions.variables]
        return [{n: to_rdflib(s[n]) for n in names if s[n] is not None} for s in solutions]

    def ask(self, sparql: str) -> bool:
        body = self.query(sparql, result_format="srj", timeout=self.query_timeout).read()
        return bool(json.loads(body)["boolean"])

    def construct(self, sparql: str) -> Graph:
        body = self.query(sparql, result_format="nt", timeout=self.query_timeout).read()
        graph = bind_prefixes(Graph(), self.base_uri)
        for triple in ox.parse(body, format=ox.RdfFormat.N_TRIPLES):
            graph.add((to_rdflib(triple.subject), to_rdflib(triple.predicate),
                       to_rdflib(triple.object)))
        return graph

    def _request(self, sparql: str, result_format: str, default_graph_uris: list[str] | None,
                 named_graph_uris: list[str] | None, union: bool, max_results: int,
                 max_bytes: int = 0) -> dict:
        explicit = default_graph_uris is not None or named_graph_uris is not None
        return {
            "query": sparql, "format": result_format, "union": union,
            "default_graph": (default_graph_uris or []) if explicit else None,
            "named_graphs": (named_graph_uris or []) if explicit else None,
            "max_results": max_results, "max_bytes": max_bytes,
            "prefixes": _prefixes(self.base_uri) if result_format in ("ttl", "trig") else None,
        }


@functools.lru_cache(maxsize=8)
def _prefixes(base_uri: str) -> dict[str, str]:
    return prefixes(base_uri)


def _quads(kg: KnowledgeGraph) -> Iterator[ox.Quad]:
    for s, p, o, g in iter_quads(kg):
        yield ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o), to_oxigraph(g))


class EmbeddedStore(StoreBase):
    """The published graph in an in-process pyoxigraph store (tests and tools; no time limit)."""

    def __init__(self, kg: KnowledgeGraph, path: str | None = None):
        self.base_uri = kg.base_uri
        self._version = kg.content_hash
        self.oxigraph = ox.Store(path) if path else ox.Store()
        self.oxigraph.bulk_extend(_quads(kg))

    @property
    def version(self) -> str:
        return self._version

    def __len__(self) -> int:
        return len(self.oxigraph)

    def query(self, sparql: str, *, result_format: str, timeout: float | None = None,
              default_graph_uris: list[str] | None = None,
              named_graph_uris: list[str] | None = None, union: bool = True,
              max_results: int = 0, stream: bool = False, max_bytes: int = 0,
              base_iri: str | None = None) -> QueryResult:
        request = self._request(sparql, result_format, default_graph_uris, named_graph_uris,
                                union, max_results, max_bytes)
        request["base_iri"] = base_iri
        chunks: list[bytes] = []
        try:
            header = executor.evaluate(self.oxigraph, request, chunks.append)
        except executor.RequestError as exc:
            raise QueryError(str(exc)) from None
        return QueryResult(header["kind"], result_format, header["capped"], chunks,
                           rows=header.get("rows"), capped_by=header.get("capped_by"))


# --- the on-disk store and its cache --------------------------------------------------------

def source_hash(paths: Iterable[Path]) -> str:
    """SHA-256 over the names and bytes of `paths` (as `ikmkg.kg.load` computes content_hash)."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(Path(path).name.encode())
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def default_cache_dir() -> Path:
    """A per-user cache folder under the temporary directory, or a fresh one if it is unsafe."""
    path = Path(tempfile.gettempdir()) / f"ikmkg-cache-{os.getuid()}"
    try:
        path.mkdir(mode=0o700, exist_ok=True)
        st = path.stat()
        if st.st_uid == os.getuid() and not st.st_mode & 0o022:
            return path
    except OSError:
        pass
    return Path(tempfile.mkdtemp(prefix="ikmkg-cache-"))


def store_dir_for(cache_dir: Path, content_hash: str, base_uri: str) -> Path:
    """The folder of the on-disk store for this content and base (a cache key)."""
    key = hashlib.sha256(f"{content_hash}\n{base_uri}\n{ox.__version__}\n{STORE_LAYOUT}"
                         .encode()).hexdigest()[:24]
    return cache_dir / f"store-{key}"


READY = "READY.json"
DUMP = engine.DUMP


def is_ready(path: Path) -> bool:
    return (path / READY).is_file()


def build_store_dir(kg: KnowledgeGraph | OxigraphGraph, path: Path) -> Path:
    """Write `kg` to a new on-disk pyoxigraph store at `path` (atomically: build, then rename).

    Only ever called on data that passed validation: a ready folder means "validated".
    """
    tmp = Path(tempfile.mkdtemp(prefix=path.name + ".building-", dir=path.parent))
    store = ox.Store(str(tmp / "db"))
    if isinstance(kg, KnowledgeGraph):
        store.bulk_extend(_quads(kg))
        store.dump(str(tmp / DUMP), format=ox.RdfFormat.N_QUADS)
    else:  # an ikmkg.kg.OxigraphGraph (the fast cold start): no rdflib terms, dump meanwhile
        kg.write_to(store, tmp / DUMP)
    store.flush()
    store.optimize()
    count = len(store)
    del store  # closes the database before any reader opens it
    (tmp / READY).write_text(json.dumps({"base_uri": kg.base_uri, "version": kg.content_hash,
                                         "quads": count}))
    if path.exists():
        shutil.rmtree(path)
    tmp.rename(path)
    return path
