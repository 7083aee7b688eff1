"""The twelve competency questions (queries/*.rq) answer what the article and references say.

Expected answers are written from the article's text (sources/article-2017-12-26-republika.txt)
and the reference tables, by IRI, so that a label change cannot hide a wrong answer.
"""

from __future__ import annotations

import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import XSD

from ikmkg.settings import CANONICAL_BASE

QUERY_NAMES = [
    "cq01-first-phase-provinces", "cq02-follow-up-commitments", "cq03-initial-targets",
    "cq04-both-phases", "cq05-selection-criteria", "cq06-posts", "cq07-ongoing-study",
    "cq08-surveyed-centres", "cq09-national-statistics", "cq10-provenance",
    "cq11-never-engaged", "cq12-dogiyai-province",
]


def iri(path: str) -> URIRef:
    return URIRef(f"{CANONICAL_BASE}id/{path}")


@pytest.fixture(scope="module")
def run(store, settings):
    def run_query(name: str) -> list[dict]:
        return store.select((settings.queries_dir / f"{name}.rq").read_text(encoding="utf-8"))
    return run_query


def test_every_query_file_is_listed(settings):
    assert sorted(p.stem for p in settings.queries_dir.glob("*.rq")) == QUERY_NAMES


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_query_has_title_and_description(settings, name):
    text = (settings.queries_dir / f"{name}.rq").read_text(encoding="utf-8")
    assert "# title: " in text and "# description: " in text


def test_cq01_first_phase(run):
    rows = {(r["province"], r["product"]) for r in run("cq01-first-phase-provinces")}
    assert rows == {
        (iri("province/sumatera-utara"), iri("product/tenun-ulos")),
        (iri("province/jawa-tengah"), iri("product/komponen-logam")),
        (iri("province/sulawesi-tengah"), iri("product/kakao")),
        (iri("province/sulawesi-tengah"), iri("product/rotan")),
        (iri("province/jawa-timur"), iri("product/alas-kaki")),
        (iri("province/kalimantan-barat"), iri("product/olahan-lidah-buaya")),
    }


def test_cq02_follow_up_commitments(run):
    rows = {(r["province"], r.get("site"), r["product"]) for r in run("cq02-follow-up-commitments")}
    assert rows == {
        (iri("province/kepulauan-bangka-belitung"), iri("regency/bangka-barat"),
         iri("product/kerajinan-pewter")),
        (iri("province/sulawesi-tenggara"), iri("regency/konawe-selatan"), iri("product/tahu")),
        (iri("province/sulawesi-tenggara"), iri("regency/konawe-selatan"), iri("product/tempe")),
        (iri("province/sulawesi-selatan"), iri("city/makassar"), iri("product/kerajinan-perak-emas")),
        (iri("province/papua"), iri("regency/dogiyai"), iri("product/pengolahan-kopi")),
        (iri("province/jawa-timur"), iri("city/pasuruan"), iri("product/komponen-kapal")),
        (iri("province/jawa-timur"), iri("city/pasuruan"), iri("product/pengecoran-logam")),
    }


def test_cq03_initial_targets(run):
    assert {r["province"] for r in run("cq03-initial-targets")} == {
        iri("province/sulawesi-selatan"), iri("province/jawa-timur"), iri("province/papua")}


def test_cq04_both_phases(run):
    assert [r["province"] for r in run("cq04-both-phases")] == [iri("province/jawa-timur")]


def test_cq05_criteria(run):
    comprises: dict[URIRef, set] = {}
    for r in run("cq05-selection-criteria"):
        comprises.setdefault(r["criterion"], set()).add(r.get("component"))
    assert comprises == {
        iri("criterion/sumber-dukungan"): {
            iri("criterion/ketersediaan-anggaran-apbn"),
            iri("criterion/sinkronisasi-anggaran-dekonsentrasi-dak")},
        iri("criterion/tema-strategis"): {
            iri("criterion/penguatan-linkage"), iri("criterion/pemberdayaan-wirausaha-industri"),
            iri("criterion/pengembangan-pasar-internasional")},
        iri("criterion/tema-afirmatif"): {iri("criterion/daerah-tertinggal-perbatasan")},
    }


def test_cq06_posts(run):
    rows = {(r["person"], r["post"], r["organisation"]) for r in run("cq06-posts")}
    assert rows == {
        (iri("person/gati-wibawaningsih"), iri("post/dirjen-ikm"), iri("organisation/ditjen-ikm")),
        (iri("person/airlangga-hartarto"), iri("post/menteri-perindustrian"),
         iri("organisation/kemenperin")),
        (iri("person/shinya-ejima"), iri("post/jica-senior-vice-president"),
         iri("organisation/jica")),
    }


def test_cq07_study(run):
    rows = run("cq07-ongoing-study")
    assert {r["study"] for r in rows} == {iri("study/promotion-for-globally-competitive")}
    assert {r["conductor"] for r in rows} == {iri("organisation/nri")}
    assert {str(r["title"]) for r in rows} == {"Promotion for Globally Competitive Study"}
    assert {(str(r["begins"]), str(r["ends"])) for r in rows} == {("2017-04", "2018-03")}
    assert {r["sector"] for r in rows} == {
        iri("sector/alat-transportasi"), iri("sector/elektronika"), iri("sector/makanan-minuman")}


def test_cq08_surveyed_centres(run):
    rows = run("cq08-surveyed-centres")
    by_centre: dict[URIRef, dict] = {}
    for r in rows:
        entry = by_centre.setdefault(r["centre"], {"location": set(), "candidates": set()})
        entry["location"].add(r.get("location"))
        entry["candidates"].add(r.get("candidate"))
        assert r["provinceLabel"] == Literal("Jawa Tengah", lang="id")
    assert by_centre == {
        iri("industry-centre/tegal-komponen-otomotif"): {
            "location": {None}, "candidates": {iri("regency/tegal"), iri("city/tegal")}},
        iri("industry-centre/ceper-komponen-otomotif"): {
            "location": {iri("district/ceper")}, "candidates": {None}},
    }


def test_cq09_statistics(run):
    [row] = run("cq09-national-statistics")
    # Counts are integers (issue #15); the article's rounded words stay in ikm:statedAs.
    assert row["businessUnits"] == Literal("4400000", datatype=XSD.integer)
    assert row["workers"] == Literal("10100000", datatype=XSD.integer)


def test_cq10_provenance_of_papua_coffee(run, settings):
    rows = run("cq10-provenance")
    article = (settings.project_dir + "/sources/article-2017-12-26-republika.txt")
    text = open(article, encoding="utf-8").read()
    assert [int(r["position"]) for r in rows] == [11, 16]
    for r in rows:
        assert str(r["text"]) in text
        assert "Papua" in str(r["text"])
        assert r["speaker"] == iri("person/gati-wibawaningsih")
        assert r.get("speakerRule") is None  # "menurutnya", "imbuhnya": the sentence says it
        assert r["issued"] == Literal("2017-12-26T05:55:00+07:00", datatype=XSD.dateTime)
        assert r["article"] == iri("article/republika-2017-12-26")


def test_cq11_never_engaged(run, store):
    never = {r["province"] for r in run("cq11-never-engaged")}
    engaged = {iri(f"province/{slug}") for slug in (
        "sumatera-utara", "jawa-tengah", "sulawesi-tengah", "jawa-timur", "kalimantan-barat",
        "kepulauan-bangka-belitung", "sulawesi-tenggara", "sulawesi-selatan", "papua")}
    roster = {r["p"] for r in store.select(
        f"SELECT ?p WHERE {{ <{iri('province-set/2017')}> "
        "<http://www.w3.org/2004/02/skos/core#member> ?p }")}
    assert len(roster) == 34
    assert never == roster - engaged
    assert len(never) == 25
    assert iri("province/aceh") in never and iri("province/papua-tengah") not in never


def test_cq12_dogiyai(run):
    rows = {r["province"]: (r["in2017"].toPython(), r["today"].toPython())
            for r in run("cq12-dogiyai-province")}
    assert rows == {iri("province/papua"): (True, False),
                    iri("province/papua-tengah"): (False, True)}
