"""Run the app under gunicorn (a production WSGI server) from the `serve` command."""

from __future__ import annotations

import click
from gunicorn.app.base import BaseApplication

from ikmkg.settings import Settings


class _Gunicorn(BaseApplication):
    def __init__(self, app, options: dict):  # noqa: ANN001
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):  # noqa: ANN201
        return self.application


def run_server(settings: Settings, *, host: str, port: int, workers: int) -> None:
    """Load and validate once in the parent, then fork `workers` gunicorn workers."""
    from ikmkg.app import create_app

    click.echo(f"ikmkg: loading and validating the graph under {settings.base_uri}", err=True)
    app = create_app(settings)
    click.echo(f"ikmkg: serving on http://{host}:{port}/ with {workers} worker(s)", err=True)
    _Gunicorn(app, {"bind": f"{host}:{port}", "workers": workers, "preload_app": True,
                    "accesslog": "-", "timeout": 60}).run()
