"""The programme's timeline: every dated statement of the data graph, laid out on one time axis.

Two kinds of items, both read from the graph with SPARQL (nothing is dated here):

- periods: a resource's `ikm:period` (or any property) pointing at an interval with
  `time:hasBeginning`/`time:hasEnd` instants (`time:inXSDgYear`, `inXSDgYearMonth`, `inXSDDate`);
  the phases and the study. A bar runs from the start of the beginning to the end of the end
  (an end year "2016" is all of 2016).
- dated values: any literal of the data graph typed xsd:date, xsd:dateTime, xsd:gYear or
  xsd:gYearMonth (the article's publication, when a sentence was said, status years,
  provinces' establishment, validity of territorial assignments, code-list vintages...). A value
  spans what it states: a day, a month or a whole year, never more precise than the graph.

Items are grouped by where they come from: the article (the article itself, its sentences, and
what has it as `prov:hadPrimarySource`) or the reference tables (everything else). Phases stated
without a period are listed apart. No Flask here (ikmkg.web.maps renders it).
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import math
import re
from collections.abc import Callable

from rdflib import Literal

from ikmkg.describe import labels_of
from ikmkg.namespaces import sparql_prologue
from ikmkg.store import Store
from ikmkg.view import Labeller, Value

XSD = "http://www.w3.org/2001/XMLSchema#"
DATE_TYPES = ("date", "dateTime", "gYear", "gYearMonth")

#: Layout of the SVG (viewBox units).
WIDTH = 1000
LABEL_WIDTH = 330
PLOT_LEFT = LABEL_WIDTH + 20
PLOT_RIGHT = WIDTH - 20
ROW = 26
AXIS = 30
NOTE_WIDTH = 230  # room kept for the note beside a mark before it goes to the mark's left

PERIODS_QUERY = """SELECT ?thing ?property ?period ?begin ?end WHERE {
  GRAPH <%(data)s> { ?thing ?property ?period .
    ?period time:hasBeginning ?b ; time:hasEnd ?e .
    ?b time:inXSDgYear|time:inXSDgYearMonth|time:inXSDDate ?begin .
    ?e time:inXSDgYear|time:inXSDgYearMonth|time:inXSDDate ?end }
}"""

VALUES_QUERY = """SELECT ?thing ?property ?value WHERE {
  GRAPH <%(data)s> { ?thing ?property ?value }
  FILTER(isLiteral(?value) && DATATYPE(?value) IN (xsd:date, xsd:dateTime, xsd:gYear,
                                                   xsd:gYearMonth))
  FILTER NOT EXISTS { ?thing a time:Instant . ?interval time:hasBeginning|time:hasEnd ?thing }
}"""

FROM_ARTICLE_QUERY = """SELECT DISTINCT ?thing WHERE {
  { ?thing a ikm:NewsArticle }
  UNION { ?thing dcterms:isPartOf ?article . ?article a ikm:NewsArticle }
  UNION { ?thing prov:hadPrimarySource ?article . ?article a ikm:NewsArticle }
}"""

UNDATED_PHASES_QUERY = """SELECT ?phase WHERE {
  ?phase a ikm:ProgrammePhase . FILTER NOT EXISTS { ?phase ikm:period ?period }
} ORDER BY ?phase"""


def span(value: Literal | str, datatype: str | None = None) -> tuple[float, float, str]:
    """(start, end, precision) of a dated literal, in fractional years; the end is exclusive.

    >>> span(Literal("2016", datatype=URIRef(XSD + "gYear")))
    (2016.0, 2017.0, 'year')

    Raises:
        ValueError: not a date, dateTime, gYear or gYearMonth.
    """
    text = str(value).strip()
    kind = (datatype or str(getattr(value, "datatype", "") or "")).removeprefix(XSD)
    found = re.match(r"(-?\d{4,})(?:-(\d\d))?(?:-(\d\d))?", text)
    if not found or kind not in DATE_TYPES:
        raise ValueError(f"not a dated value: {text!r} ({kind or 'no datatype'})")
    year = int(found.group(1))
    if kind == "gYear":
        return float(year), float(year + 1), "year"
    month = int(found.group(2))
    if kind == "gYearMonth":
        return year + (month - 1) / 12, year + month / 12, "month"
    day = dt.date(year, month, int(found.group(3)))
    days = 366 if calendar.isleap(year) else 365
    start = year + (day.timetuple().tm_yday - 1) / days
    return start, start + 1 / days, "day"


@dataclasses.dataclass
class Item:
    subject: Value
    property: Value
    stated: str  # the value(s) as the graph states them
    start: float
    end: float
    kind: str  # "period" or "value"
    precision: str
    x: float = 0.0
    width: float = 0.0
    y: float = 0.0
    note_x: float = 0.0  # where "property: value" is written beside the mark
    note_anchor: str = "start"

    @property
    def title(self) -> str:
        return f"{self.subject.text} — {self.property.text}: {self.stated}"


@dataclasses.dataclass
class Section:
    key: str  # "article" or "reference"
    items: list[Item]
    height: float = 0.0


@dataclasses.dataclass
class Tick:
    year: int
    x: float


@dataclasses.dataclass
class Timeline:
    sections: list[Section]
    ticks: list[Tick]
    undated_phases: list[Value]
    first_year: int
    last_year: int
    width: int = WIDTH
    label_width: int = LABEL_WIDTH
    plot_left: int = PLOT_LEFT
    plot_right: int = PLOT_RIGHT
    axis: int = AXIS
    row: int = ROW


def _stated(value: Literal) -> str:
    return str(value)


def timeline(store: Store, *, lang: str, href: Callable[[str], str | None]) -> Timeline:
    """Every dated statement of the data graph, laid out (see the module docstring)."""
    prologue = sparql_prologue(store.base_uri)
    data = store.graph_iris["data"]
    periods = store.select(prologue + PERIODS_QUERY % {"data": data})
    values = store.select(prologue + VALUES_QUERY % {"data": data})
    from_article = {str(r["thing"]) for r in store.select(prologue + FROM_ARTICLE_QUERY)}
    undated = [r["phase"] for r in store.select(prologue + UNDATED_PHASES_QUERY)]
    nodes = [r[k] for r in periods for k in ("thing", "property", "period")] + \
        [r[k] for r in values for k in ("thing", "property")] + undated
    labeller = Labeller(labels_of(store, nodes), lang, store.base_uri, href)

    items: list[Item] = []
    for row in periods:
        begin, end = span(row["begin"]), span(row["end"])
        items.append(Item(labeller.value(row["thing"]), labeller.value(row["property"]),
                          labeller.label(row["period"]), begin[0], end[1], "period",
                          min(begin[2], end[2], key=("day", "month", "year").index)))
    for row in values:
        start, end, precision = span(row["value"])
        items.append(Item(labeller.value(row["thing"]), labeller.value(row["property"]),
                          _stated(row["value"]), start, end, "value", precision))
    sections = [Section("article", []), Section("reference", [])]
    for item in items:
        sections[0 if item.subject.iri in from_article else 1].items.append(item)
    sections = [s for s in sections if s.items]
    if items:
        first = math.floor(min(i.start for i in items))
        last = math.ceil(max(i.end for i in items))
    else:
        first = last = dt.date.today().year
    last = max(last, first + 1)
    scale = (PLOT_RIGHT - PLOT_LEFT) / (last - first)
    for section in sections:
        section.items.sort(key=lambda i: (i.start, i.end, i.subject.text, i.property.text))
        for n, item in enumerate(section.items):
            item.x = round(PLOT_LEFT + (item.start - first) * scale, 2)
            item.width = round(max((item.end - item.start) * scale, 4.0), 2)
            item.y = AXIS + n * ROW
            if item.x + item.width + NOTE_WIDTH <= PLOT_RIGHT:
                item.note_x, item.note_anchor = round(item.x + item.width + 6, 2), "start"
            else:
                item.note_x, item.note_anchor = round(item.x - 6, 2), "end"
        section.height = AXIS + len(section.items) * ROW + 6
    step = next(s for s in (1, 2, 5, 10, 20, 50) if (last - first) / s <= 16)
    ticks = [Tick(year, round(PLOT_LEFT + (year - first) * scale, 2))
             for year in range(first, last + 1) if (year - first) % step == 0]
    return Timeline(sections, ticks, sorted((labeller.value(p) for p in undated),
                                            key=lambda v: v.text), first, last)
