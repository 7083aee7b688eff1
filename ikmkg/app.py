"""The application factory: wiring only. It takes an opened store (or asks ikmkg.publish for
one), registers the blueprints, the error handlers and the request hooks."""

from __future__ import annotations

from flask import Flask

from ikmkg import publish
from ikmkg.settings import Settings
from ikmkg.store import Store


def create_app(settings: Settings | None = None, *, store: Store | None = None) -> Flask:
    """Build the Flask app for `settings` (defaults when None) serving `store`, or the store
    `ikmkg.publish.open_store` opens for `settings` (reading and validating the files)."""
    settings = settings or Settings()
    app = Flask(__name__)
    app.config["IKMKG_SETTINGS"] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    if store is None:
        store = publish.open_store(settings)
    app.extensions["ikmkg_store"] = store

    from ikmkg.web import dumps, errors, i18n, pages, releases, sparql

    errors.register_error_handlers(app)
    i18n.init_app(app)
    from ikmkg.web import ops

    ops.init_app(app)
    from ikmkg.web import transport

    transport.init_app(app)
    app.register_blueprint(sparql.blueprint)
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(dumps.blueprint)
    app.register_blueprint(releases.blueprint)
    from ikmkg.web import fragments as fragments_web
    from ikmkg.web import maps as maps_web
    from ikmkg.web import reconcile as reconcile_web
    from ikmkg.web import search as search_web

    app.register_blueprint(search_web.blueprint)
    app.register_blueprint(reconcile_web.blueprint)
    app.register_blueprint(fragments_web.blueprint)
    app.register_blueprint(maps_web.blueprint)
    from ikmkg.web import workbench

    app.register_blueprint(workbench.blueprint)
    return app
