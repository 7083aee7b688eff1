"""Documentation of the ontology joined to the data: every class, property and SHACL shape with
its labels, hierarchy, constraints, how often the published graph uses it, examples, and a
ready-made query. The view model of the /ontology page.

The page is one document (the terms are hash IRIs of `{base}ontology`), so it is kept compact:
a term's card names the shapes that constrain it and links to them instead of repeating them,
SPARQL (a SHACL-SPARQL constraint, a term's ready-made query) is code, not prose, and a query
declares only the prefixes it uses.
"""

from __future__ import annotations

import dataclasses
import re
import textwrap
from collections.abc import Callable

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SH, SKOS
from rdflib.term import Node

from ikmkg.describe import labels_of, named_graph
from ikmkg.kg import graph_iri
from ikmkg.lists import class_counts, property_counts
from ikmkg.namespaces import prefixes
from ikmkg.store import Store
from ikmkg.view import Labeller, PropertyRow, Value, value_key

@dataclasses.dataclass
class Constraint:
    name: str
    values: list[Value]
    code: str | None = None  # a SHACL-SPARQL constraint's query, shown as a code block


@dataclasses.dataclass
class ShapeDoc:
    shape: Value
    anchor: str
    targets: list[Value]
    path: Value | None  # for a property shape: what it constrains
    constraints: list[Constraint]
    properties: list[ShapeDoc]


@dataclasses.dataclass
class TermDoc:
    iri: str
    anchor: str
    qname: str
    kinds: list[Value]
    label: str
    labels: dict[str, str]  # language -> label
    definition: str | None
    comment: str | None
    parents: list[Value]
    children: list[Value]
    domain: list[Value]
    range: list[Value]
    shapes: list[ShapeDoc]
    count: int
    examples: list[Value]
    query: str


@dataclasses.dataclass
class OntologyDoc:
    iri: str
    title: str
    description: str | None
    metadata: list[PropertyRow]
    classes: list[TermDoc]
    properties: list[TermDoc]
    shapes: list[ShapeDoc]
    shapes_iri: str = ""
    shapes_title: str | None = None
    shapes_description: str | None = None


#: What a term's card repeats of the constraints on it (the shapes section shows them all).
CARD_CONSTRAINTS = ("class", "datatype", "node kind", "one of", "pattern", "min", "max")

#: SHACL parameters by the name the page shows (in the reader's language as UI["shacl_" + name]).
_SHAPE_KEYS = {
    SH.minCount: "min", SH.maxCount: "max", SH.datatype: "datatype", SH["class"]: "class",
    SH.nodeKind: "node kind", SH["in"]: "one of", SH.pattern: "pattern", SH.node: "node",
    SH.hasValue: "has value", SH.minInclusive: "≥", SH.maxInclusive: "≤",
    SH.languageIn: "languages", SH.uniqueLang: "unique language", SH.severity: "severity",
    SH.message: "message", SH["or"]: "or", SH.qualifiedValueShape: "qualified shape",
    SH.qualifiedMinCount: "qualified min", SH.qualifiedMaxCount: "qualified max",
    SH.sparql: "SPARQL constraint", SH.closed: "closed", SH.minLength: "min length",
    SH.maxLength: "max length", SH.equals: "equals", SH.disjoint: "disjoint",
    SH.lessThan: "less than",
}


def anchor_of(iri: str) -> str:
    """The fragment (or last path segment) of a term: its anchor on the documentation page."""
    tail = re.split(r"[#/]", iri)[-1]
    return re.sub(r"[^A-Za-z0-9_.-]", "-", tail) or "term"


def _list_items(graph: Graph, node: Node) -> list[Node]:
    try:
        return list(graph.items(node))
    except (ValueError, RecursionError):  # not a well-formed RDF list: show it as one node
        return [node]


def _constraint_values(graph: Graph, obj: Node, labeller: Labeller) -> list[Value]:
    if isinstance(obj, BNode) and (obj, RDF.first, None) in graph:
        return [labeller.value(item) for item in _list_items(graph, obj)]
    if isinstance(obj, BNode):
        nested = [f"{labeller.qname(p)} {labeller.label(o)}" for p, o in graph.predicate_objects(obj)]
        return [Value(text="; ".join(sorted(nested)) or "(blank node)", kind="literal")]
    return [labeller.value(obj)]


def _sparql_constraints(shapes: Graph, shape: Node, labeller: Labeller) -> list[Constraint]:
    """Each sh:sparql of `shape`: its message as the value, its SELECT as code."""
    found = []
    for node in shapes.objects(shape, SH.sparql):
        select = shapes.value(node, SH.select)
        messages = [labeller.value(m) for m in shapes.objects(node, SH.message)]
        code = textwrap.dedent(str(select)).strip() if select is not None else None
        found.append(Constraint(_SHAPE_KEYS[SH.sparql], messages, code))
    return found


def _shape_doc(shapes: Graph, shape: Node, labeller: Labeller) -> ShapeDoc:
    constraints = []
    for p in sorted(set(shapes.predicates(shape)), key=str):
        if p == SH.sparql:
            constraints += _sparql_constraints(shapes, shape, labeller)
        elif p == SH.severity and set(shapes.objects(shape, p)) == {SH.Violation}:
            continue  # SHACL's default severity: saying it on every shape is noise
        elif p in _SHAPE_KEYS:
            values = [v for o in shapes.objects(shape, p)
                      for v in _constraint_values(shapes, o, labeller)]
            constraints.append(Constraint(_SHAPE_KEYS[p], values))
    properties = [_shape_doc(shapes, ps, labeller) for ps in shapes.objects(shape, SH.property)]
    path = shapes.value(shape, SH.path)
    return ShapeDoc(
        shape=labeller.value(shape),
        anchor=anchor_of(str(shape)) if isinstance(shape, URIRef) else "",
        targets=[labeller.value(t) for t in shapes.objects(shape, SH.targetClass)],
        path=(None if path is None else _constraint_values(shapes, path, labeller)[0]),
        constraints=constraints,
        properties=sorted(properties, key=lambda d: d.path.text if d.path else ""),
    )


def _examples(store: Store, term: URIRef, is_class: bool, limit: int = 3) -> list[URIRef]:
    pattern = f"?s a <{term}>" if is_class else f"?s <{term}> ?o"
    # No ORDER BY: sorting every instance of a large class costs seconds on a big graph.
    data = graph_iri(store.base_uri, "data")
    rows = store.select(f"SELECT DISTINCT ?s WHERE {{ GRAPH <{data}> {{ {pattern} "
                        f"}} FILTER(isIRI(?s)) }} LIMIT {limit}")
    return sorted(row["s"] for row in rows)


def term_query(base_uri: str, term: str, is_class: bool, lang: str) -> str:
    """A ready-made SPARQL query listing the instances of a class or the uses of a property
    (declaring only the prefix it uses: one link per term, on a page of some 170 terms)."""
    pattern = (f"?item a <{term}> ." if is_class else f"?item <{term}> ?value .")
    select = "?item ?label" if is_class else "?item ?label ?value"
    return (f"PREFIX rdfs: <{prefixes(base_uri)['rdfs']}>\n"
            f"SELECT {select} WHERE {{\n  {pattern}\n"
            f'  OPTIONAL {{ ?item rdfs:label ?label FILTER(langMatches(lang(?label), "{lang}")) }}\n'
            "}\nORDER BY ?item\nLIMIT 100\n")


def ontology_doc(store: Store, *, lang: str, href: Callable[[str], str | None]) -> OntologyDoc:
    """Documentation of every class, property and shape, joined to counts from the data."""
    base = store.base_uri
    ontology = named_graph(store, "ontology")
    shapes = named_graph(store, "shapes")
    classes = class_counts(store)
    props = property_counts(store)
    ontology_iri = URIRef(f"{base}ontology")
    class_terms = {s for s in ontology.subjects(RDF.type, OWL.Class) if isinstance(s, URIRef)}
    class_terms |= {s for s in ontology.subjects(RDF.type, RDFS.Class) if isinstance(s, URIRef)}
    prop_terms = {s for t in (OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty,
                              RDF.Property)
                  for s in ontology.subjects(RDF.type, t) if isinstance(s, URIRef)}
    own = f"{base}ontology#"
    examples = {t: _examples(store, t, True) for t in class_terms if classes.get(t)}
    examples |= {t: _examples(store, t, False) for t in prop_terms if props.get(t)}
    labels = labels_of(store, [n for found in examples.values() for n in found])
    labels += shapes
    labeller = Labeller(labels, lang, base, href, extra=ontology)

    shape_docs = sorted((_shape_doc(shapes, s, labeller)
                         for s in set(shapes.subjects(RDF.type, SH.NodeShape))
                         if isinstance(s, URIRef)), key=lambda d: d.anchor)
    shapes_by_target: dict[Node, list[ShapeDoc]] = {}
    for doc in shape_docs:
        for target in shapes.objects(URIRef(doc.shape.iri), SH.targetClass):
            shapes_by_target.setdefault(target, []).append(doc)
    shapes_by_path: dict[Node, list[ShapeDoc]] = {}
    for doc in shape_docs:
        for prop in doc.properties:
            if prop.path is not None and prop.path.iri:
                shapes_by_path.setdefault(URIRef(prop.path.iri), []).append(
                    dataclasses.replace(prop, shape=doc.shape, anchor=doc.anchor))

    def term_doc(term: URIRef, is_class: bool) -> TermDoc:
        parent_p = RDFS.subClassOf if is_class else RDFS.subPropertyOf
        by_lang = {}
        for lit in ontology.objects(term, RDFS.label):
            if isinstance(lit, Literal):
                by_lang.setdefault(lit.language or "", str(lit))
        definition = labeller.best_literal(term, (SKOS.definition,))
        comment = labeller.best_literal(term, (RDFS.comment,))
        return TermDoc(
            iri=str(term),
            anchor=anchor_of(str(term)),
            qname=labeller.qname(term),
            kinds=[labeller.value(k) for k in sorted(ontology.objects(term, RDF.type))],
            label=labeller.label(term),
            labels=by_lang,
            definition=str(definition) if definition is not None else None,
            comment=str(comment) if comment is not None else None,
            parents=sorted((labeller.value(o) for o in ontology.objects(term, parent_p)
                            if isinstance(o, URIRef)), key=value_key),
            children=sorted((labeller.value(s) for s in ontology.subjects(parent_p, term)
                             if isinstance(s, URIRef)), key=value_key),
            domain=[labeller.value(o) for o in ontology.objects(term, RDFS.domain)
                    if isinstance(o, URIRef)],
            range=[labeller.value(o) for o in ontology.objects(term, RDFS.range)
                   if isinstance(o, URIRef)],
            shapes=shapes_by_target.get(term, []) if is_class else shapes_by_path.get(term, []),
            count=(classes if is_class else props).get(term, 0),
            examples=[labeller.value(e) for e in examples.get(term, [])],
            query=term_query(base, str(term), is_class, lang),
        )

    def ordered(terms: set[URIRef]) -> list[URIRef]:
        return sorted(terms, key=lambda t: (not str(t).startswith(own), anchor_of(t).lower()))

    title = labeller.best_literal(ontology_iri, (DCTERMS.title, RDFS.label))
    description = labeller.best_literal(ontology_iri, (DCTERMS.description, RDFS.comment))
    metadata = []
    for p in sorted(set(ontology.predicates(ontology_iri)), key=str):
        if p in (DCTERMS.title, DCTERMS.description, RDF.type):
            continue
        values = sorted((labeller.value(o) for o in ontology.objects(ontology_iri, p)),
                        key=value_key)
        metadata.append(PropertyRow(labeller.value(p), values))
    shapes_iri = URIRef(f"{base}shapes")
    shapes_title = labeller.best_literal(shapes_iri, (DCTERMS.title, RDFS.label))
    shapes_description = labeller.best_literal(shapes_iri, (DCTERMS.description, RDFS.comment))
    return OntologyDoc(
        iri=str(ontology_iri),
        title=str(title) if title is not None else "ikm ontology",
        description=str(description) if description is not None else None,
        metadata=metadata,
        classes=[term_doc(t, True) for t in ordered(class_terms)],
        properties=[term_doc(t, False) for t in ordered(prop_terms)],
        shapes=shape_docs,
        shapes_iri=str(shapes_iri),
        shapes_title=str(shapes_title) if shapes_title is not None else None,
        shapes_description=str(shapes_description) if shapes_description is not None else None,
    )

