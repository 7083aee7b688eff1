"""The IKM DefinedNamespace and the ontology must define the same terms."""

from __future__ import annotations

from rdflib import Graph
from rdflib.namespace import OWL, RDF

from ikmkg.namespaces import IKM, bind_prefixes, prefixes
from ikmkg.settings import CANONICAL_BASE


def test_defined_namespace_matches_ontology(settings):
    ontology = Graph().parse(settings.ontology_dir / "ikm.ttl")
    ns = str(IKM._NS)
    defined = {
        str(s)[len(ns):]
        for kind in (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty)
        for s in ontology.subjects(RDF.type, kind)
        if str(s).startswith(ns)
    }
    listed = set(IKM.__annotations__)
    assert defined == listed, f"only in ontology: {defined - listed}; only in code: {listed - defined}"


def test_prefixes_follow_base():
    assert prefixes("http://127.0.0.1:5000/")["ikm"] == "http://127.0.0.1:5000/ontology#"
    assert prefixes()["ikm"] == CANONICAL_BASE + "ontology#"
    graph = bind_prefixes(Graph(), "http://example.test/")
    assert dict(graph.namespaces())["id"].toPython() == "http://example.test/id/"
