"""Blueprint /reconcile: the Entity Reconciliation API (0.2) over `ikmkg.reconcile`.

`GET /reconcile` is the service manifest; `POST /reconcile` (form field `queries`) or
`GET /reconcile?queries=...` answers a query batch; `/reconcile/preview?id=` is an HTML preview
for OpenRefine's iframe; `/reconcile/suggest/{entity,type,property}?prefix=&cursor=` suggest.
Every response allows cross-origin access (the protocol requires CORS).
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, render_template, request

from ikmkg.errors import NotFound, QueryError
from ikmkg.reconcile import MAX_CURSOR, Service, service_for
from ikmkg.web import external_url, get_settings, get_store, int_arg
from ikmkg.web.admission import admitted
from ikmkg.web.documents import make_href
from ikmkg.web.i18n import reader_language

blueprint = Blueprint("reconcile", __name__, url_prefix="/reconcile")


def _service() -> Service:
    return service_for(get_store())


def _json(body: dict) -> Response:
    response = Response(json.dumps(body, ensure_ascii=False),
                        content_type="application/json; charset=utf-8")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@blueprint.after_request
def _cors(response: Response) -> Response:
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _cursor() -> int:
    return int_arg("cursor", 0, maximum=MAX_CURSOR)


@blueprint.route("", methods=["GET", "POST"])
@admitted
def endpoint() -> Response:
    """The manifest (no parameters) or the answer to a query batch."""
    queries = request.form.get("queries") if request.method == "POST" else None
    if queries is None:
        queries = request.args.get("queries")
    if queries is None:
        if request.method == "POST":
            raise QueryError("POST needs a form field 'queries' holding a query batch (JSON)")
        return _json(_service().manifest(external_url("reconcile.endpoint")))
    response = _json(_service().reconcile_batch(queries, get_settings().query_timeout))
    if request.method == "POST":
        response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/preview")
@admitted
def preview() -> Response:
    """A small HTML summary of one entity, sized for the manifest's iframe."""
    lang, explicit = reader_language()
    data = _service().preview(request.args.get("id", ""), lang)
    if data is None:
        raise NotFound(f"no entity {request.args.get('id', '')!r} in the graph")
    html = render_template("reconcile_preview.html", entity=data,
                           href=make_href(lang if explicit else None)(data["iri"]))
    return Response(html, content_type="text/html; charset=utf-8")


@blueprint.get("/suggest/entity")
@admitted
def suggest_entity() -> Response:
    lang, _ = reader_language()
    return _json(_service().suggest_entities(request.args.get("prefix", ""), _cursor(),
                                             request.args.getlist("type"), lang))


@blueprint.get("/suggest/type")
@admitted
def suggest_type() -> Response:
    lang, _ = reader_language()
    return _json(_service().suggest_types(request.args.get("prefix", ""), _cursor(), lang))


@blueprint.get("/suggest/property")
@admitted
def suggest_property() -> Response:
    lang, _ = reader_language()
    return _json(_service().suggest_properties(request.args.get("prefix", ""), _cursor(), lang))
