"""Blueprint /search: the search page (HTML) and its JSON twin over `ikmkg.search`.

`/search?q=kopi&type={class IRI}&lang=id&page=2`: `type` (repeatable) keeps hits of those
classes (subclasses included), `lang` picks the language of names and descriptions shown (the
query itself matches both languages). JSON with `Accept: application/json` or `format=json`.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from flask import Blueprint, Response, render_template, request

from ikmkg import search as s
from ikmkg.formats import HTML, JSON
from ikmkg.web import get_store, int_arg
from ikmkg.web.admission import admitted
from ikmkg.web.documents import make_href
from ikmkg.web.i18n import reader_language
from ikmkg.web.negotiation import choose

blueprint = Blueprint("search", __name__)

PAGE_SIZE = 20
MAX_PAGE = 50

TIERS = {4: "label", 3: "label-prefix", 2: "label-words", 1: "description"}


def _wants_json() -> bool:
    """`format=json|html`, else Accept; HTML when neither says (never a 406)."""
    return choose((HTML, JSON), format=request.args.get("format"), strict=False,
                  fallback=HTML) is JSON


def _url(**params) -> str:
    args = {k: v for k, v in request.args.to_dict(flat=False).items() if k != "page"}
    args.update({k: v for k, v in params.items() if v is not None})
    args = {k: v for k, v in args.items() if v not in ("", [], None)}
    return f"{request.script_root}/search?{urlencode(args, doseq=True)}"


def type_label(index: s.SearchIndex, iri: str, lang: str) -> str:
    entry = index.entries.get(iri)
    if entry is not None and entry.labels:
        return entry.label(lang)
    return iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


@blueprint.get("/search")
@admitted
def search_page() -> Response:
    """Search labels and descriptions; HTML page or JSON."""
    query = request.args.get("q", "").strip()[:s.MAX_QUERY_CHARS]
    types = [t for t in request.args.getlist("type") if t]
    page = int_arg("page", 1, minimum=1, maximum=MAX_PAGE)
    lang, explicit = reader_language()
    href = make_href(lang if explicit else None)
    index = s.index_for(get_store())
    results = (index.search(query, types=types, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
               if query else s.Results(query, [], 0, []))
    hits = [{
        "iri": hit.entry.iri,
        "url": href(hit.entry.iri),
        "label": hit.entry.label(lang),
        "description": hit.entry.description(lang),
        "matched": hit.matched,
        "types": [{"iri": t, "label": type_label(index, t, lang), "url": href(t)}
                  for t in sorted(hit.entry.types)],
        "score": hit.score,
        "match": TIERS[hit.tier],
    } for hit in results.hits]
    facets = [{"iri": t, "label": type_label(index, t, lang), "count": n,
               "selected": t in types, "search_url": _url(type=[t])}
              for t, n in results.facets]
    pages = max(1, -(-results.total // PAGE_SIZE))
    body = {"query": query, "types": types, "lang": lang, "total": results.total,
            "page": page, "pages": pages, "page_size": PAGE_SIZE, "results": hits,
            "facets": facets}
    if _wants_json():
        response = Response(json.dumps(body, ensure_ascii=False, indent=1),
                            content_type="application/json; charset=utf-8")
        response.headers["Access-Control-Allow-Origin"] = "*"
    else:
        html = render_template(
            "search.html", query=query, search_query=query, results=hits, facets=facets,
            total=results.total, page=page, pages=pages, selected_types=types,
            all_types_url=_url(type=[]) if types else None,
            prev_url=_url(page=str(page - 1)) if page > 1 else None,
            next_url=_url(page=str(page + 1)) if page < pages else None,
            json_url=_url(format="json"),
            alternates=[{"type": "application/json", "href": _url(format="json"),
                         "label": "JSON"}])
        response = Response(html, content_type="text/html; charset=utf-8")
        response.headers["Content-Language"] = lang
        response.headers["Link"] = f'<{_url(format="json")}>; rel="alternate"; ' \
                                   'type="application/json"'
    response.headers["Vary"] = "Accept, Accept-Language"
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
