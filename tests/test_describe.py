"""describe(): the RDF neighbourhood of a resource; the view model, lists and ontology docs.

Runs on the small fixture project in tests/data/pages (placeholder facts, one hostile label).
"""

from __future__ import annotations

import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, PROV, RDF, RDFS, SKOS, XSD

from ikmkg import describe as d
from ikmkg import lists, ontology_docs
from ikmkg.view import resource_view
from ikmkg import kg as kg_module
from ikmkg.settings import CANONICAL_BASE, Settings
from ikmkg.store import EmbeddedStore
from tests.conftest import TEST_DATA_DIR

FIXTURE_DIR = TEST_DATA_DIR / "pages"
BASE = CANONICAL_BASE
ID = BASE + "id/"
IKM = BASE + "ontology#"
PROVINCE = URIRef(ID + "province/jawa-timur")
ENGAGEMENT = URIRef(ID + "engagement/2013-2016--jawa-timur")
SENTENCE = URIRef(ID + "sentence/republika-2017-12-26-01")
ARTICLE = URIRef(ID + "article/republika-2017-12-26")
CODE = URIRef(ID + "code/iso-3166-2/ID-JI")


@pytest.fixture(scope="module")
def fixture_store() -> EmbeddedStore:
    return EmbeddedStore(kg_module.load(Settings(project_dir=str(FIXTURE_DIR))))


def href(iri: str) -> str | None:
    return "/doc/" + iri[len(ID):] if iri.startswith(ID) else ("/x" if iri.startswith(BASE) else None)


def test_describe_has_the_concise_bounded_description(fixture_store):
    graph = d.describe(fixture_store, str(ENGAGEMENT))
    assert (ENGAGEMENT, RDF.type, URIRef(IKM + "ProvinceEngagement")) in graph
    assert (ENGAGEMENT, URIRef(IKM + "province"), PROVINCE) in graph
    assert (ENGAGEMENT, URIRef(IKM + "statusYear"), Literal("2016", datatype=XSD.gYear)) in graph


def test_describe_labels_what_it_links_to_in_both_languages(fixture_store):
    graph = d.describe(fixture_store, str(ENGAGEMENT))
    assert (PROVINCE, RDFS.label, Literal("Test province", lang="en")) in graph
    assert (PROVINCE, RDFS.label, Literal("Provinsi uji", lang="id")) in graph
    # the predicates' and classes' labels come from the ontology
    assert (URIRef(IKM + "productFocus"), RDFS.label, Literal("fokus produk", lang="id")) in graph
    assert (URIRef(IKM + "ProvinceEngagement"), RDFS.label,
            Literal("Province engagement", lang="en")) in graph
    # but not the linked resources' other facts
    assert (PROVINCE, URIRef(IKM + "hasCode"), CODE) not in graph


def test_describe_includes_statements_pointing_at_it(fixture_store):
    graph = d.describe(fixture_store, str(PROVINCE))
    assert (ENGAGEMENT, URIRef(IKM + "province"), PROVINCE) in graph
    assert (ENGAGEMENT, RDFS.label, Literal("Test engagement", lang="en")) in graph


def test_describe_includes_provenance(fixture_store):
    graph = d.describe(fixture_store, str(ENGAGEMENT))
    assert (SENTENCE, RDF.value, Literal("Kalimat sumber uji nomor satu.", lang="id")) in graph
    assert (SENTENCE, URIRef(IKM + "saidBy"), URIRef(ID + "person/test-speaker")) in graph
    assert (URIRef(ID + "person/test-speaker"), FOAF.name, Literal("Test Speaker")) in graph
    assert (ARTICLE, DCTERMS.title, Literal("Judul artikel uji", lang="id")) in graph
    assert (ARTICLE, DCTERMS.issued, None) in graph


def test_codes_carry_their_notation_and_scheme(fixture_store):
    graph = d.describe(fixture_store, str(PROVINCE))
    assert (CODE, SKOS.notation, Literal("ID-JI")) in graph
    scheme = URIRef(ID + "code-scheme/iso-3166-2")
    assert (CODE, URIRef(IKM + "codeScheme"), scheme) in graph
    assert (scheme, RDFS.label, Literal("ISO 3166-2 (test)", lang="en")) in graph


def test_unknown_iri_gives_an_empty_graph(fixture_store):
    assert len(d.describe(fixture_store, ID + "province/atlantis")) == 0
    assert not d.exists(fixture_store, ID + "province/atlantis")
    assert d.exists(fixture_store, str(PROVINCE))


@pytest.mark.parametrize("iri", ["", "http://x/a b", "http://x/>} ; DROP", 'http://x/"', "http://x/{a}"])
def test_iris_that_could_break_a_query_are_refused(fixture_store, iri):
    with pytest.raises(ValueError):
        d.describe(fixture_store, iri)


@pytest.mark.parametrize("lang,kept,dropped", [
    ("en", Literal("Test province", lang="en"), Literal("Provinsi uji", lang="id")),
    ("id", Literal("Provinsi uji", lang="id"), Literal("Test province", lang="en")),
])
def test_filter_language_keeps_the_reader_language(fixture_store, lang, kept, dropped):
    graph = d.filter_language(d.describe(fixture_store, str(PROVINCE)), lang)
    assert (PROVINCE, RDFS.label, kept) in graph
    assert (PROVINCE, RDFS.label, dropped) not in graph


def test_filter_language_falls_back_and_keeps_untagged(fixture_store):
    graph = d.filter_language(d.describe(fixture_store, str(ENGAGEMENT)), "en")
    # the article's title exists only in Indonesian: the fallback keeps it
    assert (ARTICLE, DCTERMS.title, Literal("Judul artikel uji", lang="id")) in graph
    assert (URIRef(ID + "person/test-speaker"), FOAF.name, Literal("Test Speaker")) in graph


def test_language_order_is_stated():
    assert d.language_order("en") == ("en", "id", "")
    assert d.language_order("id") == ("id", "en", "")


@pytest.mark.parametrize("lang,label,group_title", [
    ("en", "Test engagement", "Relations"), ("id", "Keterlibatan uji", "Hubungan")])
def test_resource_view_in_the_reader_language(fixture_store, lang, label, group_title):
    graph = d.describe(fixture_store, str(ENGAGEMENT))
    view = resource_view(graph, str(ENGAGEMENT), lang=lang, base_uri=BASE, href=href)
    assert view.label == label
    relations = next(g for g in view.groups if g.key == "relations")
    assert relations.title == group_title
    province_row = next(r for r in relations.rows if r.predicate.iri == IKM + "province")
    assert province_row.values[0].href == "/doc/province/jawa-timur"
    assert province_row.values[0].kind == "internal"
    assert [t.iri for t in view.types] == [IKM + "ProvinceEngagement"]


def test_resource_view_provenance_quotes_the_sentence(fixture_store):
    graph = d.describe(fixture_store, str(ENGAGEMENT))
    view = resource_view(graph, str(ENGAGEMENT), lang="en", base_uri=BASE, href=href)
    [item] = view.provenance
    assert item.text == "Kalimat sumber uji nomor satu."
    assert item.lang == "id"
    assert item.title == "Judul artikel uji"
    assert item.date == "2017-12-26"
    assert item.speaker is not None and item.speaker.text == "Test speaker"
    assert item.position == "1"


def test_resource_view_codes_external_links_and_referenced_by(fixture_store):
    graph = d.describe(fixture_store, str(PROVINCE))
    view = resource_view(graph, str(PROVINCE), lang="en", base_uri=BASE, href=href)
    [code] = view.codes
    assert (code.kind, code.text, code.note) == ("code", "ID-JI", "ISO 3166-2 (test)")
    [row] = view.referenced_by
    assert row.predicate.iri == IKM + "province"
    assert [v.iri for v in row.values] == [str(ENGAGEMENT)]
    assert view.description == "Test province description."

    country = URIRef(ID + "country/indonesia")
    graph = d.describe(fixture_store, str(country))
    view = resource_view(graph, str(country), lang="en", base_uri=BASE, href=href)
    wikidata = [v for g in view.groups for r in g.rows for v in r.values if v.kind == "external"]
    assert [(v.text, v.href) for v in wikidata] == [
        ("Wikidata Q252", "http://www.wikidata.org/entity/Q252")]


def test_type_counts_and_lists(fixture_store):
    assert lists.type_counts(fixture_store)["province"] == (2, [URIRef(IKM + "Province")])
    listed = [str(s) for s, _ in lists.list_resources(fixture_store, "province")]
    assert listed == [ID + "province/hostile", str(PROVINCE)]
    assert lists.list_resources(fixture_store, "../etc") == []
    related = lists.list_related(fixture_store, [PROVINCE, URIRef(ID + "province/hostile")])
    assert (ENGAGEMENT, URIRef(IKM + "province"), PROVINCE) in related


def test_ontology_doc_joins_terms_to_shapes_and_data(fixture_store):
    doc = ontology_docs.ontology_doc(fixture_store, lang="id", href=href)
    classes = {c.anchor: c for c in doc.classes}
    province = classes["Province"]
    assert province.labels == {"en": "Province", "id": "Provinsi"}
    assert province.definition == "Wilayah tingkat pertama."
    assert province.count == 2
    assert [p.iri for p in province.parents] == [IKM + "Place"]
    assert [s.anchor for s in province.shapes] == ["ProvinceShape"]
    assert len(province.examples) == 2
    assert f"?item a <{IKM}Province>" in province.query
    assert classes["Unused"].count == 0
    assert [c.iri for c in classes["Place"].children] == [IKM + "Country", IKM + "Province"]
    properties = {p.anchor: p for p in doc.properties}
    province_property = properties["province"]
    assert province_property.count == 1
    [shape] = province_property.shapes
    assert shape.anchor == "EngagementShape"
    assert {c.name for c in shape.constraints} == {"min", "max", "class"}
    status_shape = next(p for s in doc.shapes for p in s.properties
                        if p.path and p.path.iri == IKM + "status")
    [one_of] = status_shape.constraints
    assert [v.iri for v in one_of.values] == [ID + "status/completed", ID + "status/ongoing"]


def test_describe_follows_the_published_base():
    store = EmbeddedStore(kg_module.load(Settings(project_dir=str(FIXTURE_DIR),
                                                  base_uri="http://127.0.0.1:9/kg/")))
    iri = "http://127.0.0.1:9/kg/id/province/jawa-timur"
    graph = d.describe(store, iri)
    assert (URIRef(iri), RDF.type, URIRef("http://127.0.0.1:9/kg/ontology#Province")) in graph
    view = resource_view(graph, iri, lang="en", base_uri=store.base_uri,
                           href=lambda i: i if i.startswith(store.base_uri) else None)
    assert view.codes[0].note == "ISO 3166-2 (test)"
    assert view.types[0].kind == "internal"


def test_derived_from_is_grouped_as_provenance(fixture_store):
    graph = d.describe(fixture_store, str(ENGAGEMENT))
    view = resource_view(graph, str(ENGAGEMENT), lang="en", base_uri=BASE, href=href)
    provenance = next(g for g in view.groups if g.key == "provenance")
    assert {r.predicate.iri for r in provenance.rows} == {str(PROV.wasDerivedFrom),
                                                          str(PROV.hadPrimarySource)}


def test_reference_table_notes_are_provenance_not_the_description(store):
    """A reference table's `note` (about the row's identifiers and sources) is stated as
    skos:editorialNote and shown with the provenance, never as what the resource is."""
    iri = ID + "province/jawa-timur"
    graph = d.describe(store, iri)
    notes = list(graph.objects(URIRef(iri), SKOS.editorialNote))
    assert notes and not list(graph.objects(URIRef(iri), RDFS.comment))
    view = resource_view(graph, iri, lang="en", base_uri=BASE, href=href)
    assert view.description is None
    provenance = next(g for g in view.groups if g.key == "provenance")
    row = next(r for r in provenance.rows if r.predicate.iri == str(SKOS.editorialNote))
    assert row.predicate.text == "reference-table note"
    assert [v.text for v in row.values] == [str(n) for n in notes]


@pytest.mark.parametrize("lang,page,inverse,wrong", [
    ("en", "province/papua", "split into", "formed from"),
    ("id", "province/papua", "dimekarkan menjadi", "dimekarkan dari"),
    ("en", "province/papua-tengah", "parent area of", "parent area"),
    ("id", "province/papua-tengah", "wilayah induk dari", "wilayah induk"),
    ("en", "regency/dogiyai", "subdivision of", "subdivision"),
    ("id", "regency/dogiyai", "wilayah bagian dari", "wilayah bagian"),
])
def test_referenced_by_reads_from_the_page_side(store, knowledge_graph, lang, page, inverse,
                                                wrong):
    """Issue #17: Papua was not "formed from" Central Papua; an incoming link is labelled with
    the inverse property's label, or "X of"."""
    iri = ID + page
    view = resource_view(d.describe(store, iri), iri, lang=lang, base_uri=BASE, href=href,
                         ontology=knowledge_graph.ontology)
    labels = [row.predicate.text for row in view.referenced_by]
    assert inverse in labels
    assert wrong not in labels


def test_referenced_by_uses_the_declared_inverse(fixture_store):
    from rdflib import Graph
    from ikmkg.view import Labeller

    ontology = Graph().parse(data=f"""
        @prefix owl: <http://www.w3.org/2002/07/owl#> .
        @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        <{IKM}hasPhase> owl:inverseOf <{IKM}phaseOf> .
        <{IKM}phaseOf> rdfs:label "phase of"@en , "fase dari"@id .
        <{IKM}hasPhase> rdfs:label "has phase"@en , "memiliki fase"@id .""", format="turtle")
    for lang, hasphase, phaseof in (("en", "phase of", "has phase"),
                                    ("id", "fase dari", "memiliki fase")):
        labeller = Labeller(ontology, lang, BASE, href)
        assert labeller.inverse_label(URIRef(IKM + "hasPhase")) == hasphase
        assert labeller.inverse_label(URIRef(IKM + "phaseOf")) == phaseof
