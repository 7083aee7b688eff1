"""The application factory: load and validate the graph, pick the store, register blueprints."""

from __future__ import annotations

from flask import Flask

from ikmkg import kg as kg_module
from ikmkg.errors import DataError
from ikmkg.settings import Settings
from ikmkg.store import EmbeddedStore, Store
from ikmkg.validation import validate


def load_store(settings: Settings) -> tuple[kg_module.KnowledgeGraph, Store]:
    """Load, validate and publish the graph; refuse invalid data with the report as message."""
    kg = kg_module.load(settings)
    report = validate(kg)
    if not report.conforms:
        raise DataError("the data does not conform to the shapes; nothing is served.\n"
                        + report.text())
    return kg, EmbeddedStore(kg)


def create_app(settings: Settings | None = None, *, store: Store | None = None) -> Flask:
    """Build the Flask app for `settings` (defaults when None); `store` skips loading (tests)."""
    settings = settings or Settings()
    app = Flask(__name__)
    app.config["IKMKG_SETTINGS"] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    if store is None:
        kg, store = load_store(settings)
        app.config["IKMKG_KG"] = kg
    app.extensions["ikmkg_store"] = store

    from ikmkg.web import errors, pages, sparql

    errors.register_error_handlers(app)
    app.register_blueprint(sparql.blueprint)
    app.register_blueprint(pages.blueprint)
    return app
