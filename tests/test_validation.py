"""The SHACL shapes and the validation report (ikmkg.validation, ontology/shapes.ttl).

Data-driven: every file in tests/data/shapes/invalid/ names, on its first line, the one shape
and constraint component it must trigger (`# expect: <shape> <component> [<path>]`); every
file in valid/ must conform. Each is validated together with tests/data/shapes/context.ttl
(a small conforming graph) and the shipped ontology and shapes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SH, XSD

from ikmkg import kg as kg_module
from ikmkg.errors import DataError
from ikmkg.settings import Settings
from ikmkg.validation import (
    ValidationReport,
    _canonical_prologue,
    shorten,
    shorten_text,
    subject_line,
    validate,
)

SHAPES_DIR = Path(__file__).parent / "data" / "shapes"
CONTEXT = SHAPES_DIR / "context.ttl"
INVALID = sorted((SHAPES_DIR / "invalid").glob("*.ttl"))
VALID = sorted((SHAPES_DIR / "valid").glob("*.ttl"))

# Asserted so that a narrowed or broken glob cannot silently skip cases (the pySHACL lesson).
EXPECTED_INVALID = 122
EXPECTED_VALID = 8


def expectation(path: Path) -> tuple[str, str, str]:
    """(shape, component, path) from the fixture's `# expect:` line; path "" when absent."""
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name}: first line must be '# expect: ...'"
    parts = first.removeprefix("# expect: ").split()
    assert len(parts) in (2, 3), f"{path.name}: expect <shape> <component> [<path>]"
    return parts[0], parts[1], parts[2] if len(parts) == 3 else ""


@pytest.fixture(scope="session")
def context_kg(settings: Settings) -> kg_module.KnowledgeGraph:
    """The shipped ontology and shapes with the context graph, loaded once."""
    return kg_module.load(settings, [CONTEXT])


def with_fixture(context_kg: kg_module.KnowledgeGraph, path: Path) -> kg_module.KnowledgeGraph:
    """`context_kg` plus the triples of `path`: what `kg.load(settings, [CONTEXT, path])` gives,
    without parsing the ontology and shapes again for each of the hundred-odd cases."""
    data = Graph()
    for triple in context_kg.data:
        data.add(triple)
    part = kg_module.parse_turtle(path)
    files = dict(context_kg.subject_files)
    for s in part.subjects(unique=True):
        files.setdefault(s, path)
    for triple in part:
        data.add(triple)
    return kg_module.KnowledgeGraph(context_kg.ontology, context_kg.shapes, data,
                                    subject_files=files)


def result_keys(report: ValidationReport) -> set[tuple[str, str, str]]:
    return {(v.shape, v.component, v.path) for v in report.violations}


def test_fixture_counts():
    assert len(INVALID) == EXPECTED_INVALID
    assert len(VALID) == EXPECTED_VALID


def test_context_conforms(context_kg):
    report = validate(context_kg)
    assert report.conforms, report.text()
    assert report.violations == []


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_fixture_triggers_exactly_its_shape(context_kg, path):
    report = validate(with_fixture(context_kg, path))
    assert not report.conforms
    assert result_keys(report) == {expectation(path)}, report.text()
    for v in report.violations:
        assert v.severity == "Violation"
        assert v.message and "{?" not in v.message and "{$" not in v.message
        assert v.file in (str(path), str(CONTEXT))


@pytest.mark.parametrize("path", VALID, ids=[p.stem for p in VALID])
def test_valid_fixture_conforms(context_kg, path):
    report = validate(with_fixture(context_kg, path))
    assert report.conforms, report.text()


def test_fixture_loading_matches_kg_load(settings, context_kg):
    """The shortcut above validates the same graph as the real loader."""
    path = SHAPES_DIR / "invalid" / "site-not-in-province-at-the-time.ttl"
    loaded = kg_module.load(settings, [CONTEXT, path])
    assert set(loaded.data) == set(with_fixture(context_kg, path).data)
    assert result_keys(validate(loaded)) == {expectation(path)}


def named_shapes(shapes: Graph) -> set[URIRef]:
    return {s for s in shapes.subjects(RDF.type, SH.NodeShape) if isinstance(s, URIRef)}


def test_every_shape_has_an_invalid_fixture(context_kg):
    shapes = context_kg.shapes
    expected = {expectation(p) for p in INVALID}
    covered = {shape for shape, _, _ in expected}
    names = {shorten(s) for s in named_shapes(shapes)}
    assert len(names) >= 50
    assert names - covered == set(), "shapes without an invalid fixture"
    sparql_shapes = {shorten(s) for s in shapes.subjects(SH.sparql, None)}
    assert len(sparql_shapes) == 12
    sparql_covered = {shape for shape, comp, _ in expected
                      if comp == "sh:SPARQLConstraintComponent"}
    assert sparql_shapes - sparql_covered == set(), "SPARQL constraints without a fixture"


def test_every_fixture_names_an_existing_shape(context_kg):
    names = {shorten(s) for s in named_shapes(context_kg.shapes)}
    for path in INVALID:
        assert expectation(path)[0] in names, path.name


def test_every_node_shape_is_a_violation_with_messages(context_kg):
    """Hard rules say so, and every constraint carries a message a person can act on."""
    shapes = context_kg.shapes
    for shape in named_shapes(shapes):
        assert shapes.value(shape, SH.severity) == SH.Violation, shape
        for prop in shapes.objects(shape, SH.property):
            assert shapes.value(prop, SH.message) is not None, (shape, shapes.value(prop, SH.path))
        for constraint in shapes.objects(shape, SH.sparql):
            assert shapes.value(constraint, SH.message) is not None, shape
        if shapes.value(shape, SH.pattern) is not None:
            assert shapes.value(shape, SH.message) is not None, shape


def test_every_class_the_data_uses_has_a_shape(knowledge_graph):
    """Each rdf:type in the shipped data is a shape's sh:targetClass or a subclass of one."""
    from ikmkg.validation import validation_graph

    hierarchy = validation_graph(knowledge_graph)
    targets = set(knowledge_graph.shapes.objects(None, SH.targetClass))
    used = set(knowledge_graph.data.objects(None, RDF.type))
    assert len(used) >= 40
    uncovered = {c for c in used
                 if not targets & set(hierarchy.transitive_objects(c, RDFS.subClassOf))}
    assert uncovered == set()


def test_shipped_data_conforms(knowledge_graph):
    report = validate(knowledge_graph)
    assert report.conforms, report.text()


def test_validation_runs_under_the_canonical_base(settings):
    """A graph loaded under another --base-uri is checked as written (canonical IRIs)."""
    path = SHAPES_DIR / "invalid" / "province-iri.ttl"
    local = Settings(base_uri="http://127.0.0.1:8765/")
    rebased = kg_module.load(local, [CONTEXT, path])
    assert rebased.base_uri == "http://127.0.0.1:8765/"
    report = validate(rebased)
    assert result_keys(report) == {expectation(path)}
    assert report.violations[0].focus == "id:province/Uji_Coba"
    assert validate(kg_module.load(local, [CONTEXT])).conforms


@pytest.mark.parametrize("base_uri", [None, "http://127.0.0.1:8765/"])
def test_validation_never_changes_the_graph_it_is_given(settings, base_uri):
    """pySHACL adds axioms to the shapes graph it gets; what is published must stay exactly the
    files' triples (issue #14: `ikmkg dump` once wrote 2 statements more than the server)."""
    local = Settings(base_uri=base_uri) if base_uri else settings
    kg = kg_module.load(local, [CONTEXT])
    before = {name: set(graph) for name, graph in kg.graphs().items()}
    assert validate(kg).conforms
    assert {name: set(graph) for name, graph in kg.graphs().items()} == before

def test_text_report_groups_by_focus_with_file_path_value_and_shape(context_kg):
    path = SHAPES_DIR / "invalid" / "sentence-position-taken.ttl"
    text = validate(with_fixture(context_kg, path)).text()
    assert text.startswith("Does not conform: 2 result(s) on 2 focus node(s).")
    assert f"id:sentence/republika-2017-12-26-11  (in {CONTEXT}:{line_of(CONTEXT, '-11> a')})" in text
    assert f"id:sentence/republika-2017-12-26-12  (in {path}:{line_of(path, '-12> a')})" in text
    assert text.count("path: ikm:position") == 2
    assert 'value: "11"^^xsd:integer' in text
    assert "Position 11 is also taken by id:sentence/republika-2017-12-26-12" in text
    assert "shape: ikmsh:SentencePositionShape (sh:SPARQLConstraintComponent)" in text


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, start=1) if needle in line)


def test_subject_line_finds_full_relative_and_prefixed_iris(tmp_path):
    path = tmp_path / "x.ttl"
    path.write_text("@base <https://w3id.org/ikmkg/> .\n"
                    "@prefix province: <https://w3id.org/ikmkg/id/province/> .\n"
                    "\n"
                    "province:papua a <urn:x:C> .\n"
                    "<id/regency/dogiyai> a <urn:x:C> .\n"
                    "    <https://w3id.org/ikmkg/id/city/makassar>\n"
                    "        a <urn:x:C> .\n"
                    "province:papua-tengah a <urn:x:C> .\n", encoding="utf-8")
    iri = "https://w3id.org/ikmkg/id/"
    assert subject_line(path, URIRef(iri + "province/papua")) == 4
    assert subject_line(path, URIRef(iri + "regency/dogiyai")) == 5
    assert subject_line(path, URIRef(iri + "city/makassar")) == 6
    assert subject_line(path, URIRef(iri + "province/papua-tengah")) == 8
    assert subject_line(path, URIRef(iri + "province/aceh")) is None
    assert subject_line(tmp_path / "missing.ttl", URIRef(iri + "province/papua")) is None


def test_conforming_text_report(context_kg):
    assert validate(context_kg).text() == "Conforms: the data satisfies every shape.\n"


def test_json_report_round_trips(context_kg):
    path = SHAPES_DIR / "invalid" / "regency-no-territory.ttl"
    payload = json.loads(json.dumps(validate(with_fixture(context_kg, path)).to_json()))
    assert payload["conforms"] is False
    assert payload["results"] == 1
    [group] = payload["focus_nodes"]
    assert group["focus"] == "id:regency/uji-coba"
    assert group["file"] == str(path)
    assert group["line"] == line_of(path, "<id/regency/uji-coba> a")
    assert group["results"][0]["path"] == "^ikm:subdivision"
    assert group["results"][0]["shape"] == "ikmsh:RegencyShape"


def test_report_graph_is_a_shacl_report(context_kg):
    path = SHAPES_DIR / "invalid" / "code-iri-mismatch.ttl"
    graph = validate(with_fixture(context_kg, path)).graph
    [node] = list(graph.subjects(RDF.type, SH.ValidationReport))
    assert graph.value(node, SH.conforms) == Literal(False)
    [result] = list(graph.objects(node, SH.result))
    assert graph.value(result, SH.focusNode) == URIRef("https://w3id.org/ikmkg/id/code/bps-2023/95")


def test_broken_shapes_are_a_load_error(context_kg):
    shapes = Graph()
    for triple in context_kg.shapes:
        shapes.add(triple)
    shape = URIRef("https://w3id.org/ikmkg/shapes#Broken")
    shapes.add((shape, RDF.type, SH.NodeShape))
    shapes.add((shape, SH.targetNode, URIRef("https://w3id.org/ikmkg/id/x/y")))
    shapes.add((shape, SH.minCount, Literal("not a number")))
    broken = kg_module.KnowledgeGraph(context_kg.ontology, shapes, context_kg.data)
    with pytest.raises(DataError, match="shapes cannot be applied"):
        validate(broken)


@pytest.mark.parametrize("node,expected", [
    (URIRef("https://w3id.org/ikmkg/id/province/papua"), "id:province/papua"),
    (URIRef("https://w3id.org/ikmkg/ontology#site"), "ikm:site"),
    (URIRef("https://w3id.org/ikmkg/shapes#ProvinceShape"), "ikmsh:ProvinceShape"),
    (URIRef("http://www.w3.org/ns/shacl#Violation"), "sh:Violation"),
    (URIRef("http://example.org/x"), "<http://example.org/x>"),
    (Literal("94.06"), '"94.06"'),
    (Literal("Papua", lang="id"), '"Papua"@id'),
    (Literal("2017", datatype=XSD.gYear), '"2017"^^xsd:gYear'),
    (None, ""),
])
def test_shorten(node, expected):
    assert shorten(node) == expected


@pytest.mark.parametrize("text,expected", [
    ("lies in https://w3id.org/ikmkg/id/province/papua.", "lies in id:province/papua."),
    ("expected <https://w3id.org/ikmkg/id/code/bps-2023/96>.", "expected id:code/bps-2023/96."),
    ("must be https://w3id.org/ikmkg/id/province/{slug} here",
     "must be https://w3id.org/ikmkg/id/province/{slug} here"),
])
def test_shorten_text(text, expected):
    assert shorten_text(text) == expected


def test_query_cache_key_ignores_prefix_order():
    a = "PREFIX b: <urn:b>\nPREFIX a: <urn:a>\nSELECT * WHERE { ?s ?p ?o }"
    b = "PREFIX a: <urn:a>\nPREFIX b: <urn:b>\nSELECT * WHERE { ?s ?p ?o }"
    assert _canonical_prologue(a) == _canonical_prologue(b)
    assert _canonical_prologue(a).endswith("SELECT * WHERE { ?s ?p ?o }")
