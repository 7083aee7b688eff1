"""The web layer: Flask blueprints and helpers; everything HTTP lives under here."""

from __future__ import annotations

from flask import current_app, g, has_request_context

from ikmkg.settings import Settings
from ikmkg.store import Store


def get_store() -> Store:
    """The store of the running app, read once per request: a reload (ikmkg.reload) swaps the
    app's store, and a request goes on with the one it started with, never a mix of two."""
    if not has_request_context():
        return current_app.extensions["ikmkg_store"]
    store = g.get("ikmkg_store")
    if store is None:
        store = g.ikmkg_store = current_app.extensions["ikmkg_store"]
    return store


def get_settings() -> Settings:
    return current_app.config["IKMKG_SETTINGS"]
