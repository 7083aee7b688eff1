"""The web layer: Flask blueprints and helpers; everything HTTP lives under here."""

from __future__ import annotations

from flask import current_app

from ikmkg.settings import Settings
from ikmkg.store import Store


def get_store() -> Store:
    """The store of the running app."""
    return current_app.extensions["ikmkg_store"]


def get_settings() -> Settings:
    return current_app.config["IKMKG_SETTINGS"]
