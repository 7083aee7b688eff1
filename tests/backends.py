"""Real SPARQL servers for the tests: Oxigraph (PyPI `oxigraph`) and Virtuoso (Debian's
`virtuoso-opensource`), each on loopback with a free port and a throwaway database in tmp.

`open_backend(kind, project_dir, tmp)` gives a `Backend`: for "embedded" the server's own
on-disk store (ikmkg.pooled_store.PooledStore); for "oxigraph" and "virtuoso" a started server into
which the project was loaded with the real `ikmkg load` command, and a RemoteStore on it.
When a server binary is missing the tests that need it are skipped, except under CI (CI=true),
where scripts/test.sh installs both and a missing one is a failure.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest
import requests
from click.testing import CliRunner

from ikmkg.cli import cli
from ikmkg.settings import Settings

KINDS = ("embedded", "oxigraph", "virtuoso")
REMOTE_KINDS = ("oxigraph", "virtuoso")
ROOT = Path(__file__).resolve().parent.parent
#: Server-side limit for Oxigraph (it has no per-query one): bounds a runaway query's CPU time.
OXIGRAPH_TIMEOUT_S = 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_server(process: subprocess.Popen, url: str, seconds: float,
                    log: Callable[[], str]) -> requests.Response:
    """The first answer of `url` from the server `process` starts; the test fails (with the
    tail of `log()`, and the process killed) if it exits or does not answer within `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return requests.get(url, timeout=2)
        except requests.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait()
                pytest.fail(f"the server did not start: {log()[-3000:]}")
            time.sleep(0.2)


def spawn_ikmkg(project: Path | None, cache: Path, port: int, *args: str, workers: int | None = 2,
                stderr: int | IO | None = None, **env: str | None) -> subprocess.Popen:
    """Start the real `ikmkg serve` on 127.0.0.1:`port` over `project` (None: the shipped one).

    Its stderr (messages and the access log) goes to `cache`/server.log, never to a pipe that
    nobody reads while it serves (a full pipe blocks the workers); `stderr` replaces the file
    (a terminal, for instance). `env` is added to this process's environment, a None value
    removes that variable; `workers=None` leaves the number to the server.
    """
    environ = {**os.environ, "IKMKG_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT), **env}
    environ = {name: value for name, value in environ.items() if value is not None}
    command = [sys.executable, "-m", "ikmkg", "serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers is not None:
        command += ["--workers", str(workers)]
    if project is not None:
        command += ["--project-dir", str(project)]
    command += args
    cache.mkdir(parents=True, exist_ok=True)
    if stderr is not None:
        return subprocess.Popen(command, cwd=ROOT, env=environ, stdout=subprocess.DEVNULL,
                                stderr=stderr, stdin=subprocess.DEVNULL)
    with open(cache / "server.log", "w") as log:
        return subprocess.Popen(command, cwd=ROOT, env=environ, stdout=subprocess.DEVNULL,
                                stderr=log, stdin=subprocess.DEVNULL)


def server_log(cache: Path) -> str:
    """What the server started by `spawn_ikmkg(..., cache, ...)` wrote to its stderr."""
    return (cache / "server.log").read_text(errors="replace")


def stop(process: subprocess.Popen) -> None:
    """Stop a server as Ctrl+C would (SIGTERM), killing it if it is not gone within 15 s."""
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def running_ikmkg(project: Path | None, cache: Path, *args: str, ready: str = "/healthz",
                  seconds: float = 90, **options) -> Iterator[tuple[str, subprocess.Popen]]:
    """(URL, process) of `spawn_ikmkg(project, cache, free port, *args, **options)` once it
    answers `ready`; stopped on leaving."""
    port = free_port()
    process = spawn_ikmkg(project, cache, port, *args, **options)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(process, url + ready, seconds, lambda: server_log(cache))
        yield url, process
    finally:
        stop(process)


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    beside = Path(sys.executable).parent / name  # pip's scripts folder, if not on PATH
    return str(beside) if beside.is_file() else None


def require(name: str) -> str:
    path = _binary(name)
    if path is None:
        message = f"{name} is not installed (scripts/test.sh installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the test process dies, so no server outlives a killed run."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Server:
    """A SPARQL server process with its data folder; `stop()` and `start()` may repeat."""

    kind = ""

    def __init__(self, folder: Path):
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.user: str | None = None
        self.password: str | None = None

    @property
    def url(self) -> str:
        raise NotImplementedError

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self, timeout: float = 90.0) -> Server:
        log = open(self.folder / "server.log", "ab")
        self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.folder,
                                     preexec_fn=_die_with_parent)
        log.close()
        deadline = time.monotonic() + timeout
        probe = self.url + "?" + urllib.parse.urlencode({"query": "ASK {}"})
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited with {self.proc.returncode}: "
                                   + (self.folder / "server.log").read_text()[-2000:])
            try:
                with urllib.request.urlopen(probe, timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.kind} did not answer on {self.url} within {timeout} s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def env(self) -> dict[str, str]:
        """Environment for `ikmkg load` (the credentials, where the server has any)."""
        env = {}
        if self.user is not None:
            env["IKMKG_STORE_USER"] = self.user
            env["IKMKG_STORE_PASSWORD"] = self.password or ""
        return env


class OxigraphServer(Server):
    kind = "oxigraph"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/query"

    def command(self) -> list[str]:
        return [require("oxigraph"), "serve", "--location", str(self.folder / "db"),
                "--bind", f"127.0.0.1:{self.port}", "--timeout-s", str(OXIGRAPH_TIMEOUT_S)]


VIRTUOSO_INI = """\
[Database]
DatabaseFile = {dir}/virtuoso.db
ErrorLogFile = {dir}/virtuoso.log
LockFile = {dir}/virtuoso.lck
TransactionFile = {dir}/virtuoso.trx
xa_persistent_file = {dir}/virtuoso.pxa
Striping = 0
TempStorage = TempDatabase
[TempDatabase]
DatabaseFile = {dir}/virtuoso-temp.db
TransactionFile = {dir}/virtuoso-temp.trx
[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
CheckpointInterval = 60
DirsAllowed = .
NumberOfBuffers = 10000
MaxDirtyBuffers = 6000
ThreadsPerQuery = 2
MaxSortedTopRows = 1000000
[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {dir}
ServerThreads = 10
MaxClientConnections = 10
Charset = UTF-8
[SPARQL]
ResultSetMaxRows = 1000000
MaxQueryExecutionTime = 30
MaxQueryCostEstimationTime = 0
"""


class VirtuosoServer(Server):
    """Virtuoso with its own virtuoso.ini and database in `folder` (not the Debian service).

    A fresh database has the dba password "dba"; the first start changes it to a random one
    (`+pwdold`/`+pwddba` make Virtuoso change it and exit), so nothing on loopback can write.
    """

    kind = "virtuoso"

    def __init__(self, folder: Path):
        super().__init__(folder)
        self.sql_port = free_port()
        self.user, self.password = "dba", secrets.token_hex(8)
        (folder / "virtuoso.ini").write_text(VIRTUOSO_INI.format(
            dir=folder, sql_port=self.sql_port, http_port=self.port))
        subprocess.run([require("virtuoso-t"), "+configfile", str(folder / "virtuoso.ini"),
                        "+foreground", "+pwdold", "dba", "+pwddba", self.password],
                       cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       stdin=subprocess.DEVNULL, timeout=120, check=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sparql"

    def command(self) -> list[str]:
        return [require("virtuoso-t"), "+configfile", str(self.folder / "virtuoso.ini"),
                "+foreground"]


SERVERS = {"oxigraph": OxigraphServer, "virtuoso": VirtuosoServer}


def load_with_cli(server: Server, project_dir: Path, base_uri: str | None = None) -> str:
    """Run `ikmkg load --store URL` on `project_dir`; returns its report line."""
    args = ["load", "--store", server.url, "--project-dir", str(project_dir)]
    if base_uri:
        args += ["--base-uri", base_uri]
    result = CliRunner().invoke(cli, args, env=server.env(), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@dataclasses.dataclass
class Backend:
    kind: str
    store: object  # an ikmkg.store.Store
    server: Server | None = None

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
        close = getattr(self.store, "close", None)
        if close is not None:
            close()


def open_backend(kind: str, project_dir: Path, tmp: Path, **settings) -> Backend:  # noqa: ANN003
    """A started backend serving `project_dir` (see the module docstring)."""
    values = {"project_dir": str(project_dir), "cache_dir": str(tmp / "cache"), **settings}
    if kind == "embedded":
        from ikmkg.publish import open_store

        return Backend(kind, open_store(Settings(**values)))
    server = SERVERS[kind](tmp / kind).start()
    try:
        load_with_cli(server, project_dir, settings.get("base_uri"))
        from ikmkg.publish import open_store

        store = open_store(Settings(**values, store=server.url))
    except BaseException:
        server.stop()
        raise
    return Backend(kind, store, server)
