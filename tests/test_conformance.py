"""The fast SHACL conformance check (ikmkg.conformance) against pySHACL, and its refusals.

The fast check decides whether a large graph is published (ikmkg.publish.published_graph), so it
must give exactly pySHACL's results: the same (focus node, shape, constraint component, path,
value) set on every fixture of tests/data/shapes (each invalid case, each valid case, run with
context.ttl as test_validation does), on the shipped data, and on the benchmark's synthetic
data and shapes (valid, and with one broken entity per constraint). Anything it does not
implement it must refuse (Unsupported), never skip; the app then validates with pySHACL.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from conftest import SPARQL_PROJECT
from rdflib import BNode, Graph, URIRef
from rdflib.namespace import SH
from rdflib.namespace._SH import SH as SH_TERMS

from ikmkg import publish
from ikmkg import conformance
from ikmkg import kg as kg_module
from ikmkg import shape_compiler
from ikmkg.errors import DataError
from ikmkg.settings import Settings
from ikmkg.shape_compiler import compile_shapes
from ikmkg.terms import to_rdflib
from ikmkg.validation import ValidationReport, check_conformance, shorten, validate

SHAPES_DIR = Path(__file__).parent / "data" / "shapes"
CONTEXT = SHAPES_DIR / "context.ttl"
CASES = sorted((SHAPES_DIR / "invalid").glob("*.ttl")) + sorted((SHAPES_DIR / "valid").glob("*.ttl"))
ROOT = Path(__file__).resolve().parent.parent


def _label(node) -> str:
    # blank node labels differ between the two parsers: only "a blank node" can be compared
    return "_:b" if isinstance(node, BNode) or str(node).startswith("_:") else str(node)


def pyshacl_keys(report: ValidationReport) -> set[tuple[str, ...]]:
    return {(_label(v.focus), v.shape, v.component, v.path, _label(v.value))
            for v in report.violations}


def fast_keys(results: list[conformance.Result]) -> set[tuple[str, ...]]:
    keys = set()
    for r in results:
        component = r.component
        if component == SH.SPARQLConstraintComponent and isinstance(r.constraint, URIRef):
            component = r.constraint
        path = ("^" if r.inverse else "") + shorten(r.path)
        keys.add((_label(shorten(r.focus)), shorten(r.owner), shorten(component), path,
                  _label(shorten(r.value))))
    return keys


def both(settings: Settings, files: list[Path] | None) -> tuple[set, set, bool, bool]:
    """(fast keys, pySHACL keys, fast conforms, pySHACL conforms) for the same files.

    Literals that rdflib and the store write differently make the app skip the fast check
    (tested below); here the check runs regardless, to compare everything else."""
    graph = kg_module.load_oxigraph(settings, files)
    graph.doubts.clear()
    results = check_conformance(graph)
    report = validate(kg_module.load(settings, files))
    return fast_keys(results), pyshacl_keys(report), conformance.conforms(results), \
        report.conforms


def test_case_count():
    assert len(CASES) == 122 + 8


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.stem}" for p in CASES])
def test_same_results_as_pyshacl_on_fixture(settings, path):
    fast, slow, fast_ok, slow_ok = both(settings, [CONTEXT, path])
    assert fast == slow
    assert fast_ok == slow_ok == (path.parent.name == "valid")
    if path.parent.name == "invalid":  # and the results are the fixture's, not just equal
        expected = path.read_text(encoding="utf-8").splitlines()[0].split()[2:]
        assert {(shape, comp, p) for _, shape, comp, p, _ in fast} == {
            (expected[0], expected[1], expected[2] if len(expected) == 3 else "")}


def test_same_results_as_pyshacl_on_shipped_data(settings):
    fast, slow, fast_ok, slow_ok = both(settings, None)
    assert fast == slow == set()
    assert fast_ok and slow_ok


@pytest.fixture(scope="module")
def bench_project(tmp_path_factory) -> Path:
    sys.path.insert(0, str(ROOT / "bench"))
    from generate import generate

    return generate(tmp_path_factory.mktemp("bench") / "project", 3000)


#: One broken entity per constraint of bench/shapes.ttl (appended to the synthetic data).
BENCH_BREAKAGE = """
@prefix ikm: <https://w3id.org/ikmkg/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix id: <https://w3id.org/ikmkg/id/> .
id:enterprise\\/broken-1 a ikm:Enterprise ;
    rdfs:label "UD Satu"@id , "One"@en , "Un"@fr ;
    ikm:location id:province\\/synthetic-01 ;
    ikm:province id:province\\/synthetic-01 , id:province\\/synthetic-02 ;
    ikm:product id:product\\/synthetic-01-1 ;
    ikm:workerCount "0"^^xsd:decimal ; ikm:status "done" .
id:enterprise\\/broken-2 a ikm:Enterprise ;
    rdfs:label "UD Dua"@id , "Two" ;
    ikm:location id:regency\\/synthetic-001 ; ikm:province id:province\\/synthetic-01 ;
    ikm:product id:regency\\/synthetic-001 ; ikm:workerCount "many"^^xsd:decimal , 5.5 .
id:enterprise\\/broken-3 a ikm:Enterprise ; rdfs:label "UD Tiga"@id , "UD Tiga Lagi"@id .
id:territory\\/broken a ikm:TerritorialAssignment ; ikm:subdivision id:province\\/synthetic-01 ;
    ikm:validFrom "2000"^^xsd:gYear , "2001-01-01"^^xsd:date .
id:engagement\\/broken a ikm:ProvinceEngagement ; ikm:statusYear "2017" .
id:product\\/broken a ikm:ProductCategory ;
    skos:broader id:product\\/synthetic-01 , id:province\\/synthetic-01 .
"""


@pytest.mark.parametrize("broken", [False, True], ids=["valid", "broken"])
def test_same_results_as_pyshacl_on_bench_data(bench_project, tmp_path, broken):
    project = tmp_path / "project"
    shutil.copytree(bench_project, project)
    if broken:
        (project / "data" / "broken.ttl").write_text(BENCH_BREAKAGE, encoding="utf-8")
    fast, slow, fast_ok, slow_ok = both(Settings(project_dir=str(project)), None)
    assert fast == slow
    assert fast_ok == slow_ok == (not broken)
    if broken:  # every kind of constraint of the bench shapes is exercised
        assert {comp for _, _, comp, _, _ in fast} == {
            f"sh:{name}ConstraintComponent" for name in (
                "MinCount", "MaxCount", "Class", "Datatype", "LanguageIn", "UniqueLang",
                "MinInclusive", "NodeKind")}


# --- refusals: never skip a constraint ------------------------------------------------------

PREFIXES = """@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
"""

REFUSED = {
    "closed": "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:closed true .",
    "node": "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:node ex:T . ex:T sh:class ex:D .",
    "not": "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:not [ sh:class ex:D ] .",
    "and": "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:and ( [ sh:class ex:D ] ) .",
    "min length": "ex:S sh:targetClass ex:C ; sh:property [ sh:path ex:p ; sh:minLength 2 ] .",
    "equals": "ex:S sh:targetClass ex:C ; sh:property [ sh:path ex:p ; sh:equals ex:q ] .",
    "sequence path": "ex:S sh:targetClass ex:C ; sh:property [ sh:path ( ex:p ex:q ) ; "
                     "sh:minCount 1 ] .",
    "alternative path": "ex:S sh:targetClass ex:C ; sh:property [ sh:path [ sh:alternativePath "
                        "( ex:p ex:q ) ] ; sh:minCount 1 ] .",
    "zero or more path": "ex:S sh:targetClass ex:C ; sh:property [ sh:path [ "
                         "sh:zeroOrMorePath ex:p ] ; sh:minCount 1 ] .",
    "implicit class target": "ex:S a sh:NodeShape , rdfs:Class ; sh:targetNode ex:x ; "
                             "sh:class ex:D .",
    "SPARQL target": "ex:S sh:target [ a sh:SPARQLTarget ; sh:select 'SELECT ?this {}' ] .",
    "custom component": "ex:K a sh:ConstraintComponent ; sh:parameter [ sh:path ex:k ] .",
    "datatype rdfs:Literal": "ex:S sh:targetClass ex:C ; sh:property [ sh:path ex:p ; "
                             "sh:datatype rdfs:Literal ] .",
    "language wildcard": "ex:S sh:targetClass ex:C ; sh:property [ sh:path ex:p ; "
                         "sh:languageIn ( '*' ) ] .",
    "regex class escape": "ex:S sh:targetClass ex:C ; sh:property [ sh:path ex:p ; "
                          "sh:pattern '^\\\\d+$' ] .",
    "regex look-ahead": "ex:S sh:targetClass ex:C ; sh:property [ sh:path ex:p ; "
                        "sh:pattern '^(?=a)' ] .",
    "regex POSIX class": "ex:S sh:targetClass ex:C ; sh:property [ sh:path ex:p ; "
                         "sh:pattern '^[[:alpha:]]+$' ] .",
    "disjoint qualified": "ex:S sh:targetClass ex:C ; sh:property [ sh:path ex:p ; "
                          "sh:qualifiedValueShape [ sh:class ex:D ] ; sh:qualifiedMinCount 1 ; "
                          "sh:qualifiedValueShapesDisjoint true ] .",
    "nested count above 1": "ex:S sh:targetClass ex:C ; sh:or ( [ sh:path ex:p ; "
                            "sh:minCount 2 ] ) .",
    "count not a number": "ex:S sh:targetClass ex:C ; sh:property [ sh:path ex:p ; "
                          "sh:minCount 'two' ] .",
    "owl:imports": "<http://example.org/shapes> owl:imports <http://example.org/more> .",
    "SPARQL MINUS": "ex:S sh:targetClass ex:C ; sh:sparql [ sh:select "
                    "'SELECT $this WHERE { $this ex:p ?o MINUS { $this ex:q ?o } }' ] .",
    "SPARQL sub-select": "ex:S sh:targetClass ex:C ; sh:sparql [ sh:select "
                         "'SELECT $this WHERE { $this ex:p ?o { SELECT ?o WHERE { ?o ex:q ?z } } }' ] .",
    "SPARQL aggregate": "ex:S sh:targetClass ex:C ; sh:sparql [ sh:select "
                        "'SELECT $this (COUNT(?o) AS ?n) WHERE { $this ex:p ?o } GROUP BY $this' ] .",
    "SPARQL $PATH": "ex:S sh:targetClass ex:C ; sh:sparql [ sh:select "
                    "'SELECT $this WHERE { $this $PATH ?o }' ] .",
    "SPARQL this not first": "ex:S sh:targetClass ex:C ; sh:sparql [ sh:select "
                             "'SELECT $this WHERE { ?o ex:p $this }' ] .",
    "SPARQL this not projected": "ex:S sh:targetClass ex:C ; sh:sparql [ sh:select "
                                 "'SELECT ?o WHERE { $this ex:p ?o }' ] .",
    "SPARQL ASK validator": "ex:S sh:targetClass ex:C ; sh:sparql [ sh:ask 'ASK {}' ] .",
    "SPARQL on a property shape": "ex:S sh:targetClass ex:C ; sh:property [ sh:path ex:p ; "
                                  "sh:sparql [ sh:select 'SELECT $this WHERE { $this ex:p ?o }' ] ] .",
}


@pytest.mark.parametrize("turtle", REFUSED.values(), ids=REFUSED.keys())
def test_unimplemented_feature_is_refused(turtle):
    shapes = Graph().parse(data=PREFIXES + turtle, format="turtle")
    with pytest.raises(conformance.Unsupported):
        compile_shapes(shapes)


#: SHACL terms the compiler reads (or that carry no constraint), so may appear on a shape.
READ = {t.removeprefix(str(SH)) for t in shape_compiler.HANDLED | shape_compiler.IGNORED}


SHACL_PROPERTIES = sorted(t for t in [*SH_TERMS.__annotations__, *SH_TERMS._extras]
                          if t[0].islower() and "-" not in t)


def test_the_shacl_vocabulary_is_all_there():
    assert len(SHACL_PROPERTIES) > 90 and {"class", "in", "not", "minLength"} <= set(
        SHACL_PROPERTIES)


@pytest.mark.parametrize("term", [t for t in SHACL_PROPERTIES if t not in READ])
def test_every_other_shacl_term_on_a_shape_is_refused(term):
    """A future shape using any SHACL parameter the compiler does not read cannot be skipped:
    every sh: property of the SHACL vocabulary but the ones it reads is refused on a shape."""
    shapes = Graph().parse(data=PREFIXES + f"ex:S sh:targetClass ex:C ; sh:{term} ex:o .",
                           format="turtle")
    with pytest.raises(conformance.Unsupported):
        compile_shapes(shapes)


def test_the_shipped_and_bench_shapes_compile():
    for path in (ROOT / "ontology" / "shapes.ttl", ROOT / "bench" / "shapes.ttl"):
        checker = compile_shapes(Graph().parse(path))
        assert checker.constraints
    assert len(compile_shapes(Graph().parse(ROOT / "ontology" / "shapes.ttl"))
               .sparql) == 12


@pytest.mark.parametrize("literal,doubt", [
    ('"1.50"^^xsd:decimal', True),  # rdflib keeps "1.50", the store holds "1.5"
    ("1.50", True),
    ('"007"^^xsd:integer', False),  # both read "7"
    ('"2017"^^xsd:gYear', False),
])
def test_literals_written_differently_are_left_to_pyshacl(settings, tmp_path, literal, doubt):
    """Where rdflib and the store hold a literal in different lexical forms, a pattern or a
    SPARQL STR() could see another string in pySHACL: only pySHACL can say what it reports."""
    path = tmp_path / "odd.ttl"
    path.write_text("@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
                    "<https://w3id.org/ikmkg/id/x/y> <https://w3id.org/ikmkg/ontology#v> "
                    f"{literal} .\n", encoding="utf-8")
    graph = kg_module.load_oxigraph(settings, [CONTEXT, path])
    assert bool(graph.doubts) == doubt
    if doubt:
        with pytest.raises(conformance.Unsupported, match="1.50"):
            check_conformance(graph)


@pytest.mark.parametrize("text", ['<urn:x:a> <urn:x:p> "a"^^<http://www.w3.org/2001/XMLSchema#string> .',
                                  '<urn:x:a> <urn:x:p> "a"@EN .'])
def test_literals_rdflib_reads_apart_are_left_to_pyshacl(settings, tmp_path, text):
    path = tmp_path / "odd.ttl"
    path.write_text(text + "\n", encoding="utf-8")
    graph = kg_module.load_oxigraph(settings, [CONTEXT, path])
    assert graph.doubts
    with pytest.raises(conformance.Unsupported):
        check_conformance(graph)


# --- the server's cold start on the fast path --------------------------------------------------

@pytest.fixture
def fast_always(monkeypatch):
    """The fast check even for the small test projects."""
    monkeypatch.setattr(publish, "FAST_CHECK_FROM", 0)


@pytest.mark.parametrize("base_uri", [None, "http://localhost:9/kg/"])
def test_fast_path_publishes_what_the_rdflib_path_does(fast_always, tmp_path, base_uri):
    import pyoxigraph as ox

    from ikmkg.store import build_store_dir

    settings = Settings(project_dir=str(SPARQL_PROJECT), **({"base_uri": base_uri} if base_uri
                                                            else {}))
    fast = publish.published_graph(settings)
    assert isinstance(fast, kg_module.OxigraphGraph)
    slow = kg_module.load(settings)
    assert (fast.base_uri, fast.content_hash) == (slow.base_uri, slow.content_hash)
    stores = []
    for name, graph in (("fast", fast), ("slow", slow)):
        build_store_dir(graph, tmp_path / name)
        stores.append(ox.Store.read_only(str(tmp_path / name / "db")))
    for name in kg_module.GRAPH_NAMES:
        graphs = []
        for store in stores:
            g = Graph()
            iri = ox.NamedNode(str(kg_module.graph_iri(slow.base_uri, name)))
            for q in store.quads_for_pattern(None, None, None, iri):
                g.add(tuple(to_rdflib(t) for t in (q.subject, q.predicate, q.object)))
            graphs.append(g)
        from rdflib.compare import isomorphic

        assert len(graphs[0]) and isomorphic(*graphs), name
    assert len(stores[0]) == len(stores[1])
    # the N-Quads dump (what store_mode=memory/shared serve) holds the same quads as the db
    from ikmkg.store import DUMP

    dumped = {str(q) for q in ox.parse(path=str(tmp_path / "fast" / DUMP),
                                       format=ox.RdfFormat.N_QUADS)}
    assert dumped == {str(q) for q in stores[0]}


def test_fast_path_refuses_invalid_data_with_pyshacls_report(fast_always, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(SPARQL_PROJECT, project)
    (project / "data" / "bad.ttl").write_text(
        "<https://w3id.org/ikmkg/id/province/unlabelled> a "
        "<https://w3id.org/ikmkg/ontology#Province> .\n", encoding="utf-8")
    settings = Settings(project_dir=str(project))
    with pytest.raises(DataError) as raised:
        publish.published_graph(settings)
    report = validate(kg_module.load(settings))
    assert not report.conforms
    assert raised.value.message.endswith(report.text())


def test_fast_path_falls_back_to_pyshacl_on_an_unimplemented_shape(fast_always, tmp_path):
    """A shape the fast check cannot compile is still enforced (by pySHACL)."""
    project = tmp_path / "project"
    shutil.copytree(SPARQL_PROJECT, project)
    with open(project / "ontology" / "shapes.ttl", "a", encoding="utf-8") as f:
        f.write("\n<https://w3id.org/ikmkg/shapes#LongLabelShape> "
                "<http://www.w3.org/ns/shacl#targetSubjectsOf> "
                "<http://www.w3.org/2000/01/rdf-schema#label> ; "
                "<http://www.w3.org/ns/shacl#property> [ "
                "<http://www.w3.org/ns/shacl#path> <http://www.w3.org/2000/01/rdf-schema#label> ; "
                "<http://www.w3.org/ns/shacl#minLength> 1000 ] .\n")
    with pytest.raises(DataError, match="MinLengthConstraintComponent"):
        publish.published_graph(Settings(project_dir=str(project)))
