"""Blueprint for linked-data pages: /id/... -> 303 /doc/..., content negotiation, index pages."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("pages", __name__)
