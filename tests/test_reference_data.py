"""The reference-derived data files: built from sources/reference/, true to the tables.

The committed files must equal a fresh build (so they cannot drift from the CSVs or the script),
and the graph they make must carry every code of the CSVs exactly once, with its scheme.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import ORG, OWL, RDF, RDFS, SKOS, XSD

from ikmkg.kg import check_syntax
from ikmkg.namespaces import IKM, WD
from ikmkg.settings import CANONICAL_BASE, PROJECT_DIR

SCRIPT = PROJECT_DIR / "tools" / "build_reference_data.py"
REFERENCE_DIR = PROJECT_DIR / "sources" / "reference"
DATA_DIR = PROJECT_DIR / "data"
ONTOLOGY = PROJECT_DIR / "ontology" / "ikm.ttl"
FILES = ("provinces.ttl", "places.ttl", "products.ttl", "organisations.ttl", "sources.ttl")
ID = Namespace(CANONICAL_BASE + "id/")

#: (CSV file, column) -> code scheme slug; every non-empty cell must become one code node.
CODE_COLUMNS = {
    ("provinces.csv", "bps_code"): "bps-2023",
    ("provinces.csv", "kemendagri_code"): "kemendagri-2025",
    ("provinces.csv", "iso_3166_2"): "iso-3166-2",
    ("places.csv", "kemendagri_code"): "kemendagri-2025",
    ("places.csv", "kemendagri_code_2017"): "kemendagri-2017",
    ("places.csv", "bps_code"): "bps-2023",
    ("places.csv", "bps_code_2017"): "bps-2020",
    ("products.csv", "kbli_2020_code"): "kbli-2020",
}
NAME_COLUMN = {"provinces.csv": "name_id", "places.csv": "name", "products.csv": "name_id"}


def read_csv(name: str) -> list[dict[str, str]]:
    with (REFERENCE_DIR / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory) -> Path:
    """The files as the script writes them now (with a hash seed unlike the usual one)."""
    out = tmp_path_factory.mktemp("reference-data")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)], check=True, env=env,
                   cwd=out)
    return out


@pytest.fixture(scope="module")
def graph() -> Graph:
    g = Graph()
    for name in FILES:
        g.parse(DATA_DIR / name, format="turtle")
    return g


def codes_of(g: Graph, entity: URIRef, scheme: str) -> set[str]:
    return {
        str(g.value(code, SKOS.notation))
        for code in g.objects(entity, IKM.hasCode | IKM.kbliCode)
        if g.value(code, IKM.codeScheme) == ID[f"code-scheme/{scheme}"]
    }


@pytest.mark.parametrize("name", FILES)
def test_committed_file_equals_a_fresh_build(rebuilt: Path, name: str):
    committed = (DATA_DIR / name).read_bytes()
    assert committed == (rebuilt / name).read_bytes(), (
        f"data/{name} differs from tools/build_reference_data.py's output: rerun the script")


@pytest.mark.parametrize("name", FILES)
def test_file_passes_the_syntax_check_used_on_load(name: str):
    check_syntax(DATA_DIR / name)


def test_check_mode_reports_a_stale_file(rebuilt: Path):
    (rebuilt / "products.ttl").write_text("# stale\n", encoding="utf-8")
    result = subprocess.run([sys.executable, str(SCRIPT), "--check", "--out", str(rebuilt)],
                            capture_output=True, text=True)
    assert result.returncode == 1 and "products.ttl" in result.stderr


def test_counts(graph: Graph):
    assert len(set(graph.subjects(RDF.type, IKM.Province))) == 38
    assert len(set(graph.objects(ID["province-set/2025"], SKOS.member))) == 38
    members_2017 = set(graph.objects(ID["province-set/2017"], SKOS.member))
    assert len(members_2017) == 34
    assert ID["province/papua-tengah"] not in members_2017
    assert ID["province/papua"] in members_2017
    place_classes = (IKM.Regency, IKM.City, IKM.District, IKM.Village, IKM.Locality)
    places = {s for cls in place_classes for s in graph.subjects(RDF.type, cls)}
    assert len(places) == len(read_csv("places.csv")) == 17
    assert len(set(graph.subjects(RDF.type, IKM.ProductCategory))) == 15
    assert {str(s).rsplit("/", 1)[1] for s in graph.subjects(RDF.type, IKM.IndustrySector)} == {
        "alat-transportasi", "elektronika", "makanan-minuman"}


@pytest.mark.parametrize("province,bps,kemendagri,iso", [
    ("papua", "94", "91", "ID-PA"),
    ("papua-barat", "91", "92", "ID-PB"),
    ("papua-tengah", "96", "94", "ID-PT"),
    ("papua-barat-daya", "92", "96", "ID-PD"),
])
def test_papua_codes_are_kept_apart_by_scheme(graph: Graph, province, bps, kemendagri, iso):
    entity = ID[f"province/{province}"]
    assert codes_of(graph, entity, "bps-2023") == {bps}
    assert codes_of(graph, entity, "kemendagri-2025") == {kemendagri}
    assert codes_of(graph, entity, "iso-3166-2") == {iso}


def test_only_the_2017_provinces_have_bps_2020_codes(graph: Graph):
    provinces = set(graph.subjects(RDF.type, IKM.Province))
    with_2020 = {s for s in provinces if codes_of(graph, s, "bps-2020")}
    assert with_2020 == set(graph.objects(ID["province-set/2017"], SKOS.member))


PROVINCE_ON = """
SELECT ?province WHERE {
  ?t ikm:subdivision ?place ; ikm:parentArea ?province .
  OPTIONAL { ?t ikm:validFrom ?from } OPTIONAL { ?t ikm:validUntil ?until }
  FILTER ((!BOUND(?from) || ?from <= ?day) && (!BOUND(?until) || ?day < ?until))
}"""


@pytest.mark.parametrize("day,province", [
    ("2017-12-26", "papua"), ("2022-11-10", "papua"),
    ("2022-11-11", "papua-tengah"), ("2025-01-01", "papua-tengah"),
])
def test_dogiyai_lies_in_papua_then_papua_tengah(graph: Graph, day, province):
    rows = graph.query(PROVINCE_ON, initNs={"ikm": IKM}, initBindings={
        "place": ID["regency/dogiyai"], "day": Literal(day, datatype=XSD.date)})
    assert [row.province for row in rows] == [ID[f"province/{province}"]]


def test_dogiyai_has_both_code_vintages(graph: Graph):
    dogiyai = ID["regency/dogiyai"]
    assert codes_of(graph, dogiyai, "kemendagri-2025") == {"94.06"}
    assert codes_of(graph, dogiyai, "kemendagri-2017") == {"91.26"}
    assert codes_of(graph, dogiyai, "bps-2023") == {"9602"}
    assert codes_of(graph, dogiyai, "bps-2020") == {"9434"}
    moved = graph.value(predicate=IKM.parentArea, object=ID["province/papua-tengah"])
    assert str(graph.value(moved, IKM.legalBasis)) == "UU 15/2022"


def test_every_code_cell_is_one_code_node_of_its_row(graph: Graph):
    expected = 0
    for (table, column), scheme in CODE_COLUMNS.items():
        for row in read_csv(table):
            for notation in filter(None, (c.strip() for c in row[column].split(";"))):
                expected += 1
                nodes = [c for c in graph.subjects(SKOS.notation, Literal(notation))
                         if graph.value(c, IKM.codeScheme) == ID[f"code-scheme/{scheme}"]]
                assert len(nodes) == 1, (table, column, notation)
                owners = list(graph.subjects(IKM.hasCode | IKM.kbliCode, nodes[0]))
                assert len(owners) == 1, (notation, owners)
                labels = {str(o) for o in graph.objects(owners[0], RDFS.label)}
                assert any(row[NAME_COLUMN[table]] in text for text in labels), (notation, labels)
    # BPS 2020 codes of the 34 provinces come from the BPS2023+BPS2020 source; nothing else.
    expected += sum("BPS2020" in row["source"] for row in read_csv("provinces.csv"))
    assert len(set(graph.subjects(IKM.codeScheme, None))) == expected


def test_no_wikidata_item_outside_the_tables(graph: Graph):
    in_tables = {row["wikidata"] for name in ("provinces.csv", "places.csv", "products.csv",
                                              "organisations_people.csv")
                 for row in read_csv(name) if row["wikidata"]}
    in_graph = {str(o)[len(str(WD)):] for o in graph.objects(None, IKM.wikidata)}
    assert in_graph == in_tables | {"Q252"}


def test_krajan_has_no_parent_only_an_unverified_statement(graph: Graph):
    krajan = ID["locality/krajan"]
    assert graph.value(predicate=IKM.subdivision, object=krajan) is None
    assert graph.value(krajan, IKM.verificationStatus) == ID["status/unverified"]
    statement = ID["statement/krajan-in-laban"]
    assert graph.value(statement, RDF.subject) == krajan
    assert graph.value(statement, RDF.predicate) == IKM.possibleParentArea
    assert graph.value(statement, RDF.object) == ID["village/laban"]
    assert graph.value(statement, IKM.verificationStatus) == ID["status/unverified"]


def test_kecamatan_and_desa_parents(graph: Graph):
    def parents(place: str) -> set[URIRef]:
        return {graph.value(t, IKM.parentArea)
                for t in graph.subjects(IKM.subdivision, ID[place])}
    assert parents("district/ceper") == {ID["regency/klaten"]}
    assert parents("district/mojolaban") == {ID["regency/sukoharjo"]}
    assert parents("village/laban") == {ID["district/mojolaban"]}
    assert parents("regency/tegal") == parents("city/tegal") == {ID["province/jawa-tengah"]}


def test_ditjen_ikm_renaming_is_a_statement_not_a_direct_triple(graph: Graph):
    ditjen = ID["organisation/ditjen-ikm"]
    assert graph.value(ditjen, IKM.laterName) is None
    statement = ID["statement/ditjen-ikm-renamed-ikma"]
    assert graph.value(statement, RDF.subject) == ditjen
    assert str(graph.value(statement, RDF.object)).startswith(
        "Direktorat Jenderal Industri Kecil, Menengah dan Aneka")
    assert graph.value(ditjen, ORG.unitOf) == ID["organisation/kemenperin"]
    assert graph.value(ID["organisation/kemenperin"], ORG.hasUnit) == ditjen


def test_every_subject_has_both_labels(graph: Graph):
    missing = [s for s in set(graph.subjects())
               if {o.language for o in graph.objects(s, RDFS.label)} != {"id", "en"}]
    assert missing == []


def test_every_ikm_term_is_defined_in_the_ontology(graph: Graph):
    if not ONTOLOGY.is_file():
        pytest.skip("ontology/ikm.ttl not written yet")
    ontology = Graph().parse(ONTOLOGY, format="turtle")
    kinds = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty)
    defined = {s for kind in kinds for s in ontology.subjects(RDF.type, kind)}
    used = {t for triple in graph for t in triple[1:]
            if isinstance(t, URIRef) and str(t).startswith(str(IKM))}
    assert sorted(used - defined) == []
