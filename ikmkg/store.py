"""Where the published graph lives and how it is queried: the Store interface and its backends.

The web layer depends only on `Store`. Both backends keep the graph in pyoxigraph (a native
SPARQL engine, chosen by measurement over rdflib's pure-Python one, see bench/); rdflib stays for
parsing, serialising and SHACL. The ontology, the shapes and the data sit in three named graphs
(`ikmkg.kg.graph_iri`); a query's default graph is their union unless the query (FROM) or the
request (default-graph-uri) names graphs.

- `EmbeddedStore`: the graph in this process. Queries cannot be stopped once started, so it is
  meant for tests and tools, not for serving the open internet.
- `PooledStore`: the server's store. The graph is written once to an on-disk pyoxigraph store
  (cached by content hash, so a restart on unchanged files skips loading and validation); each
  query runs in a small executor process (`ikmkg.executor`) that opens the store read-only and is
  killed when the time limit passes. The pages of the store files are shared by all processes
  through the OS page cache instead of being copied into every server worker.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import hashlib
import itertools
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Protocol

import pyoxigraph as ox
from rdflib import Graph
from rdflib.term import Node

from ikmkg import engine, executor
from ikmkg.engine import limit_memory
from ikmkg.errors import (
    BackendUnavailable,
    MemoryLimitExceeded,
    QueryError,
    QueryTimeout,
    TooManyRequests,
)
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


# --- the pool of executor processes ---------------------------------------------------------

class _EngineClient:
    """The client side of a shared query engine (store_mode=shared, see ikmkg.engine).

    The process that creates it (the owner: the server's main process, or a test) starts the first
    engine; every process forked from it connects to the same socket. `replace` asks for a
    successor when a query overran its limit (the engine is still running it on a thread);
    `close`, in the owner only, stops the engine. `memory`: MiB the engine's queries may
    allocate together beyond the loaded store (ikmkg.engine.limit_memory; 0: no cap).
    """

    def __init__(self, store_dir: Path, query_timeout: float, memory: int = 0):
        self.store_dir, self.grace = str(store_dir), query_timeout + 1.0
        self.wait, self.memory = query_timeout, memory
        self.owner = os.getpid()
        self._replaced: int | None = None  # the last engine this process started a successor of
        folder = engine.socket_dir()
        engine.remove_stale(folder)
        self.sock = str(folder / f"{self.owner}-{next(_ENGINE_IDS)}.sock")
        self._spawned: list[subprocess.Popen] = []
        process = self._spawn(None)
        deadline = time.monotonic() + engine.START_TIMEOUT
        while engine.pid_of(self.sock) != process.pid:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise BackendUnavailable(f"the query engine for {store_dir} did not start")
            time.sleep(0.02)

    def _spawn(self, successor_of: int | None) -> subprocess.Popen:
        self._spawned = [p for p in self._spawned if p.poll() is None]  # reap finished ones
        process = engine.spawn(self.store_dir, self.sock, self.owner, self.grace, successor_of,
                               self.memory)
        self._spawned.append(process)
        return process

    def connect(self, wait: float | None = None) -> socket.socket:
        """A new connection to the engine. When none answers (it died), a successor is started
        and this waits up to `wait` seconds (default: the time limit) for it to take over, then
        gives up with BackendUnavailable (a 503 with Retry-After)."""
        deadline = time.monotonic() + (self.wait if wait is None else wait)
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(self.sock)
                return sock
            except OSError:
                sock.close()
            self.replace(engine.pid_of(self.sock))
            if time.monotonic() >= deadline:
                raise BackendUnavailable("the query engine is restarting; try again shortly",
                                         headers={"Retry-After": "2"})
            time.sleep(0.05)

    def replace(self, pid: int | None) -> None:
        """Start a successor of the engine `pid` (a no-op if it has been replaced already, or
        if this process has started one for it already)."""
        if pid is not None and pid != self._replaced and pid == engine.pid_of(self.sock):
            self._replaced = pid
            self._spawn(pid)

    def close(self) -> None:
        if os.getpid() != self.owner:
            return
        pid = engine.pid_of(self.sock)
        if pid is not None:
            try:
                os.kill(pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass
        for path in (self.sock, self.sock + ".pid", self.sock + ".lock"):
            with contextlib.suppress(OSError):
                os.unlink(path)


_ENGINE_IDS = itertools.count(1)


#: Bytes read from an executor or engine at a time (its pipe holds up to 1 MiB, see below).
READ_SIZE = 1 << 18


class _Executor:
    """One executor process and the framed pipe to it.

    With `memory` (an in-memory pyoxigraph store of this process) the executor is forked from
    this process and shares the store's pages copy-on-write; otherwise it is a fresh
    `python -m ikmkg.executor STORE_DIR` that opens the on-disk store read-only.
    """

    def __init__(self, db_path: str, memory: ox.Store | None = None,
                 start_timeout: float = 60.0, engine: _EngineClient | None = None,
                 memory_cap: int = 0, connect_wait: float | None = None):
        self.proc: subprocess.Popen | None = None
        self.pid = 0
        #: how the process ended (Popen.returncode style: -N for signal N), once it has
        self.returncode: int | None = None
        self._sock: socket.socket | None = None
        if engine is not None:
            self._sock = engine.connect(connect_wait)
            self._in = self._sock.makefile("wb", buffering=0)
            self._fd = self._sock.fileno()
        elif memory is not None:
            self._fork(memory)
        else:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ikmkg.executor", db_path],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0, close_fds=True,
                env={**os.environ, "PYTHONPATH": os.pathsep.join(
                    [str(Path(__file__).resolve().parent.parent),
                     os.environ.get("PYTHONPATH", "")])},
            )
            self.pid = self.proc.pid
            self._in = self.proc.stdin
            self._fd = self.proc.stdout.fileno()
        try:  # a larger pipe: fewer wake-ups for big results (Linux F_SETPIPE_SZ)
            fcntl.fcntl(self._fd, 1031, 1 << 20)
        except OSError:
            pass
        self._buffer = bytearray()
        # Reads land in this buffer, allocated once: os.read(fd, n) allocates n bytes each
        # call, and for n of a MiB that is an mmap and munmap per frame (~15 us).
        self._scratch = memoryview(bytearray(READ_SIZE))
        try:
            kind, payload = self.read_frame(time.monotonic() + start_timeout)
        except (EOFError, TimeoutError, OSError):
            kind = payload = b""
        if kind != b"R":
            self.kill()
            if self._sock is not None:  # an engine that died as it accepted: nothing ran
                raise _EngineLeft("the query engine stopped as it accepted the connection")
            raise BackendUnavailable("the query executor did not start")
        ready = json.loads(payload)
        if self._sock is None:  # a process of its own, for one query at a time: its own cap
            with contextlib.suppress(OSError):
                limit_memory(memory_cap, self.pid)
        self.sandboxed = ready.get("sandboxed", False)
        #: the pid of the shared engine serving this connection (store_mode=shared)
        self.engine_pid: int | None = ready.get("engine")

    def _fork(self, memory: ox.Store) -> None:
        to_child, from_parent = os.pipe()[::-1]
        from_child, to_parent = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: only the two pipe ends stay open, then serve until EOF
            try:
                keep = sorted((from_parent, to_parent))
                os.closerange(3, keep[0])
                os.closerange(keep[0] + 1, keep[1])
                os.closerange(keep[1] + 1, 1 << 16)
                sandboxed = executor._sandbox()
                executor.serve(memory, os.fdopen(from_parent, "rb"),
                               os.fdopen(to_parent, "wb", buffering=executor.ANSWER_BUFFER),
                               sandboxed)
            finally:
                os._exit(0)
        os.close(from_parent)
        os.close(to_parent)
        self.pid = pid
        self._in = os.fdopen(to_child, "wb", buffering=0)
        self._fd = from_child

    def send(self, request: dict) -> None:
        payload = json.dumps(request).encode()
        self._in.write(executor.HEADER.pack(b"Q", len(payload)) + payload)

    def read_frame(self, deadline: float) -> tuple[bytes, bytes]:
        """The next frame; raises TimeoutError at `deadline`, EOFError if the child died."""
        size = executor.HEADER.size
        while True:
            if len(self._buffer) >= size:
                kind, length = executor.HEADER.unpack_from(self._buffer)
                if len(self._buffer) >= size + length:
                    payload = bytes(self._buffer[size:size + length])
                    del self._buffer[:size + length]
                    return kind, payload
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self._fd], [], [], remaining)
            if ready:
                n = os.readv(self._fd, [self._scratch])
                if not n:
                    raise EOFError
                self._buffer += self._scratch[:n]

    def alive(self) -> bool:
        if self._sock is not None:  # an idle engine connection never has anything to read
            try:
                return not select.select([self._fd], [], [], 0)[0]
            except (OSError, ValueError):
                return False
        if self.proc is not None:
            return self.proc.poll() is None
        try:
            return os.waitpid(self.pid, os.WNOHANG) == (0, 0)
        except ChildProcessError:
            return False

    def kill(self) -> None:
        if self._sock is not None:  # the engine's thread ends when it next writes to it
            self._in.close()
            self._sock.close()
            return
        if self.proc is not None:
            self.proc.kill()  # no-op if it has exited: its own exit status is kept
            self.returncode = self.proc.wait()
            self.proc.stdout.close()
        else:
            try:
                os.kill(self.pid, signal.SIGKILL)
                self.returncode = -os.WTERMSIG(status) if os.WIFSIGNALED(
                    status := os.waitpid(self.pid, 0)[1]) else os.WEXITSTATUS(status)
            except (ProcessLookupError, ChildProcessError):
                pass
            os.close(self._fd)
        try:
            self._in.close()
        except OSError:
            pass


class _Pool:
    """At most `size` executors at once; idle ones are kept for the next query."""

    def __init__(self, db_path: str, size: int, wait: float, memory: ox.Store | None = None,
                 engine: _EngineClient | None = None, memory_cap: int = 0):
        self.db_path, self.size, self.wait, self.memory = db_path, size, wait, memory
        self.engine, self.memory_cap = engine, memory_cap
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._idle: list[_Executor] = []
        self._slots = threading.BoundedSemaphore(self.size)
        self._lock = threading.Lock()

    def acquire(self, retry_after: int) -> _Executor:
        if self._pid != os.getpid():  # forked (server worker): the parent's children aren't ours
            self._reset()
        if not self._slots.acquire(timeout=self.wait):
            raise TooManyRequests(
                f"{self.size} queries are already running; try again in {retry_after} s",
                headers={"Retry-After": str(retry_after)})
        try:
            with self._lock:
                executor_ = self._idle.pop() if self._idle else None
            if executor_ is not None and not executor_.alive():
                executor_.kill()
                executor_ = None
            if executor_ is None:
                executor_ = _Executor(self.db_path, self.memory, engine=self.engine,
                                      memory_cap=self.memory_cap)
            return executor_
        except BaseException:
            self._slots.release()
            raise

    def release(self, executor_: _Executor, healthy: bool, stuck: bool = False) -> None:
        """Keep a healthy executor for the next query, else end it; `stuck`: it is still busy
        with a query past its time limit (a shared engine is then replaced, see ikmkg.engine)."""
        if healthy and executor_.alive():
            with self._lock:
                self._idle.append(executor_)
        else:
            executor_.kill()
            if stuck and self.engine is not None:
                self.engine.replace(executor_.engine_pid)
        self._slots.release()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for executor_ in idle:
            executor_.kill()


class _EngineLeft(BackendUnavailable):
    """A replaced engine sent this idle connection away (a `G` frame): the query did not run."""


class _Stopped(BackendUnavailable):
    """The process evaluating the query ended under it (a crash, a kill, or an abort on a
    failed allocation past the memory cap). `returncode` is its exit status where this process
    is its parent (-6: SIGABRT), `delivered` whether data had reached the caller already."""

    def __init__(self, message: str, executor_: _Executor, delivered: bool):
        super().__init__(message, headers={"Retry-After": "2"})
        self.returncode, self.engine_pid = executor_.returncode, executor_.engine_pid
        self.delivered = delivered


class _Run:
    """The frames of one running query, as an iterator of data chunks; kills on timeout/close.

    `release(executor, healthy, stuck)` gives the executor back (the pool's, by default)."""

    def __init__(self, pool: _Pool, executor_: _Executor, deadline: float, timeout: float,
                 release: Callable[[_Executor, bool, bool], None] | None = None):
        self.pool, self.executor, self.deadline, self.timeout = pool, executor_, deadline, timeout
        self.release = release or pool.release
        self.header: dict | None = None
        self.delivered = False
        self._done = False

    def next_frame(self) -> tuple[bytes, bytes]:
        try:
            return self.executor.read_frame(self.deadline)
        except TimeoutError:
            self.finish(healthy=False, stuck=True)
            raise QueryTimeout(f"the query ran longer than its time limit of {self.timeout:g} s "
                               "and was stopped") from None
        except (EOFError, OSError):  # OSError: a connection reset by an engine that died
            self.finish(healthy=False)
            raise _Stopped("the query engine stopped while evaluating the query",
                           self.executor, self.delivered) from None

    def first(self) -> bytes | None:
        """Wait for the first frame: data (returned), the end (header set) or an error (raised)."""
        kind, payload = self.next_frame()
        return self._handle(kind, payload)

    def _handle(self, kind: bytes, payload: bytes) -> bytes | None:
        if kind == b"D":
            return payload
        if kind == b"G":
            self.finish(healthy=False)
            raise _EngineLeft("the query engine was being replaced")
        self.finish(healthy=True)
        if kind == b"E":
            self.header = json.loads(payload)
            return None
        raise QueryError(json.loads(payload)["error"])

    def chunks(self, first: bytes | None) -> Iterator[bytes]:
        if first is not None:
            self.delivered = True
            yield first
        while self.header is None:
            chunk = self._handle(*self.next_frame())
            if chunk is not None:
                self.delivered = True
                yield chunk

    def finish(self, healthy: bool, stuck: bool = False) -> None:
        if not self._done:
            self._done = True
            self.release(self.executor, healthy, stuck)

    def close(self) -> None:
        # Stopped before the end (client went away): the child is mid-answer, so it goes.
        self.finish(healthy=self.header is not None)


class PooledStore(StoreBase):
    """The published store, queried through killable executor processes.

    `in_memory=True` (store_mode=memory) loads the store folder's N-Quads dump into an
    in-memory pyoxigraph store of this process, once; executors are forked from the process
    that queries (several times faster than reading the on-disk store, see bench/, but each
    busy executor ends up with its own copy). `shared=True` (store_mode=shared) starts one
    engine process that holds the in-memory store and runs every query on a thread of its own
    (ikmkg.engine): the speed of `memory` with one copy of the store. Otherwise each executor
    is a fresh interpreter that opens the on-disk store read-only.

    Memory (`engine_memory`, MiB; 0: no cap): the shared engine's queries together may
    allocate that much beyond the loaded store; a process that runs one query at a time (an
    executor, or a query retried alone) gets `engine_memory / max_concurrent` (ikmkg.engine
    explains the choice of RLIMIT_DATA). A query past its cap makes its process abort.

    Crash isolation (shared): when the engine dies under the queries it runs (one of them
    crashed it, or passed the memory cap), each client retries its query once, alone, in an
    executor process of its own on the on-disk store; the query that did it fails there again
    (a 507 for memory, else a 503 that says it was not retried) and the others are answered.
    Queries that arrive meanwhile wait for the successor engine.
    """

    def __init__(self, path: Path, *, base_uri: str, version: str, query_timeout: float = 5.0,
                 max_concurrent: int = 4, admission_wait: float = 1.0, in_memory: bool = False,
                 shared: bool = False, engine_memory: int = 0):
        self.path = Path(path)
        self.base_uri = base_uri
        self._version = version
        self.query_timeout = query_timeout
        self.engine_memory = engine_memory
        self._alone_memory = engine_memory // max(1, max_concurrent)
        memory = engine.load_memory(self.path) if in_memory else None
        self.mode = "shared" if shared else "memory" if in_memory else "disk"
        self._engine = _EngineClient(self.path, query_timeout, engine_memory) if shared else None
        self._pool = _Pool(str(self.path / "db"), max_concurrent, admission_wait, memory,
                           self._engine, self._alone_memory)

    @classmethod
    def open(cls, path: Path, **kwargs) -> PooledStore:
        """Open a folder written by `build_store_dir`."""
        info = json.loads((Path(path) / READY).read_text())
        return cls(path, base_uri=info["base_uri"], version=info["version"], **kwargs)

    @property
    def version(self) -> str:
        return self._version

    def __len__(self) -> int:
        return json.loads((self.path / READY).read_text())["quads"]

    def close(self) -> None:
        """Stop the idle executors of this process (and, in the process that started it, the
        shared engine)."""
        self._pool.close()
        if self._engine is not None:
            self._engine.close()

    def ping(self, timeout: float) -> None:
        """Answer `ASK {}` within `timeout` seconds, or raise BackendUnavailable. With the shared
        engine: on a connection of its own, outside the pool's slots (so that a busy server is
        still ready), without waiting for a restart and without replacing an engine that does
        not answer (a frozen one), so that the probe itself never costs a restart."""
        if self._engine is None:
            super().ping(timeout)
            return
        deadline = time.monotonic() + timeout
        executor_ = None
        try:
            executor_ = _Executor("", engine=self._engine, start_timeout=timeout,
                                  connect_wait=0)
            executor_.send({**self._request("ASK {}", "srj", None, None, True, 0),
                            "timeout": timeout})
            kind = b"D"
            while kind == b"D":
                kind, _ = executor_.read_frame(deadline)
            if kind != b"E":
                raise BackendUnavailable("the query engine did not answer ASK {}")
        except (TimeoutError, EOFError, OSError, _EngineLeft):
            raise BackendUnavailable(f"the query engine did not answer within {timeout:g} s",
                                     headers={"Retry-After": "5"}) from None
        finally:
            if executor_ is not None:
                executor_.kill()

    def warm(self) -> None:
        """Start one executor now, so that the first query does not wait for it."""
        self._pool.release(self._pool.acquire(retry_after=1), healthy=True)

    def query(self, sparql: str, *, result_format: str, timeout: float | None = None,
              default_graph_uris: list[str] | None = None,
              named_graph_uris: list[str] | None = None, union: bool = True,
              max_results: int = 0, stream: bool = False, max_bytes: int = 0,
              base_iri: str | None = None) -> QueryResult:
        timeout = self.query_timeout if timeout is None else min(timeout, self.query_timeout)
        request = self._request(sparql, result_format, default_graph_uris, named_graph_uris,
                                union, max_results, 0 if stream else max_bytes)
        request["base_iri"] = base_iri
        request["stream"] = stream
        request["timeout"] = timeout  # a draining engine waits for queries still in time
        deadline = time.monotonic() + timeout
        try:
            # A shared engine being replaced sends its idle connections away: a query sent on
            # one is sent once more, on a new connection (to the successor).
            try:
                return self._answer(request, deadline, timeout)
            except _EngineLeft:
                return self._answer(request, deadline, timeout)
        except _Stopped as stopped:
            if self._engine is None or stopped.delivered:
                raise _stopped_error(stopped, self._alone_memory) from None
            self._engine.replace(stopped.engine_pid)  # the successor starts meanwhile
        return self._alone(request, deadline, timeout)

    def _answer(self, request: dict, deadline: float, timeout: float) -> QueryResult:
        """Run `request` on an executor of the pool (or a connection to the shared engine)."""
        executor_ = self._pool.acquire(retry_after=max(1, round(self.query_timeout)))
        run = _Run(self._pool, executor_, deadline, timeout)
        try:
            executor_.send(request)
            first = run.first()
        except OSError:  # the engine or executor went away before it read the request
            run.finish(healthy=False)
            raise _Stopped("the query engine stopped", executor_, False) from None
        except BaseException:
            run.finish(healthy=False)  # no-op when the run already ended
            raise
        return self._result(run, first, request)

    def _alone(self, request: dict, deadline: float, timeout: float) -> QueryResult:
        """Run `request` once more, after the shared engine died under it, in an executor
        process of its own (capped at its share of the memory), so that if this query is what
        killed the engine, it kills only itself."""
        try:
            executor_ = _Executor(str(self.path / "db"), memory_cap=self._alone_memory)
        except BackendUnavailable:
            raise BackendUnavailable("the query engine stopped; try again shortly",
                                     headers={"Retry-After": "2"}) from None
        run = _Run(self._pool, executor_, max(deadline, time.monotonic() + 1.0), timeout,
                   release=lambda ex, healthy, stuck: ex.kill())
        try:
            executor_.send(request)
            return self._result(run, run.first(), request)
        except _Stopped as stopped:
            raise _stopped_error(stopped, self._alone_memory, alone=True) from None
        except BaseException:
            run.finish(healthy=False)
            raise

    @staticmethod
    def _result(run: _Run, first: bytes | None, request: dict) -> QueryResult:
        if not request["stream"]:
            body = b"".join(run.chunks(first))
            return QueryResult(run.header["kind"], request["format"], run.header["capped"],
                               [body], rows=run.header.get("rows"),
                               capped_by=run.header.get("capped_by"))
        kind = "graph" if request["format"] in executor.RDF_FORMATS else "solutions"
        return QueryResult(kind, request["format"], False, run.chunks(first), run.close)


def _stopped_error(stopped: _Stopped, memory: int, alone: bool = False) -> BackendUnavailable:
    """What to tell the client whose query's process ended under it: a memory cap it passed
    (the process aborted on a failed allocation: SIGABRT), or that it stopped the engine."""
    if stopped.returncode == -signal.SIGABRT and memory:
        return MemoryLimitExceeded(
            f"the query needed more memory than a query may use here ({memory} MiB) and was "
            "stopped")
    if alone:
        return BackendUnavailable(
            f"the query stopped the query engine, and again when run alone (exit status "
            f"{stopped.returncode}); it was not retried")
    return BackendUnavailable("the query engine stopped while evaluating the query; try "
                              "again shortly", headers={"Retry-After": "2"})


def _build_in_child(load_validated: Callable[[], KnowledgeGraph], cache_dir: str) -> str:
    try:
        kg = load_validated()
    except Exception as exc:  # re-raised in the parent as a plain, picklable error
        from ikmkg.errors import DataError

        if isinstance(exc, DataError):
            raise DataError(exc.message) from None
        raise
    path = store_dir_for(Path(cache_dir), kg.content_hash, kg.base_uri)
    if not is_ready(path):
        build_store_dir(kg, path)
    return str(path)


def open_published(settings,
                   load_validated: Callable[[], KnowledgeGraph]) -> PooledStore:
    """The server's store for `settings`, built once per content and base and then reused.

    Loading and validation run in a separate process (so the server never holds the rdflib
    graphs, which take far more memory than the store) and only when no store exists yet for
    these exact source files: a ready store folder means "validated", so restarting on
    unchanged files skips both.

    Args:
        settings: ikmkg.settings.Settings (cache_dir, base_uri, query limits).
        load_validated: a picklable callable that loads and validates the graph, raising
            DataError (with the validation report) when it does not conform.
    """
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from ikmkg.kg import ONTOLOGY_FILE, SHAPES_FILE, data_files

    cache_dir = Path(settings.cache_dir) if settings.cache_dir else default_cache_dir()
    cache_dir.mkdir(parents=True, exist_ok=True)
    sources = [settings.ontology_dir / ONTOLOGY_FILE, settings.ontology_dir / SHAPES_FILE,
               *data_files(settings)]
    path = None
    if all(p.is_file() for p in sources):
        path = store_dir_for(cache_dir, source_hash(sources), settings.base_uri)
    if path is None or not is_ready(path):
        with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
            path = Path(pool.submit(_build_in_child, load_validated, str(cache_dir)).result())
    return PooledStore.open(path, query_timeout=settings.query_timeout,
                            max_concurrent=settings.max_concurrent_queries,
                            in_memory=settings.store_mode == "memory",
                            shared=settings.store_mode == "shared",
                            engine_memory=settings.engine_memory)
