"""The client side of the query processes: the shared engine's client and the executors.

`EngineClient` starts the shared engine (ikmkg.engine.process) and connects to it, starting a
successor when one is needed; `Executor` is one executor process, or one connection to the
engine, and the framed pipe to it (the protocol of ikmkg.engine.executor).
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyoxigraph as ox

from ikmkg.engine import executor
from ikmkg.engine import process as engine
from ikmkg.engine.process import limit_memory
from ikmkg.errors import BackendUnavailable


class EngineClient:
    """The client side of a shared query engine (store_mode=shared, see ikmkg.engine.process).

    The process that creates it (the owner: the server's main process, or a test) starts the first
    engine; every process forked from it connects to the same socket. `replace` asks for a
    successor when a query overran its limit (the engine is still running it on a thread);
    `close`, in the owner only, stops the engine. `memory`: MiB the engine's queries may
    allocate together beyond the loaded store (ikmkg.engine.process.limit_memory; 0: no cap).
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


class Executor:
    """One executor process and the framed pipe to it.

    With `memory` (an in-memory pyoxigraph store of this process) the executor is forked from
    this process and shares the store's pages copy-on-write; otherwise it is a fresh
    `python -m ikmkg.engine.executor STORE_DIR` that opens the on-disk store read-only.
    """

    def __init__(self, db_path: str, memory: ox.Store | None = None,
                 start_timeout: float = 60.0, engine: EngineClient | None = None,
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
                [sys.executable, "-m", "ikmkg.engine.executor", db_path],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0, close_fds=True,
                env={**os.environ, "PYTHONPATH": os.pathsep.join(
                    [str(Path(__file__).resolve().parents[2]),
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
                raise EngineLeft("the query engine stopped as it accepted the connection")
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
                sandboxed = executor.sandbox()
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



class EngineLeft(BackendUnavailable):
    """A replaced engine sent this idle connection away (a `G` frame): the query did not run."""

