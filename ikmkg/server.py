"""Run the app under Granian (a production HTTP server, written in Rust) from `serve`.

The main process builds (or finds in the cache) the store and creates the app once; Granian
then forks the workers from it, so every worker serves that same app (and, in store_mode
shared, talks to the one engine the main process started). Granian speaks ASGI to each worker's
`ikmkg.web.transport.Transport`, which reads each request body on the event loop (within a
deadline, at a minimum rate, under the size limit) and only then runs the app on a pool of
threads (`THREADS`): a slow query holds one thread, not the worker, and a slow body holds none.

Why Granian rather than gunicorn: it parses HTTP and moves bytes in Rust, and calls Python
only for the app. Measured on this project's endpoint (bench/run.py, docs/performance.md), each
request costs about 0.2-0.3 ms less than under gunicorn's threaded worker, which is most of
what separates a sub-millisecond query over HTTP from the same query in-process.

SIGHUP (or `--watch`) reloads: the main process rebuilds and validates the graph aside and
swaps its store if the new one conforms (`ikmkg.reload`), then Granian replaces the workers
one at a time with fresh forks of the main process, while the old ones finish their requests.
"""

from __future__ import annotations

import ctypes
import json
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from collections.abc import Callable

import click

from ikmkg.settings import Settings

#: Threads per worker: enough for queries waiting on executors plus cheap requests meanwhile.
THREADS = 8
#: Seconds between starting a new worker and stopping the one it replaces, on reload.
RESPAWN_INTERVAL = 1.0
#: Seconds a stopping worker may take to finish its requests before it is killed.
STOP_TIMEOUT = 10
PR_SET_PDEATHSIG = 1  # linux/prctl.h
#: Granian's own messages (start, workers, reloads) on stderr, with the app's log lines;
#: stdout stays free for the output of commands.
LOG_CONFIG = {
    "handlers": {
        "console": {"formatter": "generic", "class": "logging.StreamHandler",
                    "stream": "ext://sys.stderr"},
        "access": {"formatter": "access", "class": "logging.StreamHandler",
                   "stream": "ext://sys.stderr"},
    },
}
#: `text`: a person at a terminal (where it serves, how to stop, warnings only); `json`: one
#: JSON object a line, Granian's messages and the access log alike, for a log collector.
LOG_FORMATS = ("text", "json")


class JsonLogFormatter(logging.Formatter):
    """A log record as one JSON object a line (the access log's lines already are one)."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.name == "ikmkg.access":
            return message
        return json.dumps({"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
                           "level": record.levelname, "logger": record.name.lstrip("_"),
                           "message": message}, ensure_ascii=False)


def default_log_format() -> str:
    """`text` on a terminal, `json` otherwise (a service manager, a container, a pipe)."""
    return "text" if sys.stderr.isatty() else "json"


def default_workers() -> int:
    """Two workers, or one per core when there are fewer: Granian warns about more workers than
    cores, and our defaults should not earn a warning (issue #17)."""
    return max(1, min(2, multiprocessing.cpu_count()))


def say(message: str, log_format: str) -> None:
    """A start-up message on stderr, in the chosen log format."""
    if log_format == "json":
        click.echo(json.dumps({"level": "INFO", "logger": "ikmkg", "message": message},
                              ensure_ascii=False), err=True)
    else:
        click.echo(f"ikmkg: {message}", err=True)


def _quiet_access_log() -> None:
    """No line per request at a terminal: ikmkg.web.ops logs only when nobody configured
    `ikmkg.access` already, and this configures it to drop every record."""
    access = logging.getLogger("ikmkg.access")
    access.addHandler(logging.NullHandler())
    access.propagate = False


def granian_server(app, *, host: str, port: int, workers: int, log_format: str = "json"):
    """A Granian server for `app` (already created): forked workers, threads, HTTP/1.1."""
    from granian.constants import HTTPModes, Interfaces
    from granian.log import LogLevels
    from granian.server import Server

    # The workers must be forks of this process (they share its app and its store's engine);
    # Python 3.14 would otherwise default to forkserver on Linux.
    if sys.platform.startswith("linux"):
        multiprocessing.set_start_method("fork", force=True)

    # ASGI without lifespan events: the app is created before the fork, nothing to start.
    return Server(
        "ikmkg", address=host, port=port, interface=Interfaces.ASGINL, workers=workers,
        http=HTTPModes.http1, respawn_failed_workers=True,
        respawn_interval=RESPAWN_INTERVAL, workers_kill_timeout=STOP_TIMEOUT,
        websockets=False, log_access=False,
        log_level=LogLevels.info if log_format == "json" else LogLevels.warning,
        log_dictconfig=_log_config(log_format))


def _log_config(log_format: str) -> dict:
    if log_format != "json":
        return LOG_CONFIG
    return {**LOG_CONFIG, "formatters": {
        "generic": {"()": f"{__name__}.JsonLogFormatter"},
        "access": {"()": f"{__name__}.JsonLogFormatter"}}}


def _exit_with_parent(main_pid: int) -> None:
    """Make this worker receive SIGTERM when the main process `main_pid` dies (Linux
    PR_SET_PDEATHSIG).

    Granian's workers do not watch their parent: a main process that is killed outright
    (SIGKILL, the OOM killer) would leave them serving, orphaned, on the port, without the
    engine (which exits with its owner), and in the way of the next start.
    """
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        click.echo("ikmkg: worker cannot follow its main process (prctl failed)", err=True)
    elif os.getppid() != main_pid:  # it died before the call: the signal will never come
        os.kill(os.getpid(), signal.SIGTERM)


def _worker_app(app, main_pid: int):
    """The loader each worker runs after the fork: start one executor (or engine connection)
    before the first request arrives, then serve the app created in the main process.

    Each request's WSGI environ holds the request alone (`transport.wsgi_environ`), never the
    server's environment variables: a variable such as HTTP_PROXY would read as a request
    header, and secrets such as IKMKG_STORE_PASSWORD would sit in every request's environ.
    """
    from ikmkg.web.transport import Transport

    _exit_with_parent(main_pid)
    store = app.extensions.get("ikmkg_store")
    warm = getattr(store, "warm", None)
    if warm is not None:
        try:
            warm()
        except Exception as exc:  # noqa: BLE001 - the first query retries; say why meanwhile
            click.echo(f"ikmkg: worker could not warm its store: {exc}", err=True)
    settings: Settings = app.config["IKMKG_SETTINGS"]
    return Transport(app, threads=THREADS, max_body=settings.max_request_bytes,
                     body_timeout=settings.body_timeout, body_min_rate=settings.body_min_rate)


class PortInUse(click.ClickException):
    """Another process listens on the address: exit code 2, like a usage error."""

    exit_code = 2


def check_port_free(host: str, port: int) -> None:
    """Fail if something already listens on (host, port).

    Granian binds with SO_REUSEPORT, so a second server on a busy port would start and take a
    share of the connections (an old server and a new one answering from different data, turn
    about). A plain bind fails while any socket listens there (SO_REUSEADDR only lets it past
    connections of a closed server still in TIME_WAIT).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise PortInUse(f"cannot listen on {host}:{port}: {exc.strerror or exc} (is another "
                            "server running there? stop it, or choose another --port)") from None


def serve_app(app, *, host: str, port: int, workers: int,
              on_reload: Callable[[], object] | None = None, log_format: str = "json") -> None:
    """Serve `app` (created in this process) with Granian until stopped, then close its store.

    Every worker runs `_worker_app` after the fork: it follows this process, warms its store
    and sees only the request in each environ.
    """
    check_port_free(host, port)
    server = granian_server(app, host=host, port=port, workers=workers, log_format=log_format)
    if on_reload is not None:
        server.on_reload(on_reload)
    try:
        main_pid = os.getpid()
        server.serve(target_loader=lambda: _worker_app(app, main_pid), wrap_loader=False)
    finally:
        close = getattr(app.extensions.get("ikmkg_store"), "close", None)
        if close is not None:
            close()


def run_server(settings: Settings, *, host: str, port: int, workers: int | None = None,
               watch: bool = False, log_format: str | None = None) -> None:
    """Load and validate once in the main process (or reuse the cached store), then fork.

    Args:
        workers: worker processes (default: `default_workers()`).
        log_format: one of LOG_FORMATS (default: `default_log_format()`).
    """
    from ikmkg.app import create_app
    from ikmkg.reload import reload_app

    workers = workers or default_workers()
    log_format = log_format or default_log_format()
    check_port_free(host, port)  # before loading: a busy port fails at once
    if log_format != "json":
        _quiet_access_log()
    say(f"loading and validating the graph under {settings.base_uri}", log_format)
    started = time.monotonic()
    app = create_app(settings)
    store = app.extensions["ikmkg_store"]
    say(f"store ready ({len(store)} quads) in {time.monotonic() - started:.1f} s", log_format)
    if watch:  # a thread of the main process only (fork copies the calling thread alone)
        from ikmkg.reload import Watcher, sighup_self

        Watcher(settings, sighup_self).start()
        say("watching ontology/ and data/ for changes", log_format)
    say(f"serving http://{host}:{port}/ with {workers} worker(s); press Ctrl+C to stop"
        if log_format != "json" else f"serving http://{host}:{port}/ with {workers} worker(s)",
        log_format)
    serve_app(app, host=host, port=port, workers=workers, on_reload=lambda: reload_app(app),
              log_format=log_format)
