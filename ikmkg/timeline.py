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
import textwrap
from collections.abc import Callable

from rdflib import Literal

from ikmkg.describe import labels_of
from ikmkg.namespaces import sparql_prologue
from ikmkg.store import Store
from ikmkg.view import Labeller, Value

XSD = "http://www.w3.org/2001/XMLSchema#"
DATE_TYPES = ("date", "dateTime", "gYear", "gYearMonth")

#: Layout of the SVG (viewBox units; the page shows it at least 1,000 CSS pixels wide, scrolling
#: sideways on a narrow screen, so that a unit is about a pixel and the text stays readable).
WIDTH = 1000
LABEL_WIDTH = 330
PLOT_LEFT = LABEL_WIDTH + 20
PLOT_RIGHT = WIDTH - 24  # room for the last tick's year, centred on it
ROW = 26
LINE = 16  # a further line of a wrapped label
AXIS = 30
#: Widths of text estimated from its length: generous averages of system-ui at 13 px (labels)
#: and 11.5 px (notes), so that estimated text is never narrower than drawn text.
LABEL_CHAR = 7.6
NOTE_CHAR = 7.0
LABEL_CHARS = int((LABEL_WIDTH - 8) / LABEL_CHAR)  # per line of a label

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
    height: float = ROW
    lines: list[str] = dataclasses.field(default_factory=list)  # the label, wrapped
    note_x: float = 0.0  # where "property: value" is written beside the mark
    note_anchor: str = "start"

    @property
    def note(self) -> str:
        return f"{self.property.text}: {self.stated}"

    @property
    def title(self) -> str:
        return f"{self.subject.text} — {self.property.text}: {self.stated}"


@dataclasses.dataclass
class Tick:
    year: int
    x: float


@dataclasses.dataclass
class Section:
    """One group of items on its own axis, fitted to the years its items span."""
    key: str  # "article" or "reference"
    items: list[Item]
    height: float = 0.0
    first_year: int = 0
    last_year: int = 0
    ticks: list[Tick] = dataclasses.field(default_factory=list)


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
    for section in sections:
        _lay_out(section)
    if items:
        first = min(s.first_year for s in sections)
        last = max(s.last_year for s in sections)
    else:
        first = last = dt.date.today().year
    return Timeline(sections, _ticks(first, max(last, first + 1)),
                    sorted((labeller.value(p) for p in undated), key=lambda v: v.text),
                    first, max(last, first + 1))


def _ticks(first: int, last: int) -> list[Tick]:
    """A tick per year, or per 2, 5, 10... years: at most 16 on an axis from `first` to `last`."""
    scale = (PLOT_RIGHT - PLOT_LEFT) / (last - first)
    step = next(s for s in (1, 2, 5, 10, 20, 50, 100) if (last - first) / s <= 16)
    return [Tick(year, round(PLOT_LEFT + (year - first) * scale, 2))
            for year in range(first, last + 1) if (year - first) % step == 0]


def _lay_out(section: Section) -> None:
    """Fit the section's axis to its items (whole years around them) and place each item: its
    label wrapped in the label column (never cut), its mark, and its note on whichever side of
    the mark has room, within the plot."""
    first = math.floor(min(i.start for i in section.items))
    last = max(math.ceil(max(i.end for i in section.items)), first + 1)
    scale = (PLOT_RIGHT - PLOT_LEFT) / (last - first)
    section.items.sort(key=lambda i: (i.start, i.end, i.subject.text, i.property.text))
    y = float(AXIS)
    for item in section.items:
        item.lines = textwrap.wrap(item.subject.text, LABEL_CHARS) or [""]
        item.height = ROW + LINE * (len(item.lines) - 1)
        item.y = y
        y += item.height
        item.x = round(PLOT_LEFT + (item.start - first) * scale, 2)
        item.width = round(max((item.end - item.start) * scale, 4.0), 2)
        note = len(item.note) * NOTE_CHAR
        right_room = PLOT_RIGHT - (item.x + item.width + 6)
        left_room = item.x - 6 - PLOT_LEFT
        if note <= right_room or right_room >= left_room:
            item.note_x, item.note_anchor = round(item.x + item.width + 6, 2), "start"
        else:
            item.note_x, item.note_anchor = round(item.x - 6, 2), "end"
    section.height = y + 6
    section.first_year, section.last_year = first, last
    section.ticks = _ticks(first, last)
