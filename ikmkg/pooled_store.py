"""The server's store: the published store folder, queried through killable processes.

`PooledStore` is the Store backend the server uses: each query runs on the pool
(ikmkg.engine.pool) of executor processes or connections to the shared engine process, and is
stopped at its time limit; a query that crashed the shared engine is retried alone (the other
backend a server can use is `ikmkg.remote.RemoteStore`). `open_published` builds the store folder
(ikmkg.store) once per content and base and opens it.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from pathlib import Path

from ikmkg.engine import executor
from ikmkg.engine import process as engine
from ikmkg.engine.client import EngineClient, EngineLeft, Executor
from ikmkg.engine.pool import Pool, Run, Stopped
from ikmkg.errors import BackendUnavailable, MemoryLimitExceeded
from ikmkg.kg import KnowledgeGraph
from ikmkg.store import (
    READY,
    QueryResult,
    StoreBase,
    build_store_dir,
    default_cache_dir,
    is_ready,
    source_hash,
    store_dir_for,
)


class PooledStore(StoreBase):
    """The published store, queried through killable executor processes.

    `in_memory=True` (store_mode=memory) loads the store folder's N-Quads dump into an
    in-memory pyoxigraph store of this process, once; executors are forked from the process
    that queries (several times faster than reading the on-disk store, see bench/, but each
    busy executor ends up with its own copy). `shared=True` (store_mode=shared) starts one
    engine process that holds the in-memory store and runs every query on a thread of its own
    (ikmkg.engine.process): the speed of `memory` with one copy of the store. Otherwise each
    executor is a fresh interpreter that opens the on-disk store read-only.

    Memory (`engine_memory`, MiB; 0: no cap): the shared engine's queries together may
    allocate that much beyond the loaded store; a process that runs one query at a time (an
    executor, or a query retried alone) gets `engine_memory / max_concurrent`
    (ikmkg.engine.process explains the choice of RLIMIT_DATA). A query past its cap makes its
    process abort.

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
        self._engine = EngineClient(self.path, query_timeout, engine_memory) if shared else None
        self._pool = Pool(str(self.path / "db"), max_concurrent, admission_wait, memory,
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
            executor_ = Executor("", engine=self._engine, start_timeout=timeout,
                                 connect_wait=0)
            executor_.send({**self._request("ASK {}", "srj", None, None, True, 0),
                            "timeout": timeout})
            kind = b"D"
            while kind == b"D":
                kind, _ = executor_.read_frame(deadline)
            if kind != b"E":
                raise BackendUnavailable("the query engine did not answer ASK {}")
        except (TimeoutError, EOFError, OSError, EngineLeft):
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
            except EngineLeft:
                return self._answer(request, deadline, timeout)
        except Stopped as stopped:
            if self._engine is None or stopped.delivered:
                raise _stopped_error(stopped, self._alone_memory) from None
            self._engine.replace(stopped.engine_pid)  # the successor starts meanwhile
        return self._alone(request, deadline, timeout)

    def _answer(self, request: dict, deadline: float, timeout: float) -> QueryResult:
        """Run `request` on an executor of the pool (or a connection to the shared engine)."""
        executor_ = self._pool.acquire(retry_after=max(1, round(self.query_timeout)))
        run = Run(self._pool, executor_, deadline, timeout)
        try:
            executor_.send(request)
            first = run.first()
        except OSError:  # the engine or executor went away before it read the request
            run.finish(healthy=False)
            raise Stopped("the query engine stopped", executor_, False) from None
        except BaseException:
            run.finish(healthy=False)  # no-op when the run already ended
            raise
        return self._result(run, first, request)

    def _alone(self, request: dict, deadline: float, timeout: float) -> QueryResult:
        """Run `request` once more, after the shared engine died under it, in an executor
        process of its own (capped at its share of the memory), so that if this query is what
        killed the engine, it kills only itself."""
        try:
            executor_ = Executor(str(self.path / "db"), memory_cap=self._alone_memory)
        except BackendUnavailable:
            raise BackendUnavailable("the query engine stopped; try again shortly",
                                     headers={"Retry-After": "2"}) from None
        run = Run(self._pool, executor_, max(deadline, time.monotonic() + 1.0), timeout,
                  release=lambda ex, healthy, stuck: ex.kill())
        try:
            executor_.send(request)
            return self._result(run, run.first(), request)
        except Stopped as stopped:
            raise _stopped_error(stopped, self._alone_memory, alone=True) from None
        except BaseException:
            run.finish(healthy=False)
            raise

    @staticmethod
    def _result(run: Run, first: bytes | None, request: dict) -> QueryResult:
        if not request["stream"]:
            body = b"".join(run.chunks(first))
            return QueryResult(run.header["kind"], request["format"], run.header["capped"],
                               [body], rows=run.header.get("rows"),
                               capped_by=run.header.get("capped_by"))
        kind = "graph" if request["format"] in executor.RDF_FORMATS else "solutions"
        return QueryResult(kind, request["format"], False, run.chunks(first), run.close)


def _stopped_error(stopped: Stopped, memory: int, alone: bool = False) -> BackendUnavailable:
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
