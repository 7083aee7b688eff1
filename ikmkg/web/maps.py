"""Blueprint for /map and /timeline, and the chart and map figures of the query page's results.

The views are thin: the models come from ikmkg.geo, ikmkg.timeline and ikmkg.charts (which query
the store); the SVG is drawn by the templates in templates/maps/ (no JavaScript, no tiles).
Pages follow the reader's language like the other index pages (`?lang=`, then Accept-Language)
and are cached per graph version through ikmkg.web.pages.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Response, render_template, request
from rdflib import URIRef

from ikmkg import charts, geo
from ikmkg import describe as d
from ikmkg import timeline as timeline_module
from ikmkg.namespaces import sparql_prologue
from ikmkg.view import Labeller
from ikmkg.web import get_store
from ikmkg.web.pages import UI, _html_page, make_href, reader_language

blueprint = Blueprint("maps", __name__)

#: Interface strings of these pages, merged into the site's table (templates call `t("key")`).
MAP_UI: dict[str, dict[str, str]] = {
    "map": {"en": "Map", "id": "Peta"},
    "timeline": {"en": "Timeline", "id": "Lini masa"},
    "map_title": {"en": "Provinces by phase of the programme",
                  "id": "Provinsi menurut fase program"},
    "map_intro": {
        "en": "Each province is coloured by the phase(s) of the programme it took part in, as "
              "the graph's province engagements state; a province in two phases is striped. "
              "Select a province to open its page.",
        "id": "Setiap provinsi diwarnai menurut fase program yang diikutinya, sebagaimana "
              "dinyatakan keterlibatan provinsi dalam graf; provinsi yang ikut dua fase diberi "
              "garis-garis. Pilih provinsi untuk membuka halamannya."},
    "no_engagement": {"en": "no engagement in the graph", "id": "tidak ada keterlibatan dalam graf"},
    "legend": {"en": "Legend", "id": "Keterangan"},
    "provinces_shapes": {"en": "shapes", "id": "bentuk"},
    "province": {"en": "Province", "id": "Provinsi"},
    "iso_code": {"en": "ISO 3166-2", "id": "ISO 3166-2"},
    "phase_s": {"en": "Phase(s)", "id": "Fase"},
    "engagements_col": {"en": "Engagements", "id": "Keterlibatan"},
    "shape": {"en": "Shape on the map", "id": "Bentuk di peta"},
    "own_shape": {"en": "own shape", "id": "bentuk sendiri"},
    "drawn_within": {"en": "no own shape; lies within", "id": "tanpa bentuk sendiri; di dalam"},
    "no_shape": {"en": "no shape", "id": "tanpa bentuk"},
    "text_alternative": {"en": "The provinces and their phases",
                         "id": "Daftar provinsi dan fasenya"},
    "boundaries": {"en": "About the boundaries", "id": "Tentang batas wilayah"},
    "boundaries_text": {
        "en": "The drawn boundaries predate the newer provinces: these provinces of the graph "
              "have no shape of their own and are drawn within the province they were formed "
              "from:",
        "id": "Batas yang digambar lebih tua daripada provinsi yang lebih baru: provinsi graf "
              "berikut tidak memiliki bentuk sendiri dan tergambar di dalam provinsi asalnya:"},
    "map_query": {"en": "The query behind this map", "id": "Kueri di balik peta ini"},
    "source_of_shapes": {"en": "Boundaries", "id": "Batas wilayah"},
    "timeline_title": {"en": "Timeline of the programme", "id": "Lini masa program"},
    "timeline_intro": {
        "en": "Every dated statement of the graph on one time axis: periods as bars from their "
              "beginning to their end, dated values as marks as precise as the graph states "
              "them (a day, a month, or a whole year). Select an item to open its page.",
        "id": "Setiap pernyataan bertanggal dalam graf pada satu sumbu waktu: masa sebagai "
              "batang dari awal hingga akhirnya, nilai bertanggal sebagai tanda setepat yang "
              "dinyatakan graf (hari, bulan, atau satu tahun penuh). Pilih butir untuk membuka "
              "halamannya."},
    "section_article": {"en": "From the article", "id": "Dari artikel"},
    "section_reference": {"en": "From the reference tables", "id": "Dari tabel rujukan"},
    "kind_period": {"en": "period", "id": "masa"},
    "kind_value": {"en": "dated value", "id": "nilai bertanggal"},
    "item": {"en": "Item", "id": "Butir"},
    "property_col": {"en": "Property", "id": "Properti"},
    "stated": {"en": "As stated", "id": "Sebagaimana dinyatakan"},
    "undated_phases": {"en": "Phases stated without a period",
                       "id": "Fase yang dinyatakan tanpa masa"},
    "timeline_list": {"en": "The timeline as a list", "id": "Lini masa sebagai daftar"},
    "not_in_result": {"en": "not in the result", "id": "tidak ada dalam hasil"},
    "map_and_timeline": {"en": "Map and timeline", "id": "Peta dan lini masa"},
    "map_link_text": {"en": "The provinces on a map, coloured by phase",
                      "id": "Provinsi di peta, diwarnai menurut fase"},
    "timeline_link_text": {"en": "The programme's dated events on a timeline",
                           "id": "Peristiwa bertanggal program pada lini masa"},
}
UI.update(MAP_UI)


def _t(key: str, lang: str) -> str:
    entry = UI.get(key, {})
    return entry.get(lang) or entry.get("en") or key


def _sparql_link(query: str) -> str:
    return f"{request.script_root}/sparql?{urlencode({'query': query})}"


@blueprint.get("/map")
def province_map() -> Response:
    """Indonesia's provinces coloured by the phases of their engagements (inline SVG)."""
    return _html_page(("map",), _map_page)


def _map_page() -> str:
    store = get_store()
    lang, explicit = reader_language()
    view = geo.phase_map(store, lang=lang, href=make_href(lang if explicit else None),
                         title=_t("map_title", lang), neutral_label=_t("no_engagement", lang))
    return render_template("maps/map.html", map=view, shapes=len(view.areas),
                           query_link=_sparql_link(sparql_prologue(store.base_uri)
                                                   + geo.ENGAGEMENTS_QUERY))


@blueprint.get("/timeline")
def timeline() -> Response:
    """The dated statements of the graph on one time axis (inline SVG and a list)."""
    return _html_page(("timeline",), _timeline_page)


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
                           neutral_label=_t("not_in_result", lang))
    if view is not None:
        figures["map"] = view
    return figures
