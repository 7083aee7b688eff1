"""A bar chart of a SPARQL result, when its shape allows one: one label column, one number column.

Works on the HTML results table of ikmkg.web.sparql (rows of cells: {"kind": "iri" | "literal"
| "bnode", "value", "href", "datatype", ...}); the bars are laid out here and drawn as SVG by
the `_chart.html` template, with every label escaped by Jinja's autoescape. No Flask here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from ikmkg.geo import number, numeric_columns

#: Most bars drawn (the table above shows every row).
MAX_BARS = 40
WIDTH = 1000
LABEL_WIDTH = 330
VALUE_WIDTH = 80
BAR_HEIGHT = 18
ROW = 24
TOP = 8
MAX_LABEL = 48


@dataclasses.dataclass
class Bar:
    label: str
    short_label: str
    value: float
    text: str  # the value as the result gives it
    href: str | None
    y: float
    width: float


@dataclasses.dataclass
class BarChart:
    label_column: str
    value_column: str
    bars: list[Bar]
    total_rows: int
    height: float
    width: int = WIDTH
    label_width: int = LABEL_WIDTH
    bar_height: int = BAR_HEIGHT

    @property
    def truncated(self) -> bool:
        return self.total_rows > len(self.bars)


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[:MAX_LABEL - 1].rstrip() + "…"


def bar_chart(columns: list[str], rows: list[list], *,
              label_of: Callable[[dict], str] | None = None) -> BarChart | None:
    """The bar chart of a result with exactly one number column and one other bound column.

    Args:
        columns: the result's variable names.
        rows: the result's cells (None for unbound).
        label_of: the text for a label cell (e.g. an IRI's label in the graph); default its value.

    Returns:
        The chart, or None when the result does not have that shape or no positive number.
    """
    bound = [i for i, _ in enumerate(columns) if any(row[i] is not None for row in rows)]
    numeric = [i for i in numeric_columns(columns, rows) if i in bound]
    labels = [i for i in bound if i not in numeric]
    if len(numeric) != 1 or len(labels) != 1:
        return None
    value_i, label_i = numeric[0], labels[0]
    entries = [(row[label_i], row[value_i], number(row[value_i])) for row in rows
               if row[label_i] is not None and row[value_i] is not None]
    if not entries or max(v for _, _, v in entries) <= 0 or min(v for _, _, v in entries) < 0:
        return None
    shown = entries[:MAX_BARS]
    top = max(v for _, _, v in shown)
    plot = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    bars = []
    for n, (label_cell, value_cell, value) in enumerate(shown):
        text = label_of(label_cell) if label_of else label_cell["value"]
        bars.append(Bar(text, _shorten(text), value, value_cell["value"],
                        label_cell.get("href"), TOP + n * ROW,
                        round(max(plot * value / top, 1.0), 2)))
    return BarChart(columns[label_i], columns[value_i], bars, len(entries),
                    TOP * 2 + len(bars) * ROW)
