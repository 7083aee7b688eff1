"""The shared query engine (store_mode=shared): one process holds the store, queries run on threads.

Why: the `memory` mode forks an executor per concurrent query from a process that holds the
store in memory, but reading oxigraph's in-memory store dirties its pages, so every busy
executor ends up with a copy of the store (see docs/sparql-endpoint.md, "How queries run").
Here one process per served store (`python -m ikmkg.engine.process STORE_DIR SOCKET
OWNER_PID`) loads the store folder's N-Quads dump once and answers each connection on a thread of its own. pyoxigraph
releases the GIL while it evaluates, so queries run in parallel on one copy of the store.
Connections speak the executor's frame protocol (`ikmkg.engine.executor`) over a Unix socket;
the web workers hold a few of them as their pool (`ikmkg.engine.pool.Pool`).

A thread cannot be stopped, so a query past its time limit is stopped by replacing the whole
process. The client whose query timed out starts a successor (`--successor-of PID`). The
successor loads the store aside, takes the socket path over by an atomic rename (new connections
reach it from then on) and sends its predecessor SIGTERM. The predecessor then drains: it
accepts nothing more, tells its idle connections it is going (a `G` frame: the client retries
elsewhere) and exits as soon as every query still running is past its own time limit (each
request carries it), so a runaway ends as soon as the queries that are still in time are done,
and at the latest after `--grace` seconds. A lock file and a pid file make concurrent requests
for a successor start exactly one. Every engine exits when OWNER_PID (the process that created
the store, e.g. the server's main process) is gone.

Memory (`--memory MIB`, setting `engine_memory`): once the store is loaded, the engine caps its
own data segment (RLIMIT_DATA: heap, anonymous mappings and thread stacks, which is what a query
allocates) at what it holds then plus MIB. A query that would pass it makes an allocation fail,
and Rust aborts the whole process on a failed allocation; the clients then retry every query
that was in flight alone, each in a process of its own under its own cap (see
`ikmkg.pooled_store.PooledStore`), so that only the query that needed the memory fails. Measured
alternative: a thread reading the engine's RSS every few milliseconds sees a string-doubling
query jump by hundreds of MiB between two reads and still needs the same retry to tell which
query it was; the kernel limit stops the allocation itself.

This module imports only the standard library, pyoxigraph and ikmkg.engine.executor, like the
executors, so that the engine stays small beside the store it holds.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pyoxigraph as ox

from ikmkg.engine import executor

DUMP = "quads.nq"  # the N-Quads dump of a store folder (ikmkg.store.build_store_dir)
#: How long a client waits for a new engine to answer (loading the dump of 1M triples: seconds).
START_TIMEOUT = 300.0


def socket_dir() -> Path:
    """A private folder for the engines' sockets: short (Unix socket paths are limited to 108
    bytes) and owned by this user alone."""
    path = Path(tempfile.gettempdir()) / f"ikmkg-engines-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    st = path.stat()
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise OSError(f"{path} is not a private folder of this user")
    return path


def remove_stale(folder: Path) -> None:
    """Remove the socket, pid and lock files of engines whose owner is gone (a server killed
    before it could close its store leaves them behind). Files are named OWNER-N.sock*."""
    for path in folder.glob("*.sock*"):
        owner = path.name.split("-", 1)[0]
        if owner.isdigit() and not _running(int(owner)):
            try:
                path.unlink()
            except OSError:
                pass


def pid_of(sock: str) -> int | None:
    """The pid of the engine that serves `sock` now, from its pid file."""
    try:
        return int(Path(sock + ".pid").read_text())
    except (OSError, ValueError):
        return None


def spawn(store_dir: str, sock: str, owner: int, grace: float,
          successor_of: int | None = None, memory: int = 0) -> subprocess.Popen:
    """Start an engine process for `store_dir` on `sock` (in a session of its own, so that
    signals to the caller's process group do not reach it); `memory`: see `limit_memory`."""
    args = [sys.executable, "-m", "ikmkg.engine.process", store_dir, sock, str(owner),
            "--grace", str(grace), "--memory", str(memory)]
    if successor_of is not None:
        args += ["--successor-of", str(successor_of)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, close_fds=True,
                            start_new_session=True)


class _Engine:
    """The serving side: the accept loop, one thread a connection, and the drain."""

    def __init__(self, store: ox.Store, listener: socket.socket, sandboxed: bool, grace: float):
        self.store, self.listener, self.sandboxed, self.grace = store, listener, sandboxed, grace
        self.lock = threading.Lock()
        self.idle: dict[socket.socket, object] = {}  # connection -> its buffered writer
        self.busy: dict[int, float] = {}  # running query (its thread) -> its deadline
        self.draining = threading.Event()

    def serve_forever(self, owner: int) -> None:
        signal.signal(signal.SIGTERM, lambda *_: self.draining.set())
        threading.Thread(target=self._accept, daemon=True).start()
        while not self.draining.wait(1.0):
            if not _running(owner):
                os._exit(0)
        self._drain()

    def _accept(self) -> None:
        while not self.draining.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            try:
                threading.Thread(target=self._connection, args=(conn,), daemon=True).start()
            except RuntimeError:  # no memory for another thread's stack: refuse this one
                conn.close()

    def _connection(self, conn: socket.socket) -> None:
        inp, out = conn.makefile("rb"), conn.makefile("wb", buffering=executor.ANSWER_BUFFER)
        try:
            executor.write_frame(out, b"R", json.dumps(
                {"sandboxed": self.sandboxed, "engine": os.getpid()}).encode())
            out.flush()
            while not self.draining.is_set():
                with self.lock:
                    self.idle[conn] = out
                try:
                    _, size = executor.HEADER.unpack(
                        executor.read_exact(inp, executor.HEADER.size))
                    request = json.loads(executor.read_exact(inp, size))
                finally:
                    with self.lock:
                        self.idle.pop(conn, None)
                key = threading.get_ident()
                with self.lock:
                    self.busy[key] = time.monotonic() + float(request.get("timeout") or 0)
                try:
                    executor.answer(self.store, request, out)
                finally:
                    with self.lock:
                        del self.busy[key]
        except (EOFError, OSError, ValueError):
            pass  # the client went away (or the drain closed the connection)
        finally:
            conn.close()

    def _drain(self) -> None:
        """Stop accepting, send idle connections away, exit once every query still running is
        past its time limit (its client has given up on it), or after grace."""
        try:
            self.listener.close()
        except OSError:
            pass
        deadline = time.monotonic() + self.grace
        while True:
            with self.lock:
                idle, self.idle = self.idle, {}
                in_time = [end for end in self.busy.values() if end > time.monotonic()]
            for conn, out in idle.items():
                try:  # its thread waits for a request: nobody else writes to it now
                    executor.write_frame(out, b"G", b"")
                    out.flush()
                except (OSError, ValueError):
                    pass
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            if (not in_time and not idle) or time.monotonic() > deadline:
                os._exit(0)
            time.sleep(0.02)


def _running(pid: int) -> bool:
    """Whether process `pid` exists and has not exited (a zombie has)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def load_memory(store_dir: Path) -> ox.Store:
    """An in-memory copy of the store folder `store_dir`, from its N-Quads dump (written first
    from the on-disk store if missing; under a temporary name of this process, then renamed)."""
    dump = store_dir / DUMP
    if not dump.is_file():
        tmp = store_dir / f"{DUMP}.{os.getpid()}.tmp"
        ox.Store.read_only(str(store_dir / "db")).dump(str(tmp), format=ox.RdfFormat.N_QUADS)
        tmp.rename(dump)
    store = ox.Store()
    store.bulk_load(path=str(dump), format=ox.RdfFormat.N_QUADS)
    return store


def data_size(pid: int | str = "self") -> int:
    """Bytes in the data segment of a process (VmData: what RLIMIT_DATA counts), 0 if unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def limit_memory(mib: int, pid: int = 0) -> None:
    """Cap the data segment of process `pid` (0: this one) at its size now plus `mib` MiB
    (0: no cap). An allocation past it fails; in pyoxigraph's Rust code that aborts the process,
    which is why the clients retry the queries in flight alone (ikmkg.pooled_store.PooledStore)."""
    if mib <= 0 or not hasattr(resource, "prlimit"):
        return
    size = data_size(pid or "self")
    if size:
        _, hard = resource.prlimit(pid, resource.RLIMIT_DATA)
        soft = size + (mib << 20)
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.prlimit(pid, resource.RLIMIT_DATA, (soft, hard))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store_dir", type=Path)
    parser.add_argument("socket")
    parser.add_argument("owner", type=int, help="exit when this process is gone")
    parser.add_argument("--grace", type=float, default=5.0,
                        help="seconds a replaced engine lets its running queries finish")
    parser.add_argument("--successor-of", type=int, default=None,
                        help="replace the engine with this pid (no-op if already replaced)")
    parser.add_argument("--memory", type=int, default=0,
                        help="MiB the running queries may allocate beyond the loaded store "
                             "(0: no cap)")
    args = parser.parse_args(argv)
    # Before any thread exists (unshare refuses a threaded process; bulk_load starts threads).
    sandboxed = executor.sandbox()
    with open(args.socket + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = pid_of(args.socket)
        if args.successor_of is not None and current != args.successor_of:
            return  # another client's successor has replaced it already
        store = load_memory(args.store_dir)
        limit_memory(args.memory)
        tmp = f"{args.socket}.{os.getpid()}"
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(tmp)
        listener.listen(64)
        os.rename(tmp, args.socket)  # from now on new connections reach this engine
        Path(f"{args.socket}.pid.{os.getpid()}").write_text(str(os.getpid()))
        os.rename(f"{args.socket}.pid.{os.getpid()}", args.socket + ".pid")
    if current is not None and current != os.getpid():
        try:
            os.kill(current, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    _Engine(store, listener, sandboxed, args.grace).serve_forever(args.owner)


if __name__ == "__main__":
    main()
