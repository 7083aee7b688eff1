"""Province maps: the shipped boundary asset joined to the graph's provinces, as SVG view models.

The boundaries come from `ikmkg/static/map/indonesia-provinces.json` (Natural Earth Admin-1,
simplified and projected by tools/build_map_data.py; its `provenance` header says from where,
how, and what it cannot show). Each shape carries an ISO 3166-2 code; the graph's provinces are
found by their `ikm:ISO3166Code` notations, so a shape is drawn for a province only when the
graph states that code. Everything else shown (labels, phases, engagements, which province a
shapeless one was formed from) is queried from the store. No Flask here: the web layer
(ikmkg.web.maps) renders these models with the `_map.html` macros.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from collections.abc import Callable, Iterable
from pathlib import Path

from rdflib import URIRef

from ikmkg.describe import labels_of
from ikmkg.namespaces import sparql_prologue
from ikmkg.store import Store
from ikmkg.view import Labeller, Value

MAP_ASSET = Path(__file__).parent / "static" / "map" / "indonesia-provinces.json"

#: Fill of a province the map says nothing about.
NEUTRAL = "#e3e7ec"
#: Fills of the phases, in phase order (Okabe-Ito colours: distinguishable with colour-blindness).
PHASE_COLOURS = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00")
#: A sequential scale for numbers (light to dark), for results drawn on the map.
SEQUENTIAL = ("#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c")


@dataclasses.dataclass(frozen=True)
class Shape:
    iso: str
    path: str
    label_point: tuple[float, float]
    source_name: str


@dataclasses.dataclass(frozen=True)
class BaseMap:
    """The boundary asset: viewBox, one shape per ISO code, and its provenance header."""

    view_box: tuple[float, float, float, float]
    shapes: dict[str, Shape]
    provenance: dict

    @property
    def view_box_text(self) -> str:
        return " ".join(f"{v:g}" for v in self.view_box)


@functools.lru_cache(maxsize=4)
def load_base_map(path: Path = MAP_ASSET) -> BaseMap:
    """Read the boundary asset (once per process)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    shapes = {p["iso_3166_2"]: Shape(p["iso_3166_2"], p["path"], tuple(p["label_point"]),
                                     p["ne_name"]) for p in data["provinces"]}
    return BaseMap(tuple(data["viewBox"]), shapes, data["provenance"])


@dataclasses.dataclass(frozen=True)
class Province:
    iri: str
    iso: str | None
    formed_from: tuple[str, ...]


def provinces(store: Store) -> dict[str, Province]:
    """Every ikm:Province of the graph with its ISO 3166-2 notation and `ikm:formedFrom`."""
    rows = store.select(sparql_prologue(store.base_uri) + """
        SELECT ?province ?iso ?parent WHERE {
          ?province a ikm:Province .
          OPTIONAL { ?province ikm:hasCode ?code . ?code a ikm:ISO3166Code ; skos:notation ?iso }
          OPTIONAL { ?province ikm:formedFrom ?parent }
        }""")
    found: dict[str, tuple[set, set]] = {}
    for row in rows:
        isos, parents = found.setdefault(str(row["province"]), (set(), set()))
        if "iso" in row:
            isos.add(str(row["iso"]))
        if "parent" in row:
            parents.add(str(row["parent"]))
    return {iri: Province(iri, min(isos) if isos else None, tuple(sorted(parents)))
            for iri, (isos, parents) in found.items()}


#: The engagements of provinces in phases (the query is shown on the map page).
ENGAGEMENTS_QUERY = """SELECT ?province ?phase ?engagement WHERE {
  ?engagement a ikm:ProvinceEngagement ; ikm:province ?province ; ikm:phase ?phase .
}
ORDER BY ?province ?phase"""


def engagements(store: Store) -> list[dict]:
    """Rows (province, phase, engagement) of every province engagement."""
    return store.select(sparql_prologue(store.base_uri) + ENGAGEMENTS_QUERY)


def phase_order(store: Store) -> list[str]:
    """Every ikm:ProgrammePhase, those with a stated beginning first (earliest first)."""
    rows = store.select(sparql_prologue(store.base_uri) + """
        SELECT ?phase (MIN(STR(?b)) AS ?begin) WHERE { ?phase a ikm:ProgrammePhase .
          OPTIONAL { ?phase ikm:period/time:hasBeginning ?start .
                     ?start time:inXSDgYear|time:inXSDgYearMonth|time:inXSDDate ?b } }
        GROUP BY ?phase""")
    return [str(r["phase"]) for r in sorted(
        rows, key=lambda r: ("begin" not in r, str(r.get("begin", "")), str(r["phase"])))]


# --- view models -----------------------------------------------------------------------------

@dataclasses.dataclass
class Area:
    """One drawn shape: the province it stands for, its fill and its tooltip."""

    province: Value
    iso: str
    path: str
    fill: str  # a colour; with `pattern`, the pattern's first colour
    title: str
    category: str
    pattern: str | None = None  # id of a Pattern of the same MapView


@dataclasses.dataclass
class LegendEntry:
    label: str
    fill: str
    count: int
    key: str
    pattern: str | None = None


@dataclasses.dataclass
class Pattern:
    """Diagonal stripes of several colours (a province in several phases)."""

    id: str
    colours: list[str]


@dataclasses.dataclass
class ListedProvince:
    """A row of the text alternative: every province of the graph, drawn or not."""

    province: Value
    iso: str | None
    category: str
    details: list[Value]
    drawn_within: list[Value]  # for a province without its own shape
    has_shape: bool


@dataclasses.dataclass
class MapView:
    view_box: str
    areas: list[Area]
    legend: list[LegendEntry]
    patterns: list[Pattern]
    listed: list[ListedProvince]
    provenance: dict
    title: str

    @property
    def unshaped(self) -> list[ListedProvince]:
        return [p for p in self.listed if not p.has_shape]


def _labeller(store: Store, nodes: Iterable[str], lang: str,
              href: Callable[[str], str | None]) -> Labeller:
    return Labeller(labels_of(store, [URIRef(n) for n in nodes]), lang, store.base_uri, href)


def _shaped_ancestors(province: Province, by_iri: dict[str, Province], base: BaseMap) -> list[str]:
    """The provinces with a shape that `province` was formed from (following ikm:formedFrom)."""
    out, todo, seen = [], list(province.formed_from), set()
    while todo:
        iri = todo.pop(0)
        if iri in seen or iri not in by_iri:
            continue
        seen.add(iri)
        parent = by_iri[iri]
        if parent.iso in base.shapes:
            out.append(iri)
        else:
            todo.extend(parent.formed_from)
    return sorted(out)


def phase_map(store: Store, *, lang: str, href: Callable[[str], str | None],
              title: str, neutral_label: str, base: BaseMap | None = None) -> MapView:
    """Provinces coloured by the phases they were engaged in (stripes for several phases)."""
    base = base or load_base_map()
    by_iri = provinces(store)
    rows = engagements(store)
    order = phase_order(store)
    phases_of: dict[str, set[str]] = {}
    engagements_of: dict[str, set[str]] = {}
    for row in rows:
        province = str(row["province"])
        phases_of.setdefault(province, set()).add(str(row["phase"]))
        engagements_of.setdefault(province, set()).add(str(row["engagement"]))
    labeller = _labeller(store, [*by_iri, *order, *(e for s in engagements_of.values()
                                                     for e in s)], lang, href)
    colour = {phase: PHASE_COLOURS[i % len(PHASE_COLOURS)] for i, phase in enumerate(order)}
    rank = {phase: i for i, phase in enumerate(order)}

    def key_of(phases: set[str]) -> tuple[str, ...]:
        return tuple(sorted(phases, key=lambda p: (rank.get(p, len(rank)), p)))

    categories: dict[tuple[str, ...], tuple[str, str, str | None]] = {}  # label, fill, pattern
    patterns = []
    for phases in sorted({key_of(p) for p in phases_of.values()},
                         key=lambda k: (len(k), [rank.get(p, len(rank)) for p in k])):
        label = " + ".join(labeller.label(URIRef(p)) for p in phases)
        fills = [colour.get(p, PHASE_COLOURS[-1]) for p in phases]
        pattern = None
        if len(phases) > 1:
            pattern = f"stripes-{len(patterns) + 1}"
            patterns.append(Pattern(pattern, fills))
        categories[phases] = (label, fills[0], pattern)

    areas, listed, counts = [], [], {}
    for iri, province in sorted(by_iri.items(), key=lambda kv: labeller.label(URIRef(kv[0]))):
        value = labeller.value(URIRef(iri))
        phases = key_of(phases_of.get(iri, set()))
        label, fill, pattern = categories.get(phases, (neutral_label, NEUTRAL, None))
        shape = base.shapes.get(province.iso) if province.iso else None
        details = sorted((labeller.value(URIRef(e)) for e in engagements_of.get(iri, ())),
                         key=lambda v: v.text)
        listed.append(ListedProvince(
            value, province.iso, label, details,
            [] if shape else [labeller.value(URIRef(p))
                              for p in _shaped_ancestors(province, by_iri, base)],
            shape is not None))
        if shape is None:
            continue
        counts[label] = counts.get(label, 0) + 1
        areas.append(Area(value, province.iso, shape.path, fill, f"{value.text}: {label}",
                          label, pattern))
    legend = [LegendEntry(label, fill, counts.get(label, 0), "+".join(k), pattern)
              for k, (label, fill, pattern) in categories.items()]
    legend.append(LegendEntry(neutral_label, NEUTRAL, counts.get(neutral_label, 0), ""))
    return MapView(base.view_box_text, areas, legend, patterns, listed, base.provenance, title)


# --- query results on the map ----------------------------------------------------------------

NUMERIC_TYPES = {f"http://www.w3.org/2001/XMLSchema#{t}" for t in (
    "integer", "decimal", "double", "float", "int", "long", "short", "byte",
    "nonNegativeInteger", "positiveInteger", "negativeInteger", "nonPositiveInteger",
    "unsignedInt", "unsignedLong", "unsignedShort", "unsignedByte")}


def number(cell: dict | None) -> float | None:
    """The number of a results cell typed as an XSD number, else None."""
    if not cell or cell.get("kind") != "literal" or cell.get("datatype") not in NUMERIC_TYPES:
        return None
    try:
        value = float(cell["value"])
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def numeric_columns(columns: list[str], rows: list[list]) -> list[int]:
    """Columns whose bound cells are all XSD numbers (and at least one is bound)."""
    out = []
    for i, _ in enumerate(columns):
        cells = [row[i] for row in rows if row[i] is not None]
        if cells and all(number(c) is not None for c in cells):
            out.append(i)
    return out


def _bins(values: list[float]) -> list[tuple[float, float]]:
    distinct = sorted(set(values))
    if len(distinct) <= len(SEQUENTIAL):
        return [(v, v) for v in distinct]
    low, high = distinct[0], distinct[-1]
    step = (high - low) / len(SEQUENTIAL)
    return [(low + i * step, low + (i + 1) * step) for i in range(len(SEQUENTIAL))]


def _fmt(value: float) -> str:
    return f"{value:g}" if value != int(value) else str(int(value))


#: The result map's title in English (ikmkg.web.maps passes the reader's language).
RESULT_MAP_WORDING = {"title": "{column} on the map ({what})", "sum": "sum of {column}",
                      "rows": "rows"}


def results_map(store: Store, columns: list[str], rows: list[list], *, lang: str,
                href: Callable[[str], str | None], neutral_label: str,
                base: BaseMap | None = None,
                wording: dict[str, str] | None = None) -> MapView | None:
    """Query results on the province map, or None when no column holds provinces.

    `wording` words the title in the reader's language: "title" ({column}, {what}), "sum"
    ({column}) and "rows" (English by default).

    The first column whose IRIs are all provinces of the graph (with at least one shape) picks
    the provinces; with a numeric column its values are summed per province, else the rows are
    counted. Provinces the result does not mention stay neutral.
    """
    base = base or load_base_map()
    by_iri = provinces(store)
    province_column = None
    for i, _ in enumerate(columns):
        cells = [row[i] for row in rows if row[i] is not None]
        if cells and all(c.get("kind") == "iri" and c["value"] in by_iri for c in cells) \
                and any(by_iri[c["value"]].iso in base.shapes for c in cells):
            province_column = i
            break
    if province_column is None:
        return None
    numeric = [i for i in numeric_columns(columns, rows) if i != province_column]
    value_column = numeric[0] if numeric else None
    totals: dict[str, float] = {}
    for row in rows:
        cell = row[province_column]
        if cell is None:
            continue
        amount = 1.0 if value_column is None else number(row[value_column])
        if amount is None:
            continue
        totals[cell["value"]] = totals.get(cell["value"], 0.0) + amount
    wording = {**RESULT_MAP_WORDING, **(wording or {})}
    what = (wording["sum"].format(column=f"?{columns[value_column]}")
            if value_column is not None else wording["rows"])
    title = wording["title"].format(column=f"?{columns[province_column]}", what=what)
    labeller = _labeller(store, by_iri, lang, href)
    bins = _bins(list(totals.values()))

    def bin_of(value: float) -> int:
        for i, (low, high) in enumerate(bins):
            if low <= value <= high:
                return i
        return len(bins) - 1

    def bin_label(i: int) -> str:
        low, high = bins[i]
        return _fmt(low) if low == high else f"{_fmt(low)}–{_fmt(high)}"

    shades = SEQUENTIAL if len(bins) == len(SEQUENTIAL) else \
        SEQUENTIAL[len(SEQUENTIAL) - len(bins):] if bins else ()
    areas, listed, counts = [], [], {}
    for iri, province in sorted(by_iri.items(), key=lambda kv: labeller.label(URIRef(kv[0]))):
        value = labeller.value(URIRef(iri))
        shape = base.shapes.get(province.iso) if province.iso else None
        if iri in totals:
            i = bin_of(totals[iri])
            fill, category = shades[i], bin_label(i)
            text = f"{value.text}: {_fmt(totals[iri])}"
        else:
            fill, category, text = NEUTRAL, neutral_label, f"{value.text}: {neutral_label}"
        if iri in totals:
            listed.append(ListedProvince(
                value, province.iso, _fmt(totals[iri]), [],
                [] if shape else [labeller.value(URIRef(p))
                                  for p in _shaped_ancestors(province, by_iri, base)],
                shape is not None))
        if shape is None:
            continue
        counts[category] = counts.get(category, 0) + 1
        areas.append(Area(value, province.iso, shape.path, fill, text, category))
    legend = [LegendEntry(bin_label(i), shades[i], counts.get(bin_label(i), 0), str(i))
              for i in range(len(bins))]
    legend.append(LegendEntry(neutral_label, NEUTRAL, counts.get(neutral_label, 0), ""))
    return MapView(base.view_box_text, areas, legend, [], listed, base.provenance, title)
