"""Blueprint for /map and /timeline, and the chart and map figures of the query page's results.

The views are thin: the models come from ikmkg.geo, ikmkg.timeline and ikmkg.charts (which query
the store); the SVG is drawn by the templates in templates/maps/ (no JavaScript, no tiles).
Pages follow the reader's language like the other index pages (`?lang=`, then Accept-Language)
and are cached per graph version through ikmkg.web.documents.
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template
from rdflib import URIRef

from ikmkg import charts, geo
from ikmkg import describe as d
from ikmkg import timeline as timeline_module
from ikmkg.namespaces import sparql_prologue
from ikmkg.view import Labeller
from ikmkg.web import get_store
from ikmkg.web.documents import html_page, make_href, sparql_link
from ikmkg.web.i18n import reader_language, text

blueprint = Blueprint("maps", __name__)

@blueprint.get("/map")
def province_map() -> Response:
    """Indonesia's provinces coloured by the phases of their engagements (inline SVG)."""
    return html_page(("map",), _map_page)


def _map_page() -> str:
    store = get_store()
    lang, explicit = reader_language()
    view = geo.phase_map(store, lang=lang, href=make_href(lang if explicit else None),
                         title=text("map_title", lang), neutral_label=text("no_engagement", lang))
    return render_template("maps/map.html", map=view, shapes=len(view.areas),
                           query_link=sparql_link(sparql_prologue(store.base_uri)
                                                   + geo.ENGAGEMENTS_QUERY))


@blueprint.get("/timeline")
def timeline() -> Response:
    """The dated statements of the graph on one time axis (inline SVG and a list)."""
    return html_page(("timeline",), _timeline_page)


def _timeline_page() -> str:
    store = get_store()
    lang, explicit = reader_language()
    model = timeline_module.timeline(store, lang=lang, href=make_href(lang if explicit else None))
    return render_template("maps/timeline.html", timeline=model)


def result_figures(results: dict | None) -> dict:
    """The chart and the map of an HTML results table (see _results.html), where they fit."""
    if not results or not results.get("rows") or "boolean" in results:
        return {}
    store = get_store()
    lang, explicit = reader_language()
    href = make_href(lang if explicit else None)
    columns, rows = results["columns"], results["rows"]
    iris = {c["value"] for row in rows for c in row if c and c["kind"] == "iri"}
    labeller = Labeller(d.labels_of(store, [URIRef(i) for i in iris]), lang, store.base_uri,
                        href)

    def label_of(cell: dict) -> str:
        return labeller.label(URIRef(cell["value"])) if cell["kind"] == "iri" else cell["value"]

    figures = {}
    chart = charts.bar_chart(columns, rows, label_of=label_of)
    if chart is not None:
        figures["chart"] = chart
    view = geo.results_map(store, columns, rows, lang=lang, href=href,
                           neutral_label=text("not_in_result", lang),
                           wording={key: text(f"result_map_{key}", lang)
                                    for key in ("title", "sum", "rows")})
    if view is not None:
        figures["map"] = view
    return figures
