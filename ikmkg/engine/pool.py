"""The executors of one process, at most so many at once (`Pool`), and the frames of one
running query (`Run`), which stops it at its time limit."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator

import pyoxigraph as ox

from ikmkg.engine.client import EngineClient, EngineLeft, Executor
from ikmkg.errors import BackendUnavailable, QueryError, QueryTimeout, TooManyRequests


class Pool:
    """At most `size` executors at once; idle ones are kept for the next query."""

    def __init__(self, db_path: str, size: int, wait: float, memory: ox.Store | None = None,
                 engine: EngineClient | None = None, memory_cap: int = 0):
        self.db_path, self.size, self.wait, self.memory = db_path, size, wait, memory
        self.engine, self.memory_cap = engine, memory_cap
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._idle: list[Executor] = []
        self._slots = threading.BoundedSemaphore(self.size)
        self._lock = threading.Lock()

    def acquire(self, retry_after: int) -> Executor:
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
                executor_ = Executor(self.db_path, self.memory, engine=self.engine,
                                     memory_cap=self.memory_cap)
            return executor_
        except BaseException:
            self._slots.release()
            raise

    def release(self, executor_: Executor, healthy: bool, stuck: bool = False) -> None:
        """Keep a healthy executor for the next query, else end it; `stuck`: it is still busy
        with a query past its time limit (a shared engine is then replaced, see
        ikmkg.engine.process)."""
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


class Stopped(BackendUnavailable):
    """The process evaluating the query ended under it (a crash, a kill, or an abort on a
    failed allocation past the memory cap). `returncode` is its exit status where this process
    is its parent (-6: SIGABRT), `delivered` whether data had reached the caller already."""

    def __init__(self, message: str, executor_: Executor, delivered: bool):
        super().__init__(message, headers={"Retry-After": "2"})
        self.returncode, self.engine_pid = executor_.returncode, executor_.engine_pid
        self.delivered = delivered


class Run:
    """The frames of one running query, as an iterator of data chunks; kills on timeout/close.

    `release(executor, healthy, stuck)` gives the executor back (the pool's, by default)."""

    def __init__(self, pool: Pool, executor_: Executor, deadline: float, timeout: float,
                 release: Callable[[Executor, bool, bool], None] | None = None):
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
            raise Stopped("the query engine stopped while evaluating the query",
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
            raise EngineLeft("the query engine was being replaced")
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
