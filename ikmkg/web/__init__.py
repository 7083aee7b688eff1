"""The web layer: Flask blueprints and helpers; everything HTTP lives under here."""

from __future__ import annotations

from flask import current_app, g, has_request_context, request, url_for

from ikmkg.params import parse_int
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


def int_arg(name: str, default: int, *, minimum: int = 0, maximum: int = 10 ** 12 - 1) -> int:
    """The integer query parameter `name` (`default` when absent or empty), read by the one
    parser of integer parameters (`ikmkg.params.parse_int`): anything else is a 400."""
    raw = request.args.get(name, "")
    return default if raw == "" else parse_int(raw, name, minimum=minimum, maximum=maximum)


def external_url(endpoint: str, **values) -> str:
    """`url_for(endpoint, _external=True)`, but at the configured public URL: the request's
    Host header must never reach a body that caches and proxies keep for everyone (issue 20)."""
    path = url_for(endpoint, **values)
    if request.script_root and path.startswith(request.script_root):
        path = path[len(request.script_root):]
    return get_settings().site_root + path
