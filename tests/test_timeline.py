"""/timeline against the graph: every dated statement of the data graph (read here from the
rdflib graph, not through the page's queries) is an item with its subject's link, periods span
their stated beginning and end, phases without a period are listed, and the language follows
the reader.
"""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from rdflib import Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, XSD

from ikmkg.timeline import span

TIME = Namespace("http://www.w3.org/2006/time#")
DATED = {XSD.date, XSD.dateTime, XSD.gYear, XSD.gYearMonth}


@pytest.fixture(scope="module")
def page(app) -> BeautifulSoup:
    response = app.test_client().get("/timeline")
    assert response.status_code == 200
    return BeautifulSoup(response.data, "html.parser")


def _ikm(knowledge_graph) -> Namespace:
    return Namespace(knowledge_graph.base_uri + "ontology#")


def _interval_bounds(data) -> set:
    return {o for p in (TIME.hasBeginning, TIME.hasEnd) for o in data.objects(None, p)}


def _dated_values(data) -> set[tuple[str, str, str]]:
    bounds = _interval_bounds(data)
    return {(str(s), str(p), str(o)) for s, p, o in data
            if isinstance(o, Literal) and o.datatype in DATED and s not in bounds}


def _periods(data) -> dict[tuple[str, str], tuple[Literal, Literal]]:
    """(subject, property) -> (beginning, end) literals of the intervals the graph states."""
    out = {}
    for period in set(data.subjects(TIME.hasBeginning, None)):
        begins = [o for o in data.objects(data.value(period, TIME.hasBeginning))
                  if isinstance(o, Literal) and o.datatype in DATED]
        ends = [o for o in data.objects(data.value(period, TIME.hasEnd))
                if isinstance(o, Literal) and o.datatype in DATED]
        assert len(begins) == len(ends) == 1, period
        for s, p in data.subject_predicates(period):
            out[(str(s), str(p))] = (begins[0], ends[0])
    return out


def _year_fraction(literal: Literal, end: bool) -> float:
    text = str(literal)
    year = int(text[:4])
    if literal.datatype == XSD.gYear:
        return year + (1 if end else 0)
    month = int(text[5:7])
    return year + (month if end else month - 1) / 12


def test_every_dated_value_of_the_graph_is_an_item(page, knowledge_graph):
    expected = _dated_values(knowledge_graph.data)
    assert len(expected) >= 30
    rows = page.select("table.timeline-list tbody tr[data-iri]")
    shown = {(r["data-iri"], r["data-property"], r.find_all("td")[2].get_text(strip=True))
             for r in rows}
    periods = _periods(knowledge_graph.data)
    values_shown = {row for row in shown if (row[0], row[1]) not in periods}
    assert values_shown == expected
    svg_items = page.select("svg.timeline a.item.value")
    assert {(a["data-iri"], a["data-property"]) for a in svg_items} == {
        (s, p) for s, p, _ in expected}
    assert len(svg_items) == len(expected)


def test_periods_span_their_stated_beginning_and_end(page, knowledge_graph):
    periods = _periods(knowledge_graph.data)
    ikm = _ikm(knowledge_graph)
    assert (knowledge_graph.base_uri + "id/phase/2013-2016", str(ikm.period)) in periods
    items = {(a["data-iri"], a["data-property"]): a for a in page.select("svg.timeline a.period")}
    assert set(items) == set(periods)
    for key, (begin, end) in periods.items():
        a = items[key]
        assert float(a["data-start"]) == pytest.approx(_year_fraction(begin, end=False))
        assert float(a["data-end"]) == pytest.approx(_year_fraction(end, end=True))


def test_items_are_grouped_by_source_and_in_time_order(page, knowledge_graph):
    data = knowledge_graph.data
    ikm = _ikm(knowledge_graph)
    articles = set(data.subjects(RDF.type, ikm.NewsArticle))
    from_article = {str(s) for s in articles}
    from_article |= {str(s) for a in articles for p in (DCTERMS.isPartOf, PROV.hadPrimarySource)
                     for s in data.subjects(p, a)}
    sections = {s["aria-labelledby"]: s for s in page.find("main").find_all("section")
                if s.find("svg", class_="timeline")}
    article = {a["data-iri"] for a in sections["section-article"].select("a.item")}
    reference = {a["data-iri"] for a in sections["section-reference"].select("a.item")}
    assert article <= from_article and not reference & from_article
    issued = [str(s) for s in articles]
    assert set(issued) <= article
    for section in sections.values():
        starts = [float(a["data-start"]) for a in section.select("a.item")]
        assert starts == sorted(starts)


def test_every_item_links_to_an_existing_page(page, client):
    hrefs = {a["href"] for a in page.select("svg.timeline a.item")}
    assert hrefs and all(h.startswith("/doc/") for h in hrefs)
    for href in sorted(hrefs):
        assert client.get(href).status_code == 200, href


def test_phases_without_a_period_are_listed(page, knowledge_graph):
    data = knowledge_graph.data
    ikm = _ikm(knowledge_graph)
    undated = {str(p) for p in data.subjects(RDF.type, ikm.ProgrammePhase)
               if data.value(p, ikm.period) is None}
    assert undated, "the follow-up programme has no period in the graph"
    listed = page.find("h2", id="undated").find_next("ul").find_all("a")
    base = knowledge_graph.base_uri
    assert {base + "id/" + a["href"][len("/doc/"):] for a in listed} == undated


def test_timeline_follows_the_language(client):
    english = BeautifulSoup(client.get("/timeline").data, "html.parser")
    indonesian = BeautifulSoup(client.get("/timeline?lang=id").data, "html.parser")
    assert english.html["lang"] == "en" and indonesian.html["lang"] == "id"
    assert english.h1.text != indonesian.h1.text
    assert all("lang=id" in a["href"] for a in indonesian.select("svg.timeline a.item"))


@pytest.mark.parametrize("value,datatype,expected", [
    ("2016", XSD.gYear, (2016.0, 2017.0, "year")),
    ("2017-04", XSD.gYearMonth, (2017.25, 2017 + 4 / 12, "month")),
    ("2017-12-25", XSD.date, (2017 + 358 / 365, 2017 + 359 / 365, "day")),
    ("2017-12-26T05:55:00+07:00", XSD.dateTime, (2017 + 359 / 365, 2017 + 360 / 365, "day")),
    ("2020-12-31", XSD.date, (2020 + 365 / 366, 2021.0, "day")),
])
def test_span_is_as_precise_as_the_value(value, datatype, expected):
    start, end, precision = span(Literal(value, datatype=datatype))
    assert (start, end) == pytest.approx(expected[:2]) and precision == expected[2]


def test_span_refuses_what_is_not_a_date():
    with pytest.raises(ValueError):
        span(Literal("--08-22", datatype=XSD.gMonthDay))
    with pytest.raises(ValueError):
        span(Literal("2017", datatype=URIRef(str(XSD.integer))))
