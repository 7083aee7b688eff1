"""The shared query engine (store_mode=shared): one process holds the store, queries run on threads.

Why: the `memory` mode forks an executor per concurrent query from a process that holds the
store in memory, but reading oxigraph's in-memory store dirties its pages, so every busy
executor ends up with a copy of the store (see README, "How it runs"). Here one process per
served store (`python -m ikmkg.engine STORE_DIR SOCKET OWNER_PID`) loads the store folder's
N-Quads dump once and answers each connection on a thread of its own. pyoxigraph releases the
GIL while it evaluates, so queries run in parallel on one copy of the store. Connections speak
the executor's frame protocol (`ikmkg.executor`) over a Unix socket; the web workers hold a
few of them as their pool (`ikmkg.store._Pool`).

A thread cannot be stopped, so a query past its time limit is stopped by replacing the whole
process. The client whose query timed out starts a successor (`--successor-of PID`). The
successor loads the store aside, takes the socket path over by an atomic rename (new connections
reach it from then on) and sends its predecessor SIGTERM. The predecessor then drains: it
accepts nothing more, closes its idle connections and exits as soon as no query is running, or
when `--grace` seconds have passed, ending any runaway query with it. A lock file and a pid file
make concurrent requests for a successor start exactly one. Every engine exits when OWNER_PID
(the process that created the store, e.g. the server's main process) is gone.

This module imports only the standard library, pyoxigraph and ikmkg.executor, like the
executors, so that the engine stays small beside the store it holds.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pyoxigraph as ox

from ikmkg import executor

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
          successor_of: int | None = None) -> subprocess.Popen:
    """Start an engine process for `store_dir` on `sock` (in a session of its own, so that
    signals to the caller's process group do not reach it)."""
    args = [sys.executable, "-m", "ikmkg.engine", store_dir, sock, str(owner),
            "--grace", str(grace)]
    if successor_of is not None:
        args += ["--successor-of", str(successor_of)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, close_fds=True,
                            start_new_session=True)


class _Engine:
    """The serving side: the accept loop, one thread a connection, and the drain."""

    def __init__(self, store: ox.Store, listener: socket.socket, sandboxed: bool, grace: float):
        self.store, self.listener, self.sandboxed, self.grace = store, listener, sandboxed, grace
        self.lock = threading.Lock()
        self.idle: set[socket.socket] = set()
        self.busy = 0
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
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn: socket.socket) -> None:
        inp, out = conn.makefile("rb"), conn.makefile("wb", buffering=executor.ANSWER_BUFFER)
        try:
            executor.write_frame(out, b"R", json.dumps(
                {"sandboxed": self.sandboxed, "engine": os.getpid()}).encode())
            out.flush()
            while not self.draining.is_set():
                with self.lock:
                    self.idle.add(conn)
                try:
                    _, size = executor.HEADER.unpack(
                        executor.read_exact(inp, executor.HEADER.size))
                    request = json.loads(executor.read_exact(inp, size))
                finally:
                    with self.lock:
                        self.idle.discard(conn)
                with self.lock:
                    self.busy += 1
                try:
                    executor.answer(self.store, request, out)
                finally:
                    with self.lock:
                        self.busy -= 1
        except (EOFError, OSError, ValueError):
            pass  # the client went away (or the drain closed the connection)
        finally:
            conn.close()

    def _drain(self) -> None:
        """Stop accepting, close idle connections, exit once nothing runs (or after grace)."""
        try:
            self.listener.close()
        except OSError:
            pass
        deadline = time.monotonic() + self.grace
        while True:
            with self.lock:
                idle, self.idle = self.idle, set()
                busy = self.busy
            for conn in idle:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            if (busy == 0 and not idle) or time.monotonic() > deadline:
                os._exit(0)
            time.sleep(0.05)


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store_dir", type=Path)
    parser.add_argument("socket")
    parser.add_argument("owner", type=int, help="exit when this process is gone")
    parser.add_argument("--grace", type=float, default=5.0,
                        help="seconds a replaced engine lets its running queries finish")
    parser.add_argument("--successor-of", type=int, default=None,
                        help="replace the engine with this pid (no-op if already replaced)")
    args = parser.parse_args(argv)
    # Before any thread exists (unshare refuses a threaded process; bulk_load starts threads).
    sandboxed = executor._sandbox()
    with open(args.socket + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = pid_of(args.socket)
        if args.successor_of is not None and current != args.successor_of:
            return  # another client's successor has replaced it already
        store = load_memory(args.store_dir)
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
