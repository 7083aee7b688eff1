"""The shipped data is true to its sources: verbatim sentences, provenance, labels, IRIs."""

from __future__ import annotations

import re

import pytest
from rdflib import URIRef
from rdflib.namespace import PROV, RDF, RDFS

from ikmkg.namespaces import IKM
from ikmkg.settings import CANONICAL_BASE

ARTICLE = URIRef(CANONICAL_BASE + "id/article/republika-2017-12-26")
IRI_PATTERN = re.compile(r"^" + re.escape(CANONICAL_BASE) + r"id/[a-z0-9-]+/[A-Za-z0-9-]+(/[A-Za-z0-9.-]+)?$")


def test_sentences_are_verbatim_and_numbered(data, article_text):
    sentences = list(data.subjects(RDF.type, IKM.SourceSentence))
    assert len(sentences) == 22
    positions = sorted(int(data.value(s, IKM.position)) for s in sentences)
    assert positions == list(range(1, 23))
    for s in sentences:
        assert str(data.value(s, RDF.value)) in article_text, s


@pytest.mark.parametrize("cls", [IKM.ProvinceEngagement, IKM.PostHolding, IKM.Study,
                                 IKM.Survey, IKM.Event, IKM.IndustryCentre])
def test_facts_point_to_sentences_and_article(data, cls):
    instances = list(data.subjects(RDF.type, cls))
    assert instances, f"no {cls} in the data"
    for fact in instances:
        sources = list(data.objects(fact, PROV.wasDerivedFrom))
        assert sources and all((s, RDF.type, IKM.SourceSentence) in data for s in sources), fact
        assert (fact, PROV.hadPrimarySource, ARTICLE) in data, fact


def test_every_subject_iri_follows_the_pattern(data):
    for s in set(data.subjects()):
        if isinstance(s, URIRef) and s.startswith(CANONICAL_BASE):
            assert IRI_PATTERN.match(s), s


def test_every_entity_has_labels_in_both_languages(data):
    for s in set(data.subjects(RDF.type)):
        if isinstance(s, URIRef) and s.startswith(CANONICAL_BASE + "id/"):
            languages = {label.language for label in data.objects(s, RDFS.label)}
            assert {"id", "en"} <= languages, s


def test_no_dangling_links_under_the_base(data, knowledge_graph):
    """Every IRI under the base that a triple points to is described (so it dereferences)."""
    described = set(data.subjects()) | set(knowledge_graph.ontology.subjects())
    described.add(URIRef(CANONICAL_BASE + "ontology"))
    for o in set(data.objects()):
        if isinstance(o, URIRef) and o.startswith(CANONICAL_BASE):
            assert o in described, f"{o} is linked to but never described"
