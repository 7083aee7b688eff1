"""The pages in a real browser: headless Chromium (Debian's `chromium` + `chromium-driver`) driven
by Selenium, against `ikmkg serve --base-uri http://127.0.0.1:PORT/` so every IRI dereferences.

Checks that the home, a province, an engagement and the ontology page render, that their links
lead to pages that exist, that the language toggle works and is remembered, and that axe-core
(vendored from the npm package into tests/vendor/, no CDN) finds no serious or critical
accessibility violation. Skipped only where Chromium is absent, and never in CI.
"""

from __future__ import annotations

import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urldefrag, urlsplit

import pytest
import requests
from backends import free_port, server_log, spawn_ikmkg, stop, wait_for_server
from conftest import TESTS_DIR

AXE = TESTS_DIR / "vendor" / "axe-core-4.14.1.min.js"
PAGES = {
    "home": "/",
    "province": "/doc/province/jawa-timur",
    "engagement": "/doc/engagement/2013-2016--jawa-timur",
    "ontology": "/ontology",
}

pytestmark = [pytest.mark.server, pytest.mark.slow]


def _browser_paths() -> tuple[str | None, str | None]:
    return shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port, cache = free_port(), tmp_path_factory.mktemp("browser-server")
    base = f"http://127.0.0.1:{port}/"
    process = spawn_ikmkg(None, cache, port, "--base-uri", base)
    try:
        home = wait_for_server(process, base, 60, lambda: server_log(cache))
        assert home.status_code == 200, home.text[:500]
        yield base.rstrip("/")
    finally:
        stop(process)


@pytest.fixture(scope="module")
def browser():
    chromium, chromedriver = _browser_paths()
    if not (chromium and chromedriver):
        if os.environ.get("CI"):
            pytest.fail("CI must install chromium and chromium-driver (scripts/test.sh)")
        pytest.skip("Chromium or chromedriver is not installed")
    driver = _chromium(chromium, chromedriver, {"intl.accept_languages": "en-US,en"})
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


def _chromium(chromium: str, chromedriver: str, prefs: dict):
    """Headless Chromium in a 1280 x 900 window, English, with these preferences."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=1280,900", "--lang=en-US"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", prefs)
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    driver.set_page_load_timeout(30)
    return driver


def _by():
    from selenium.webdriver.common.by import By

    return By


def _links(driver) -> list[str]:
    return [a.get_attribute("href") for a in driver.find_elements(_by().CSS_SELECTOR, "a[href]")]


@pytest.mark.parametrize("name", PAGES)
def test_page_renders(server, browser, name):
    browser.get(server + PAGES[name])
    heading = browser.find_element(_by().TAG_NAME, "h1")
    assert heading.text.strip()
    nav = browser.find_element(_by().CSS_SELECTOR, "header nav").text
    for item in ("Home", "Query", "Ontology", "Dumps"):
        assert item in nav
    assert browser.execute_script("return document.documentElement.lang") == "en"
    if name == "engagement":
        assert browser.find_element(_by().CSS_SELECTOR, ".provenance blockquote").text.strip()
    if name == "ontology":
        assert browser.find_element(_by().ID, "Province").is_displayed()


def _at_width(browser, width: int):
    """The browser's viewport `width` CSS pixels wide (back to the default afterwards)."""
    import contextlib

    @contextlib.contextmanager
    def resized():
        browser.set_window_size(width, 900)
        try:
            yield
        finally:
            browser.set_window_size(1280, 900)

    return resized()


def _horizontal_overflow(browser) -> int:
    return browser.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth")


@pytest.mark.parametrize("lang", ["en", "id"])
def test_dumps_page_reads_on_a_phone(server, browser, lang):
    """Issue #17: at 360 px nothing scrolls sideways and no size wraps ("27600/8")."""
    with _at_width(browser, 360):
        browser.get(f"{server}/dumps/?lang={lang}")
        assert browser.execute_script("return window.innerWidth") <= 400
        assert _horizontal_overflow(browser) <= 0
        sizes = browser.find_elements(_by().CSS_SELECTOR, "table.dumps td.size data")
        assert len(sizes) >= 7
        for size in sizes:
            assert browser.execute_script("return arguments[0].getClientRects().length",
                                          size) == 1, size.text
            assert size.get_attribute("title").split()[0].replace(",", "").replace(".", "") \
                == size.get_attribute("value")


#: Every text of the timeline's SVGs: its box in the SVG's units, and the SVG's view box.
_TIMELINE_TEXTS = """
return Array.from(document.querySelectorAll('svg.timeline'), svg => ({
  section: svg.closest('section').getAttribute('aria-labelledby'),
  view: [svg.viewBox.baseVal.width, svg.viewBox.baseVal.height],
  starts: Array.from(svg.querySelectorAll('a.item'), a => +a.dataset.start),
  ends: Array.from(svg.querySelectorAll('a.item'), a => +a.dataset.end),
  years: Array.from(svg.querySelectorAll('text.tick'), t => +t.textContent),
  texts: Array.from(svg.querySelectorAll('text'), t => {
    const b = t.getBBox();
    return {text: t.textContent, x: b.x, y: b.y, w: b.width, h: b.height};
  }),
}));
"""


@pytest.mark.parametrize("lang", ["en", "id"])
def test_timeline_fits_its_events_with_every_label_whole(server, browser, lang):
    """Issue #17 item 13: each axis spans the years of its own events (the article's did
    1999-2027); every text lies inside its SVG and no two texts overlap."""
    browser.get(f"{server}/timeline?lang={lang}")
    svgs = browser.execute_script(_TIMELINE_TEXTS)
    assert {s["section"] for s in svgs} == {"section-article", "section-reference"}
    for svg in svgs:
        width, height = svg["view"]
        first, last = min(svg["starts"]), max(svg["ends"])
        assert svg["years"][0] >= int(first) and svg["years"][-1] <= int(last) + 1, svg["years"]
        boxes = svg["texts"]
        assert len(boxes) > len(svg["starts"])
        for b in boxes:
            assert b["w"] > 0 and b["x"] >= 0 and b["y"] >= 0, b
            assert b["x"] + b["w"] <= width and b["y"] + b["h"] <= height, (b, width, height)
        for n, a in enumerate(boxes):
            for b in boxes[n + 1:]:
                apart = (a["x"] + a["w"] <= b["x"] or b["x"] + b["w"] <= a["x"]
                         or a["y"] + a["h"] <= b["y"] or b["y"] + b["h"] <= a["y"])
                assert apart, f"{a['text']!r} overlaps {b['text']!r}"
    article = next(s for s in svgs if s["section"] == "section-article")
    assert article["years"][0] >= 2013, "the programme's axis starts before its first event"


@pytest.mark.parametrize("lang", ["en", "id"])
def test_home_shows_search_questions_and_map_on_its_first_screen(server, browser, lang):
    """Issue #17 item 12: at 1280 x 900 the search box, the example questions and the map are in
    view before any scrolling; the browse list comes after them."""
    browser.get(f"{server}/?lang={lang}")
    height = browser.execute_script("return window.innerHeight")
    top = "return arguments[0].getBoundingClientRect().top"
    for selector in ("main form[role=search] input[type=search]", ".question-list a",
                     "main svg.province-map"):
        element = browser.find_element(_by().CSS_SELECTOR, selector)
        assert browser.execute_script(top, element) < height, selector
    browse = browser.find_element(_by().ID, "browse-title")
    questions = browser.find_element(_by().ID, "questions-title")
    assert browser.execute_script(top, browse) > browser.execute_script(top, questions)


def test_ontology_page_is_compact(server, browser):
    """Issue #17 item 11: the page was some 63,000 pixels high; a card per term, the shapes on
    their own page, keep it within 25,000 at 1280 px."""
    browser.get(f"{server}/ontology#Province")
    assert browser.find_element(_by().ID, "Province").is_displayed()
    assert browser.execute_script("return document.documentElement.scrollHeight") < 25_000
    sparql = browser.find_elements(_by().CSS_SELECTOR, "pre.sparql code")
    browser.get(f"{server}/shapes")
    assert not sparql and browser.find_elements(_by().CSS_SELECTOR, "pre.sparql code")


def _status(session, url: str) -> int:
    """GET `url` as a polite client: a 429 (this test's own parallel query links sharing one
    client's query slots) is retried after its Retry-After, a few times, before it counts."""
    for _ in range(5):
        response = session.get(url, timeout=30, headers={"Accept": "text/html"})
        if response.status_code != 429:
            break
        time.sleep(min(float(response.headers.get("Retry-After", "1")), 2.0))
    return response.status_code


@pytest.mark.parametrize("name", PAGES)
def test_links_lead_to_existing_pages(server, browser, name):
    browser.get(server + PAGES[name])
    links = _links(browser)
    assert links
    ours = [urldefrag(h) for h in links if urlsplit(h).netloc == urlsplit(server).netloc]
    urls = sorted({url for url, _ in ours})
    # Every page link is fetched; of the ready-made query links (/sparql?query=...), which all
    # lead to the query page, a few are run.
    queries = [u for u in urls if urlsplit(u).path == "/sparql" and urlsplit(u).query]
    urls = [u for u in urls if u not in queries] + queries[:5]
    with requests.Session() as session, ThreadPoolExecutor(max_workers=4) as pool:
        statuses = dict(zip(urls, pool.map(lambda u: _status(session, u), urls)))
    bad = {u: code for u, code in statuses.items() if code != 200}
    assert not bad, f"broken links on {PAGES[name]}: {bad}"
    fragments: dict[str, set[str]] = {}
    for url, fragment in ours:
        if not fragment:
            continue
        if url not in fragments:
            browser.get(url)
            fragments[url] = set(browser.execute_script(
                "return Array.from(document.querySelectorAll('[id]'), e => e.id)"))
        assert fragment in fragments[url], f"{url}#{fragment}: no element with that id"
    assert statuses


def test_language_toggle_switches_and_is_remembered(server, browser):
    browser.get(server + PAGES["province"])
    english = browser.find_element(_by().TAG_NAME, "h1").text
    browser.find_element(_by().CSS_SELECTOR, ".lang-toggle a[hreflang='id']").click()
    assert "lang=id" in browser.current_url
    assert browser.execute_script("return document.documentElement.lang") == "id"
    indonesian = browser.find_element(_by().TAG_NAME, "h1").text
    assert indonesian and indonesian != english
    assert "Beranda" in browser.find_element(_by().CSS_SELECTOR, "header nav").text
    # following a link keeps the chosen language
    browser.find_element(_by().CSS_SELECTOR, "header nav a[href*='/ontology']").click()
    assert "lang=id" in browser.current_url
    assert browser.execute_script("return document.documentElement.lang") == "id"
    browser.find_element(_by().CSS_SELECTOR, ".lang-toggle a[hreflang='en']").click()
    assert browser.execute_script("return document.documentElement.lang") == "en"


def serious_violations(browser, url: str) -> list[str]:
    """axe-core's serious and critical violations on the page at `url`, one line each."""
    browser.get(url)
    browser.execute_script(AXE.read_text(encoding="utf-8"))
    violations = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(r => done(r.violations)).catch(e => done([{id: 'axe-error', impact: 'critical',"
        " help: String(e), nodes: []}]));")
    return [f"{v['id']} ({v['impact']}): {v['help']} — "
            + "; ".join(n.get("html", "")[:120] for n in v.get("nodes", [])[:3])
            for v in violations if v.get("impact") in ("serious", "critical")]


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("lang", ["en", "id"])
def test_no_serious_accessibility_violations(server, browser, name, lang):
    serious = serious_violations(browser, f"{server}{PAGES[name]}?lang={lang}")
    assert not serious, "\n".join(serious)


# --- the query workbench (issues #17 and #18) --------------------------------------------------

WORKBENCH_QUERY = ("PREFIX ikm: <{base}/ontology#>\n"
                   "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
                   "SELECT ?province ?label WHERE {{\n"
                   "  ?province a ikm:Province ; rdfs:label ?label .\n"
                   "  FILTER(lang(?label) = \"id\")\n}}\nORDER BY ?label\nLIMIT 5\n")


def _wait(browser, condition, seconds: float = 10):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, seconds).until(condition)


def _type_at_end(browser, text: str) -> None:
    editor = browser.find_element(_by().CSS_SELECTOR, ".query-editor .cm-content")
    editor.click()
    browser.execute_script("const v = window.ikmkgEditor;"
                           "v.dispatch({selection: {anchor: v.state.doc.length}}); v.focus();")
    editor.send_keys(text)


def test_editor_completes_the_ontology(server, browser):
    browser.get(server + "/sparql")
    assert not browser.find_element(_by().ID, "query").is_displayed()  # the editor replaced it
    _type_at_end(browser, "\nikm:Pro")
    options = _wait(browser, lambda b: [e.text for e in b.find_elements(
        _by().CSS_SELECTOR, ".cm-tooltip-autocomplete li")] or None)
    assert any(o.startswith("ikm:Province") and "Province" in o[len("ikm:Province"):]
               for o in options), options
    province = next(e for e in browser.find_elements(
        _by().CSS_SELECTOR, ".cm-tooltip-autocomplete li")
        if e.find_element(_by().CSS_SELECTOR, ".cm-completionLabel").text == "ikm:Province")
    province.click()
    text = browser.execute_script("return window.ikmkgEditor.state.doc.toString()")
    assert text.rstrip().endswith("ikm:Province")
    assert browser.find_element(_by().ID, "query").get_attribute("value") == text


def test_editor_runs_the_query_and_shows_readable_results(server, browser):
    browser.get(server + "/sparql")
    browser.execute_script(
        "const v = window.ikmkgEditor;"
        "v.dispatch({changes: {from: 0, to: v.state.doc.length, insert: arguments[0]}});",
        WORKBENCH_QUERY.format(base=server))
    browser.find_element(_by().CSS_SELECTOR, "form.query-form button[type=submit]").click()
    rows = _wait(browser, lambda b: b.find_elements(_by().CSS_SELECTOR, ".results-table tbody tr"))
    assert len(rows) == 5
    link = rows[0].find_element(_by().CSS_SELECTOR, "td a")
    assert link.get_attribute("title").startswith(server + "/id/province/")
    assert not link.text.startswith("http")  # a label, the IRI on hover
    assert "@id" in rows[0].find_elements(_by().TAG_NAME, "td")[1].text
    # the text the user ran is still in the editor, and its code is offered
    assert "ORDER BY ?label" in browser.execute_script(
        "return window.ikmkgEditor.state.doc.toString()")
    assert browser.find_element(_by().CSS_SELECTOR, ".query-code details[open] pre").text \
        .startswith("import pandas as pd")


def test_editor_marks_a_syntax_error(server, browser):
    browser.get(server + "/sparql")
    browser.execute_script(
        "const v = window.ikmkgEditor;"
        "v.dispatch({changes: {from: 0, to: v.state.doc.length, insert: arguments[0]}});",
        "SELECT ?s WHERE {\n  ?s ?p ?o\n} LIMT 3")
    browser.find_element(_by().CSS_SELECTOR, "form.query-form button[type=submit]").click()
    error = _wait(browser, lambda b: b.find_elements(_by().CSS_SELECTOR, ".query-error"))[0]
    assert "line 3, column 3" in error.text and "LIMIT" in error.text
    marked = browser.find_element(_by().CSS_SELECTOR, ".cm-error-line")
    assert "LIMT 3" in marked.text


@pytest.fixture(scope="module")
def browser_without_javascript():
    chromium, chromedriver = _browser_paths()
    if not (chromium and chromedriver):
        pytest.skip("Chromium or chromedriver is not installed")
    driver = _chromium(chromium, chromedriver,
                       {"profile.managed_default_content_settings.javascript": 2})
    yield driver
    driver.quit()


def test_query_page_works_without_javascript(server, browser_without_javascript):
    browser = browser_without_javascript
    browser.get(server + "/sparql")
    assert not browser.find_elements(_by().CSS_SELECTOR, ".query-editor")
    textarea = browser.find_element(_by().ID, "query")
    assert textarea.is_displayed()
    textarea.clear()
    textarea.send_keys(WORKBENCH_QUERY.format(base=server))
    browser.find_element(_by().CSS_SELECTOR, "form.query-form button[type=submit]").click()
    # the posted form loads a new page: wait for its results, not the page before it
    rows = _wait(browser, lambda b: b.find_elements(_by().CSS_SELECTOR,
                                                    ".results-table tbody tr"))
    assert len(rows) == 5
    assert browser.find_element(_by().ID, "query").get_attribute("value").startswith("PREFIX ikm:")
    assert urlsplit(browser.current_url).path == "/sparql"
    # the code snippets are there too, as disclosures
    assert browser.find_element(_by().CSS_SELECTOR, ".query-code details[open] pre").is_displayed()


def test_query_page_has_no_serious_accessibility_violations(server, browser):
    serious = serious_violations(browser, f"{server}/queries/cq01-first-phase-provinces")
    assert not serious, "\n".join(serious)
