"""Operations: /healthz, /readyz, /version, /metrics, the version header and the access log.

Metrics come from prometheus_client. Under Granian each worker is a process: set
`PROMETHEUS_MULTIPROC_DIR` to an empty, writable folder before starting `ikmkg serve` and
/metrics aggregates every worker (prometheus_client's multiprocess mode; the folder must be
wiped between runs). Without it, /metrics shows the answering worker's own counts.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import re
import time

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from werkzeug.exceptions import BadRequest, RequestURITooLarge

import ikmkg
from ikmkg.web import get_store

blueprint = Blueprint("ops", __name__)
access_log = logging.getLogger("ikmkg.access")

VERSION_HEADER = "X-Ikmkg-Version"
REQUEST_ID_HEADER = "X-Request-Id"
#: An incoming request id is echoed only when it is short and plain (no header injection).
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: Longest request line accepted (gunicorn's default, and most proxies'); longer: 414.
MAX_REQUEST_LINE = 8190
#: Time limit of the readiness probe's `ASK {}` against the store (its engine), in seconds.
READY_TIMEOUT = 2.0

REQUESTS = Counter("ikmkg_http_requests", "HTTP requests by route (URL rule) and status",
                   ["method", "route", "status"])
LATENCY = Histogram("ikmkg_http_request_duration_seconds", "Request latency by route",
                    ["route"])
QUERY_LATENCY = Histogram("ikmkg_sparql_query_duration_seconds",
                          "Latency of requests that ran a SPARQL query",
                          buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
TIMEOUTS = Counter("ikmkg_sparql_timeouts", "SPARQL queries stopped at their time limit")
RELOADS = Counter("ikmkg_reloads", "Graph reloads by outcome", ["outcome"])


def record_reload(ok: bool) -> None:
    """Count one reload attempt: `ok` when the new graph replaced the served one."""
    RELOADS.labels(outcome="ok" if ok else "refused").inc()


def record_timeout() -> None:
    """Count one query stopped at its time limit (called by the error handler)."""
    TIMEOUTS.inc()


def note_query(text: str) -> None:
    """Let a view tell the access log which query it runs (hashed)."""
    g.sparql_hash = hashlib.sha256(text.encode("utf-8")).hexdigest()


def note_rows(rows: int | None) -> None:
    """Let a view tell the access log how many rows (solutions or triples) it sent, if known."""
    if rows is not None:
        g.sparql_rows = rows


def _registry() -> CollectorRegistry | None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return None


def _versions() -> dict[str, str]:
    import flask
    import pyoxigraph
    import rdflib

    return {"ikmkg": ikmkg.__version__, "python": platform.python_version(),
            "rdflib": rdflib.__version__, "pyoxigraph": pyoxigraph.__version__,
            "flask": flask.__version__}


@blueprint.route("/healthz")
def healthz() -> Response:
    """The process is alive and answering."""
    return Response("ok\n", mimetype="text/plain")


@blueprint.route("/readyz")
def readyz() -> Response:
    """The graph is loaded and the store's engine (or remote backend) answers `ASK {}` within
    READY_TIMEOUT (a killed or frozen engine: 503)."""
    store = current_app.extensions.get("ikmkg_store")
    try:
        if store is None:
            raise RuntimeError("no store loaded")
        version = store.version
        store.ping(READY_TIMEOUT)
    except Exception as error:  # noqa: BLE001 -- any failure means "not ready"; logged, 503
        logging.getLogger(__name__).warning("not ready: %s", error)
        return Response(f"not ready: {type(error).__name__}\n", status=503,
                        mimetype="text/plain", headers={"Retry-After": "5"})
    return Response(f"ready {version}\n", mimetype="text/plain")


@blueprint.route("/version")
def version() -> Response:
    """Versions of ikmkg and its engines, and the content hash of the served graph."""
    return jsonify({**_versions(), "data": get_store().version})


@blueprint.route("/metrics")
def metrics() -> Response:
    """Prometheus text exposition of this process's (or, multiprocess, all workers') metrics."""
    registry = _registry()
    body = generate_latest(registry) if registry else generate_latest()
    return Response(body, mimetype=CONTENT_TYPE_LATEST.split(";")[0],
                    headers={"Content-Type": CONTENT_TYPE_LATEST})


def _request_id() -> str:
    """A fresh request id: 32 hex digits, like uuid4().hex (at a fraction of its cost)."""
    return os.urandom(16).hex()


def _before() -> None:
    g.start = time.perf_counter()
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if _SANE_ID.fullmatch(incoming) else _request_id()
    # No IRI contains control characters (RFC 3987 excludes them), so no path with one names
    # anything here; refusing them up front keeps CR/LF out of headers built from the path.
    if _CONTROL.search(request.path):
        raise BadRequest("The path contains control characters (such as %00, %0D or %0A).")
    line = len(request.method) + len(request.environ.get("PATH_INFO", "")) \
        + len(request.query_string) + 11  # " ", "?", " HTTP/1.1"
    if line > MAX_REQUEST_LINE:
        raise RequestURITooLarge(
            f"The request line is too large ({line:,} > {MAX_REQUEST_LINE:,} bytes): send a "
            "long SPARQL query in the body of a POST (application/sparql-query, or a form).")


#: The metric children of each (method, route, status) seen: prometheus_client's `labels()`
#: validates and locks on every call, and this runs on every request.
_REQUEST_METRICS: dict[tuple[str, str, int], tuple] = {}


#: Methods counted under their own name; any other (clients may send any token) is "OTHER",
#: so that nobody can grow the metrics without bound.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"})


def _metrics_for(method: str, route: str, status: int) -> tuple:
    method = method if method in _METHODS else "OTHER"
    key = (method, route, status)
    children = _REQUEST_METRICS.get(key)
    if children is None:
        children = _REQUEST_METRICS[key] = (
            REQUESTS.labels(method=method, route=route, status=str(status)),
            LATENCY.labels(route=route))
    return children


def _after(response: Response) -> Response:
    req, ctx = request._get_current_object(), g._get_current_object()  # one proxy lookup each
    elapsed = time.perf_counter() - getattr(ctx, "start", time.perf_counter())
    route = req.url_rule.rule if req.url_rule is not None else "<unmatched>"
    status = response.status_code
    count, latency = _metrics_for(req.method, route, status)
    count.inc()
    latency.observe(elapsed)
    query_hash = getattr(ctx, "sparql_hash", None)
    if query_hash is not None:
        QUERY_LATENCY.observe(elapsed)
    headers = response.headers
    headers[VERSION_HEADER] = ikmkg.__version__
    request_id = getattr(ctx, "request_id", None) or _request_id()
    headers[REQUEST_ID_HEADER] = request_id
    if access_log.isEnabledFor(logging.INFO):
        record = {"request_id": request_id, "method": req.method, "path": req.path,
                  "route": route, "status": status, "duration_ms": round(elapsed * 1000, 3)}
        if query_hash is not None:
            record["query_sha256"] = query_hash
            record["rows"] = getattr(ctx, "sparql_rows", None)
        access_log.info(json.dumps(record, ensure_ascii=False))
    return response


def init_app(app: Flask) -> None:
    """Register the ops routes and the per-request hooks (id, timing, metrics, access log)."""
    app.register_blueprint(blueprint)
    if not access_log.handlers:
        # One JSON object a line on stderr (with the server's messages) unless the operator has
        # configured the `ikmkg.access` logger already.
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_log.addHandler(handler)
        access_log.setLevel(logging.INFO)
    app.before_request(_before)
    app.after_request(_after)
