"""The request's client and its query slots: who asks (`client_identity` over the peer and
trusted proxies) and the admission every route that queries the engine goes through."""

from __future__ import annotations

import functools

from flask import current_app, request

from ikmkg.admission import Admission, Overruns, client_identity
from ikmkg.web import get_settings


def admission() -> Admission:
    admission = current_app.extensions.get("ikmkg_admission")
    if admission is None:
        settings = get_settings()
        admission = Admission(settings.max_concurrent_queries,
                              retry_after=max(1, round(settings.query_timeout)))
        current_app.extensions["ikmkg_admission"] = admission
    return admission


def overruns() -> Overruns:
    overruns = current_app.extensions.get("ikmkg_overruns")
    if overruns is None:
        overruns = current_app.extensions["ikmkg_overruns"] = Overruns()
    return overruns


def client() -> str:
    """Who sends the request, for admission (see `client_identity`)."""
    return client_identity(request.remote_addr or "-", request.headers.get("X-Forwarded-For"),
                           get_settings().trusted_proxies)


def admitted(view):
    """`view`, run holding one of its client's query slots (`ikmkg.admission.Admission`):
    every route that queries the engine goes through admission, not only /sparql (issue 20)."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        with admission().slot(client()):
            return view(*args, **kwargs)

    return wrapper
