"""One error handler: IkmkgError and HTTP errors rendered as HTML, JSON or plain text by Accept."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from ikmkg.errors import IkmkgError, QueryTimeout
from ikmkg.formats import HTML, JSON, TEXT
from ikmkg.web.negotiation import choose

log = logging.getLogger(__name__)


def _render(status: int, title: str, message: str, headers: dict | None = None) -> Response:
    # HTML without Accept; plain text when Accept fits nothing (an error is never a 406).
    best = choose((HTML, JSON, TEXT), fallback=TEXT)
    if best is JSON:
        response = jsonify({"status": status, "error": title, "message": message})
    elif best is TEXT:
        response = Response(f"{status} {title}\n\n{message}\n", mimetype="text/plain")
    else:
        response = Response(render_template("error.html", status=status, title=title,
                                            message=message), mimetype="text/html")
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    response.headers["Vary"] = "Accept"
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(IkmkgError)
    def handle_ikmkg_error(error: IkmkgError) -> Response:
        if isinstance(error, QueryTimeout):
            from ikmkg.web import ops

            ops.record_timeout()
        return _render(error.status, type(error).__name__, error.message, error.headers)

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException) -> Response:
        headers = dict(error.get_headers()) if error.code == 405 else {}
        headers.pop("Content-Type", None)
        return _render(error.code or 500, error.name, error.description or error.name, headers)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _render(500, "Internal Server Error",
                       "The server failed on this request; the error was logged.")
