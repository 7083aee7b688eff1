"""What the index pages list: counts per class, property and type, typed resources page by page
with their engagement links, and the programme's phases. All computed by SPARQL from the store.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable

from rdflib import Graph, URIRef
from rdflib.namespace import RDF, RDFS, SKOS

from ikmkg.describe import is_usable_iri
from ikmkg.kg import graph_iri
from ikmkg.namespaces import bind_prefixes, sparql_prologue
from ikmkg.store import Store
from ikmkg.view import Labeller, PropertyRow, Value, value_key

def class_counts(store: Store) -> dict[URIRef, int]:
    """Instances per class in the data graph."""
    data = graph_iri(store.base_uri, "data")
    rows = store.select(f"SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE {{ GRAPH <{data}>"
                        " { ?s a ?c } } GROUP BY ?c")
    return {row["c"]: int(row["n"]) for row in rows if "c" in row}


def property_counts(store: Store) -> dict[URIRef, int]:
    """Statements per predicate in the data graph."""
    data = graph_iri(store.base_uri, "data")
    rows = store.select(f"SELECT ?p (COUNT(*) AS ?n) WHERE {{ GRAPH <{data}>"
                        " { ?s ?p ?o } } GROUP BY ?p")
    return {row["p"]: int(row["n"]) for row in rows if "p" in row}


def type_counts(store: Store) -> dict[str, tuple[int, list[URIRef]]]:
    """Per IRI type segment (`id/{type}/...`): how many typed resources, and their classes.

    Classes come most frequent first, the ontology's own before others.
    """
    prefix = f"{store.base_uri}id/"
    own = f"{store.base_uri}ontology#"
    segment = f'FILTER(STRSTARTS(STR(?s), "{prefix}")) ' \
              f'BIND(STRBEFORE(STRAFTER(STR(?s), "{prefix}"), "/") AS ?t)'
    totals = {str(row["t"]): int(row["n"]) for row in store.select(
        f"SELECT ?t (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s a ?c . {segment} }} GROUP BY ?t")
        if str(row.get("t", ""))}
    classes: dict[str, list[tuple[tuple, URIRef]]] = {}
    for row in store.select(f"SELECT ?t ?c (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s a ?c . "
                            f"{segment} }} GROUP BY ?t ?c"):
        cls = row["c"]
        classes.setdefault(str(row.get("t", "")), []).append(
            ((not str(cls).startswith(own), -int(row["n"]), str(cls)), cls))
    return {t: (n, [cls for _, cls in sorted(classes.get(t, []))])
            for t, n in sorted(totals.items())}



@dataclasses.dataclass
class ListItem:
    resource: Value
    types: list[Value]
    related: list[PropertyRow]


#: On list pages, what each item shows beside its label: (direction, predicate local name).
#: "in" lists the engagements pointing at an item; "out" the item's own links.
LIST_RELATED = {
    "in": ("province", "phase", "productFocus", "site"),
    "out": ("phase", "province", "productFocus", "status", "site"),
}


def list_resources(store: Store, type_segment: str, *, offset: int = 0,
                   limit: int = 1000) -> list[tuple[URIRef, list[URIRef]]]:
    """One page (in IRI order) of the typed resources under `{base}id/{type_segment}/`.

    Returns (resource, classes) pairs; `type_counts` gives how many there are in all.
    """
    if not re.fullmatch(r"[a-z0-9-]+", type_segment):
        return []
    prefix = f"{store.base_uri}id/{type_segment}/"
    rows = store.select(
        f"SELECT ?s ?c WHERE {{ {{ SELECT DISTINCT ?s WHERE {{ ?s a ?any . "
        f'FILTER(STRSTARTS(STR(?s), "{prefix}")) }} ORDER BY ?s LIMIT {int(limit)} '
        f"OFFSET {int(offset)} }} ?s a ?c }}")
    found: dict[URIRef, list[URIRef]] = {}
    for row in rows:
        found.setdefault(row["s"], []).append(row["c"])
    return sorted(found.items())


def list_related(store: Store, resources: Iterable[URIRef]) -> Graph:
    """Engagement links of `resources` (both directions), with labels, for a list page."""
    iris = [str(r) for r in resources if isinstance(r, URIRef) and is_usable_iri(r)]
    engagements = f"{store.base_uri}id/engagement/"
    incoming = ", ".join(f"ikm:{name}" for name in LIST_RELATED["in"])
    outgoing = ", ".join(f"ikm:{name}" for name in LIST_RELATED["out"])
    graph = bind_prefixes(Graph(), store.base_uri)
    for start in range(0, len(iris), 500):
        values = " ".join(f"<{iri}>" for iri in iris[start:start + 500])
        graph += store.construct(sparql_prologue(store.base_uri) + f"""
            CONSTRUCT {{ ?e ?p ?s . ?s ?q ?o . ?e rdfs:label ?el . ?o rdfs:label ?ol }}
            WHERE {{ VALUES ?s {{ {values} }}
              {{ ?e a ikm:ProvinceEngagement ; ?p ?s . FILTER(?p IN ({incoming}))
                 OPTIONAL {{ ?e rdfs:label ?el }} }}
              UNION
              {{ FILTER(STRSTARTS(STR(?s), "{engagements}")) ?s ?q ?o .
                 FILTER(?q IN ({outgoing}))
                 OPTIONAL {{ ?o rdfs:label ?ol }} }} }}""")
    return graph


@dataclasses.dataclass
class PhaseSummary:
    phase: Value
    description: str | None
    engagements: int
    provinces: list[Value]


def phases(store: Store, labeller_for: Callable[[Graph], Labeller]) -> list[PhaseSummary]:
    """The programme's phases with their engagement counts and provinces."""
    graph = store.construct(sparql_prologue(store.base_uri) + """
        CONSTRUCT { ?ph a ikm:ProgrammePhase ; rdfs:label ?l ; skos:definition ?d ; rdfs:comment ?c .
                    ?e ikm:phase ?ph ; ikm:province ?pr . ?pr rdfs:label ?pl }
        WHERE { ?ph a ikm:ProgrammePhase .
          OPTIONAL { ?ph rdfs:label ?l } OPTIONAL { ?ph skos:definition ?d }
          OPTIONAL { ?ph rdfs:comment ?c }
          OPTIONAL { ?e ikm:phase ?ph OPTIONAL { ?e ikm:province ?pr
                     OPTIONAL { ?pr rdfs:label ?pl } } } }""")
    labeller = labeller_for(graph)
    ikm = f"{store.base_uri}ontology#"
    out = []
    for phase in sorted(set(graph.subjects(RDF.type, URIRef(ikm + "ProgrammePhase")))):
        engagements = set(graph.subjects(URIRef(ikm + "phase"), phase))
        provinces = {p for e in engagements for p in graph.objects(e, URIRef(ikm + "province"))}
        description = labeller.best_literal(phase, (SKOS.definition, RDFS.comment))
        out.append(PhaseSummary(
            phase=labeller.value(phase),
            description=str(description) if description is not None else None,
            engagements=len(engagements),
            provinces=sorted((labeller.value(p) for p in provinces), key=value_key),
        ))
    return out
