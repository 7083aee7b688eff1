"""Run the app under gunicorn (a production WSGI server) from the `serve` command.

The parent process builds (or finds in the cache) the on-disk store and creates the app once
(`preload_app`); gunicorn then forks the workers. Each worker is threaded (`gthread`), so a
slow query holds one thread, not the worker, and starts its own query executor processes
lazily (ikmkg.store.PooledStore): nothing is copied per worker but small Python processes.
"""

from __future__ import annotations

import time

import click
from gunicorn.app.base import BaseApplication

from ikmkg.settings import Settings

#: Threads per worker: enough for queries waiting on executors plus cheap requests meanwhile.
THREADS = 8
#: Settings that only newer gunicorn versions have.
OPTIONAL_SETTINGS = {"control_socket_disable"}


class _Gunicorn(BaseApplication):
    def __init__(self, app, options: dict):
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in OPTIONAL_SETTINGS and key not in self.cfg.settings:
                continue  # an older gunicorn without this setting
            self.cfg.set(key, value)

    def load(self):
        return self.application


def gunicorn_options(host: str, port: int, workers: int) -> dict:
    return {
        "bind": f"{host}:{port}", "workers": workers, "worker_class": "gthread",
        "threads": THREADS, "preload_app": True, "accesslog": None, "timeout": 60,
        "graceful_timeout": 10, "limit_request_line": 8190,
        "post_worker_init": _warm_worker, "on_reload": _reload_master,
        # gunicorn 25.1+ opens a control socket at one per-user path ($HOME/.gunicorn/
        # gunicorn.ctl) for every server: several servers on a host would take it from each
        # other, and ikmkg needs none (reload is SIGHUP).
        "control_socket_disable": True,
    }


def _reload_master(arbiter) -> None:
    """SIGHUP: rebuild and validate aside, swap the master's store if it conforms (else keep
    the old one); gunicorn then forks new workers from the master and retires the old ones."""
    from ikmkg.reload import reload_app

    reload_app(arbiter.app.wsgi())


def _warm_worker(worker) -> None:
    """Start one executor per worker before the first request arrives."""
    store = worker.wsgi.extensions["ikmkg_store"] if hasattr(worker, "wsgi") else None
    warm = getattr(store, "warm", None)
    if warm is not None:
        warm()


def run_server(settings: Settings, *, host: str, port: int, workers: int,
               watch: bool = False) -> None:
    """Load and validate once in the parent (or reuse the cached store), then fork workers."""
    from ikmkg.app import create_app

    click.echo(f"ikmkg: loading and validating the graph under {settings.base_uri}", err=True)
    started = time.monotonic()
    app = create_app(settings)
    store = app.extensions["ikmkg_store"]
    click.echo(f"ikmkg: store ready ({len(store)} quads) in {time.monotonic() - started:.1f} s; "
               f"serving on http://{host}:{port}/ with {workers} worker(s)", err=True)
    if watch:  # a thread of the master only (fork copies the calling thread alone)
        from ikmkg.reload import Watcher, sighup_self

        Watcher(settings, sighup_self).start()
        click.echo("ikmkg: watching ontology/ and data/ for changes", err=True)
    _Gunicorn(app, gunicorn_options(host, port, workers)).run()
