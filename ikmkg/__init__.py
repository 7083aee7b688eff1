"""ikmkg: publishes the knowledge graph of Indonesia's IKM development programme as linked data."""

from __future__ import annotations

__version__ = "0.1.0"


def create_app(*args, **kwargs):  # noqa: ANN002, ANN003 - thin re-export, see ikmkg.app.create_app
    """Build the Flask application (imported lazily so the data layer never pulls in Flask)."""
    from ikmkg.app import create_app as _create_app

    return _create_app(*args, **kwargs)
