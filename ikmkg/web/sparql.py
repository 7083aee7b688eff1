"""Blueprint /sparql: the SPARQL 1.1 Protocol query operation."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("sparql", __name__)
