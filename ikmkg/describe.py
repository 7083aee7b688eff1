"""What the published graph says about one resource, as RDF and as a view model for HTML.

`describe(store, iri)` returns the resource's concise bounded description plus its neighbourhood
(labels of what it links to, the statements pointing at it, the provenance of its facts), so a
linked-data client needs no second request. `resource_view(graph, iri, ...)` turns that graph into
plain dataclasses a template can show. Only the `Store` protocol (`select`, `ask`, `construct`,
`version`) is used, and nothing here knows about HTTP: links are made by a function the caller
passes in.

Language fallback (labels, descriptions and `?lang=` filtering): the requested language, then the
other one of Indonesian/English, then untagged literals, then any other language.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Iterable

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, OWL, PROV, RDF, RDFS, SH, SKOS, XSD
from rdflib.term import Node

from ikmkg.namespaces import bind_prefixes, prefixes, sparql_prologue
from ikmkg.store import Store

LANGUAGES = ("en", "id")
DEFAULT_LANGUAGE = "en"
#: Most statements pointing at a resource that a description carries (a status or a country can
#: be the object of thousands; the page says when the list is cut).
MAX_INBOUND = 500

#: Characters that may not appear inside `<...>` in SPARQL (and so never in our IRIs).
_BAD_IRI = re.compile(r'[\x00-\x20<>"{}|^`\\]')

LABEL_PREDICATES = (SKOS.prefLabel, RDFS.label, FOAF.name, DCTERMS.title)
DESCRIPTION_PREDICATES = (SKOS.definition, DCTERMS.description, RDFS.comment)

#: Labels for predicates of standard vocabularies the ontology does not label itself.
BUILTIN_LABELS: dict[URIRef, dict[str, str]] = {
    RDF.type: {"en": "type", "id": "jenis"},
    RDF.value: {"en": "text", "id": "teks"},
    RDF.subject: {"en": "statement subject", "id": "subjek pernyataan"},
    RDF.predicate: {"en": "statement predicate", "id": "predikat pernyataan"},
    RDF.object: {"en": "statement object", "id": "objek pernyataan"},
    RDFS.label: {"en": "label", "id": "label"},
    RDFS.comment: {"en": "comment", "id": "keterangan"},
    RDFS.seeAlso: {"en": "see also", "id": "lihat juga"},
    RDFS.subClassOf: {"en": "subclass of", "id": "subkelas dari"},
    RDFS.domain: {"en": "domain", "id": "domain"},
    RDFS.range: {"en": "range", "id": "jangkauan"},
    SKOS.prefLabel: {"en": "preferred label", "id": "label utama"},
    SKOS.altLabel: {"en": "alternative label", "id": "label lain"},
    SKOS.notation: {"en": "notation", "id": "notasi"},
    SKOS.definition: {"en": "definition", "id": "definisi"},
    SKOS.inScheme: {"en": "in scheme", "id": "dalam skema"},
    SKOS.member: {"en": "member", "id": "anggota"},
    SKOS.broader: {"en": "broader", "id": "lebih luas"},
    SKOS.narrower: {"en": "narrower", "id": "lebih sempit"},
    SKOS.exactMatch: {"en": "exact match", "id": "padanan tepat"},
    SKOS.editorialNote: {"en": "reference-table note", "id": "catatan tabel rujukan"},
    OWL.sameAs: {"en": "same as", "id": "sama dengan"},
    DCTERMS.title: {"en": "title", "id": "judul"},
    DCTERMS.description: {"en": "description", "id": "deskripsi"},
    DCTERMS.source: {"en": "source", "id": "sumber"},
    DCTERMS.issued: {"en": "issued", "id": "terbit"},
    DCTERMS.modified: {"en": "modified", "id": "diubah"},
    DCTERMS.publisher: {"en": "publisher", "id": "penerbit"},
    DCTERMS.isPartOf: {"en": "part of", "id": "bagian dari"},
    DCTERMS.license: {"en": "license", "id": "lisensi"},
    FOAF.name: {"en": "name", "id": "nama"},
    PROV.wasDerivedFrom: {"en": "derived from", "id": "diturunkan dari"},
    PROV.hadPrimarySource: {"en": "primary source", "id": "sumber utama"},
}

_NAME_GROUP = {SKOS.prefLabel, RDFS.label, SKOS.altLabel, FOAF.name, DCTERMS.title}
_PROVENANCE_PREFIXES = (str(PROV),)
_DATE_TYPES = {XSD.date, XSD.dateTime, XSD.gYear, XSD.gYearMonth, XSD.gMonthDay}

#: Property groups in page order: (key, English title, Indonesian title).
GROUPS = (
    ("names", "Names", "Nama"),
    ("identifiers", "Codes and identifiers", "Kode dan pengenal"),
    ("relations", "Relations", "Hubungan"),
    ("time", "Time", "Waktu"),
    ("attributes", "Attributes", "Atribut"),
    ("provenance", "Provenance", "Asal-usul"),
)


def check_iri(iri: str) -> URIRef:
    """`iri` as a URIRef, or ValueError when it could break out of `<...>` in a query."""
    if not iri or _BAD_IRI.search(iri):
        raise ValueError(f"not a usable IRI: {iri!r}")
    return URIRef(iri)


def exists(store: Store, iri: str) -> bool:
    """Whether the published graph mentions `iri` as a subject or an object."""
    node = check_iri(iri)
    return store.ask(f"ASK {{ {{ <{node}> ?p ?o }} UNION {{ ?s ?p <{node}> }} }}")


def describe(store: Store, iri: str) -> Graph:
    """The description of `iri`: CBD, labels of its neighbours, inbound links, provenance.

    Args:
        store: the published graph.
        iri: the resource (an entity, the dataset, a graph...).

    Returns:
        A graph with the project's prefixes bound; empty when the store knows nothing of `iri`.

    Raises:
        ValueError: `iri` contains characters no IRI of ours has.
    """
    node = check_iri(iri)
    graph = store.construct(_describe_query(store.base_uri).replace("<IRI>", f"<{node}>"))
    return plain_strings(graph)


def plain_strings(graph: Graph) -> Graph:
    """`graph` with explicit xsd:string datatypes dropped, in place (RDF 1.1: same literals)."""
    typed = [(s, p, o) for s, p, o in graph.triples((None, None, None))
             if isinstance(o, Literal) and o.datatype == XSD.string]
    for s, p, o in typed:
        graph.remove((s, p, o))
        graph.add((s, p, Literal(str(o))))
    return graph


@functools.lru_cache(maxsize=8)
def _describe_query(base_uri: str) -> str:
    return (sparql_prologue(base_uri)
            + _DESCRIBE_QUERY.replace("MAX_INBOUND", str(MAX_INBOUND)))


def plain_string(node: Node) -> Node:
    """`node` with an explicit xsd:string datatype dropped (the same literal in RDF 1.1)."""
    if isinstance(node, Literal) and node.datatype == XSD.string:
        return Literal(str(node))
    return node


_LABELS = "rdfs:label skos:prefLabel foaf:name skos:notation ikm:codeScheme"
_PARTS = (
    # Concise bounded description: the resource's own triples and blank nodes up to depth three.
    ("<IRI> ?p ?o . ?o ?p1 ?o1 . ?o1 ?p2 ?o2 . ?o2 ?p3 ?o3 .",
     """<IRI> ?p ?o .
      OPTIONAL { FILTER(isBlank(?o)) ?o ?p1 ?o1 .
        OPTIONAL { FILTER(isBlank(?o1)) ?o1 ?p2 ?o2 .
          OPTIONAL { FILTER(isBlank(?o2)) ?o2 ?p3 ?o3 } } }"""),
    # Labels (and code notation/scheme) of what it links to and of the predicates it uses.
    ("?n ?lp ?l . ?sch rdfs:label ?schl .",
     f"""{{ <IRI> ?lx ?n }} UNION {{ <IRI> ?n ?ly }}
      UNION {{ SELECT DISTINCT ?n WHERE {{ {{ SELECT ?n WHERE {{ ?lz ?n <IRI> }} LIMIT MAX_INBOUND }} }} }}
      FILTER(isIRI(?n))
      ?n ?lp ?l . FILTER(?lp IN ({", ".join(_LABELS.split())}))
      OPTIONAL {{ FILTER(?lp = ikm:codeScheme) ?l rdfs:label ?schl BIND(?l AS ?sch) }}"""),
    # Statements pointing at it (capped), with the labels of their subjects.
    ("?s ?ip <IRI> . ?s ?ilp ?il .",
     """{ SELECT ?s ?ip WHERE { ?s ?ip <IRI> } LIMIT MAX_INBOUND }
      OPTIONAL { ?s ?ilp ?il FILTER(?ilp IN (rdfs:label, skos:prefLabel, foaf:name)) }"""),
    # Provenance: the source sentences of its facts, who said them, the article.
    ("""?sent rdf:value ?text ; ikm:position ?pos ; ikm:saidBy ?who ;
        ikm:directQuote ?dq ; ikm:statedOn ?on ; dcterms:isPartOf ?art .
      ?who rdfs:label ?wl ; foaf:name ?wn .
      ?art dcterms:title ?title ; dcterms:issued ?issued ; rdfs:label ?al .""",
     """<IRI> prov:wasDerivedFrom ?sent . ?sent rdf:value ?text .
      OPTIONAL { ?sent ikm:position ?pos }
      OPTIONAL { ?sent ikm:directQuote ?dq }
      OPTIONAL { ?sent ikm:statedOn ?on }
      OPTIONAL { ?sent ikm:saidBy ?who OPTIONAL { ?who rdfs:label ?wl } OPTIONAL { ?who foaf:name ?wn } }
      OPTIONAL { ?sent dcterms:isPartOf ?art
        OPTIONAL { ?art dcterms:title ?title } OPTIONAL { ?art dcterms:issued ?issued }
        OPTIONAL { ?art rdfs:label ?al } }"""),
    # Statements the reference files make about it (rdf:Statement with rdf:subject = it).
    ("?st ?sp ?so . ?so rdfs:label ?sl .",
     """?st rdf:subject <IRI> ; ?sp ?so . OPTIONAL { FILTER(isIRI(?so)) ?so rdfs:label ?sl }"""),
)
#: One query (one round trip) for the whole description: a UNION of the parts above.
_DESCRIBE_QUERY = ("CONSTRUCT {\n" + "\n".join(t for t, _ in _PARTS) + "\n} WHERE {\n"
                   + "\n  UNION\n".join(f"  {{ {w} }}" for _, w in _PARTS) + "\n}")


def filter_language(graph: Graph, lang: str) -> Graph:
    """`graph` keeping, per subject and predicate, the literals of the best available language.

    Untagged literals are always kept; among tagged ones, those in `lang` win, then those in the
    other of Indonesian/English, then any other language (the module's fallback order).
    """
    out = bind_prefixes(Graph(), _base_of(graph))
    tagged: dict[tuple[Node, Node], list[Literal]] = {}
    for s, p, o in graph:
        if isinstance(o, Literal) and o.language:
            tagged.setdefault((s, p), []).append(o)
        else:
            out.add((s, p, o))
    order = language_order(lang)
    for (s, p), literals in tagged.items():
        best = min(_rank(lit.language, order) for lit in literals)
        for lit in literals:
            if _rank(lit.language, order) == best:
                out.add((s, p, lit))
    return out


def _base_of(graph: Graph) -> str:
    for prefix, ns in graph.namespaces():
        if prefix == "id":
            return str(ns)[: -len("id/")]
    return prefixes()["id"][: -len("id/")]


def language_order(lang: str) -> tuple[str, ...]:
    """Languages to try, best first, for a reader of `lang` ('' stands for untagged)."""
    others = tuple(code for code in LANGUAGES if code != lang)
    return (lang, *others, "")


def _rank(language: str | None, order: tuple[str, ...]) -> int:
    language = (language or "").lower().split("-")[0]
    return order.index(language) if language in order else len(order)


# ---------------------------------------------------------------------------------------------
# View model for HTML


@dataclasses.dataclass(frozen=True)
class Value:
    """One value as shown: a link to our page, an external link, a code, or a literal."""

    text: str
    kind: str  # "internal" | "external" | "code" | "literal" | "blank"
    href: str | None = None
    iri: str | None = None
    lang: str | None = None
    datatype: str | None = None  # prefixed name of a literal's datatype
    note: str | None = None  # a code's scheme, a datatype's meaning


@dataclasses.dataclass
class PropertyRow:
    predicate: Value
    values: list[Value]
    inverse: bool = False


@dataclasses.dataclass
class PropertyGroup:
    key: str
    title: str
    rows: list[PropertyRow]


@dataclasses.dataclass
class ProvenanceItem:
    sentence: Value
    text: str
    lang: str | None
    position: str | None
    article: Value | None
    title: str | None
    date: str | None
    speaker: Value | None
    direct_quote: bool


@dataclasses.dataclass
class ReferenceStatement:
    statement: Value
    predicate: Value | None
    object: Value | None
    sources: list[Value]
    comment: str | None


@dataclasses.dataclass
class ResourceView:
    iri: str
    label: str
    label_lang: str | None
    other_labels: list[Value]
    types: list[Value]
    description: str | None
    groups: list[PropertyGroup]
    referenced_by: list[PropertyRow]
    referenced_by_truncated: bool
    provenance: list[ProvenanceItem]
    statements: list[ReferenceStatement]
    codes: list[Value]


class Labeller:
    """Labels of nodes in one language with the module's fallback order.

    `graph` supplies the labels (a description graph); `extra` more (the ontology's labels for
    predicates and classes); `href` turns an IRI into a link or None for IRIs we do not serve.
    """

    def __init__(self, graph: Graph, lang: str, base_uri: str, href: Callable[[str], str | None],
                 extra: Graph | None = None):
        self.graph = graph
        self.extra = extra if extra is not None else Graph()
        self.lang = lang
        self.order = language_order(lang)
        self.base_uri = base_uri
        self.href = href
        self._prefixes = sorted(prefixes(base_uri).items(), key=lambda kv: -len(kv[1]))

    def best_literal(self, node: Node, predicates: Iterable[URIRef]) -> Literal | None:
        """The literal of `node` under the first predicate that has one, best language first."""
        for predicate in predicates:
            found = [o for g in (self.graph, self.extra) for o in g.objects(node, predicate)
                     if isinstance(o, Literal)]
            if found:
                return min(found, key=lambda lit: (_rank(lit.language, self.order), str(lit)))
        return None

    def label(self, node: Node) -> str:
        literal = self.best_literal(node, LABEL_PREDICATES)
        if literal is not None:
            return str(literal)
        if isinstance(node, URIRef) and node in BUILTIN_LABELS:
            return BUILTIN_LABELS[node].get(self.lang, BUILTIN_LABELS[node]["en"])
        notation = self.best_literal(node, (SKOS.notation,))
        if notation is not None:
            return str(notation)
        return self.qname(node)

    def qname(self, node: Node) -> str:
        text = str(node)
        if isinstance(node, BNode):
            return "(blank node)"
        for prefix, ns in self._prefixes:
            if text.startswith(ns) and len(text) > len(ns):
                return f"{prefix}:{text[len(ns):]}"
        return text

    def is_internal(self, iri: str) -> bool:
        return iri.startswith(self.base_uri)

    def value(self, node: Node) -> Value:
        """`node` as a Value: links for IRIs (external ones marked), codes with their scheme."""
        if isinstance(node, Literal):
            datatype = None
            if node.datatype is not None and node.datatype != XSD.string:
                datatype = self.qname(node.datatype)
            return Value(text=str(node), kind="literal", lang=node.language, datatype=datatype)
        if isinstance(node, BNode):
            return Value(text=self.label(node), kind="blank")
        iri = str(node)
        scheme = self._first(node, self._code_scheme)
        if scheme is not None:
            notation = self.best_literal(node, (SKOS.notation,))
            return Value(text=str(notation) if notation is not None else self.label(node),
                         kind="code", href=self.href(iri), iri=iri, note=self.label(scheme))
        if self.is_internal(iri):
            return Value(text=self.label(node), kind="internal", href=self.href(iri), iri=iri)
        text = self.label(node)
        if iri.startswith("http://www.wikidata.org/entity/"):
            text = f"Wikidata {iri.rsplit('/', 1)[-1]}"
        return Value(text=text, kind="external", href=iri if _is_web(iri) else None, iri=iri)

    @property
    def _code_scheme(self) -> URIRef:
        return URIRef(f"{self.base_uri}ontology#codeScheme")

    def _first(self, node: Node, predicate: URIRef) -> Node | None:
        for g in (self.graph, self.extra):
            found = g.value(node, predicate)
            if found is not None:
                return found
        return None


def _is_web(iri: str) -> bool:
    return iri.startswith(("http://", "https://"))


def _group_of(predicate: URIRef, objects: list[Node], base_uri: str) -> str:
    ikm = f"{base_uri}ontology#"
    if predicate in _NAME_GROUP:
        return "names"
    if (predicate in (SKOS.notation, SKOS.exactMatch, OWL.sameAs, SKOS.closeMatch)
            or predicate in (URIRef(ikm + "hasCode"), URIRef(ikm + "kbliCode"),
                             URIRef(ikm + "wikidata"), URIRef(ikm + "codeScheme"),
                             URIRef(ikm + "websiteDomain"))):
        return "identifiers"
    if str(predicate).startswith(_PROVENANCE_PREFIXES) or predicate in (
            DCTERMS.source, URIRef(ikm + "verificationStatus"), SKOS.editorialNote):
        return "provenance"
    if all(isinstance(o, Literal) and o.datatype in _DATE_TYPES for o in objects):
        return "time"
    if any(isinstance(o, URIRef) for o in objects):
        return "relations"
    return "attributes"


def resource_view(graph: Graph, iri: str, *, lang: str, base_uri: str,
                  href: Callable[[str], str | None], ontology: Graph | None = None) -> ResourceView:
    """The view model of `iri` from its description `graph`, for a reader of `lang`.

    Args:
        graph: what `describe` returned.
        iri: the resource.
        lang: the reader's language ("en" or "id").
        base_uri: the published base (IRIs under it are ours and get local links).
        href: maps one of our IRIs to the URL of its page (None: show it without a link).
        ontology: labels of predicates and classes (the ontology graph); optional.
    """
    node = URIRef(iri)
    labeller = Labeller(graph, lang, base_uri, href, ontology)
    label_literal = labeller.best_literal(node, LABEL_PREDICATES)
    label = str(label_literal) if label_literal is not None else labeller.label(node)
    other_labels = [labeller.value(lit) for p in LABEL_PREDICATES for lit in graph.objects(node, p)
                    if isinstance(lit, Literal) and lit != label_literal]
    description_literal = labeller.best_literal(node, DESCRIPTION_PREDICATES)
    description_predicate = next((p for p in DESCRIPTION_PREDICATES
                                  if (node, p, description_literal) in graph), None)

    by_predicate: dict[URIRef, list[Node]] = {}
    for p, o in graph.predicate_objects(node):
        if p == RDF.type or (description_literal is not None and p == description_predicate):
            continue
        by_predicate.setdefault(p, []).append(o)
    grouped: dict[str, list[PropertyRow]] = {}
    codes = []
    for p in sorted(by_predicate, key=lambda p: (labeller.label(p).lower(), str(p))):
        objects = by_predicate[p]
        values = sorted((labeller.value(o) for o in objects), key=_value_key)
        if p in _NAME_GROUP:
            values = [v for v in values if not (v.kind == "literal" and v.text == label
                                                and v.lang == (label_literal.language
                                                               if label_literal is not None
                                                               else None))]
            if not values:
                continue
        codes.extend(v for v in values if v.kind == "code")
        group = _group_of(p, objects, base_uri)
        grouped.setdefault(group, []).append(PropertyRow(labeller.value(p), values))
    groups = [PropertyGroup(key, en if lang == "en" else ind, grouped[key])
              for key, en, ind in GROUPS if key in grouped]

    inbound: dict[URIRef, list[Node]] = {}
    for s, p in graph.subject_predicates(node):
        inbound.setdefault(p, []).append(s)
    referenced_by = [
        PropertyRow(labeller.value(p), sorted((labeller.value(s) for s in subjects),
                                              key=_value_key), inverse=True)
        for p, subjects in sorted(inbound.items(), key=lambda kv: labeller.label(kv[0]).lower())
    ]
    inbound_count = sum(len(v) for v in inbound.values())

    return ResourceView(
        iri=iri,
        label=label,
        label_lang=label_literal.language if label_literal is not None else None,
        other_labels=sorted(other_labels, key=_value_key),
        types=sorted((labeller.value(t) for t in graph.objects(node, RDF.type)), key=_value_key),
        description=str(description_literal) if description_literal is not None else None,
        groups=groups,
        referenced_by=referenced_by,
        referenced_by_truncated=inbound_count >= MAX_INBOUND,
        provenance=_provenance(graph, node, labeller),
        statements=_statements(graph, node, labeller),
        codes=codes,
    )


def _value_key(value: Value) -> tuple:
    return (value.kind != "internal", value.text.lower(), value.lang or "", value.iri or "")


def _provenance(graph: Graph, node: URIRef, labeller: Labeller) -> list[ProvenanceItem]:
    ikm = f"{labeller.base_uri}ontology#"
    items = []
    for sentence in graph.objects(node, PROV.wasDerivedFrom):
        text = graph.value(sentence, RDF.value)
        if text is None:
            continue
        article = graph.value(sentence, DCTERMS.isPartOf)
        speaker = graph.value(sentence, URIRef(ikm + "saidBy"))
        position = graph.value(sentence, URIRef(ikm + "position"))
        title = labeller.best_literal(article, (DCTERMS.title,)) if article is not None else None
        issued = graph.value(article, DCTERMS.issued) if article is not None else None
        stated_on = graph.value(sentence, URIRef(ikm + "statedOn"))
        date = issued if issued is not None else stated_on
        quote = graph.value(sentence, URIRef(ikm + "directQuote"))
        items.append(ProvenanceItem(
            sentence=labeller.value(sentence),
            text=str(text),
            lang=text.language if isinstance(text, Literal) else None,
            position=str(position) if position is not None else None,
            article=labeller.value(article) if article is not None else None,
            title=str(title) if title is not None else None,
            date=str(date)[:10] if date is not None else None,
            speaker=labeller.value(speaker) if speaker is not None else None,
            direct_quote=bool(quote is not None and quote.toPython() is True),
        ))
    return sorted(items, key=lambda i: (i.article.text if i.article else "",
                                        int(i.position) if (i.position or "").isdigit() else 0,
                                        i.text))


def _statements(graph: Graph, node: URIRef, labeller: Labeller) -> list[ReferenceStatement]:
    out = []
    for statement in graph.subjects(RDF.subject, node):
        predicate = graph.value(statement, RDF.predicate)
        obj = graph.value(statement, RDF.object)
        comment = labeller.best_literal(statement, (RDFS.comment,))
        out.append(ReferenceStatement(
            statement=labeller.value(statement),
            predicate=labeller.value(predicate) if predicate is not None else None,
            object=labeller.value(obj) if obj is not None else None,
            sources=sorted((labeller.value(s) for p in (DCTERMS.source, PROV.wasDerivedFrom)
                            for s in graph.objects(statement, p)), key=_value_key),
            comment=str(comment) if comment is not None else None,
        ))
    return sorted(out, key=lambda s: s.statement.text)


# ---------------------------------------------------------------------------------------------
# Index pages: what the published graph holds, computed by SPARQL


def _graph(store: Store, name: str) -> str:
    return f"<{store.base_uri}graph/{name}>"


def named_graph(store: Store, name: str) -> Graph:
    """The whole named graph `name` ("ontology", "shapes" or "data")."""
    found = store.construct(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {_graph(store, name)} "
                            "{ ?s ?p ?o } }")
    graph = bind_prefixes(Graph(), store.base_uri)
    for s, p, o in found:
        graph.add((s, p, plain_string(o)))
    return graph


def class_counts(store: Store) -> dict[URIRef, int]:
    """Instances per class in the data graph."""
    rows = store.select(f"SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE {{ GRAPH {_graph(store, 'data')}"
                        " { ?s a ?c } } GROUP BY ?c")
    return {row["c"]: int(row["n"]) for row in rows if "c" in row}


def property_counts(store: Store) -> dict[URIRef, int]:
    """Statements per predicate in the data graph."""
    rows = store.select(f"SELECT ?p (COUNT(*) AS ?n) WHERE {{ GRAPH {_graph(store, 'data')}"
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


def labels_of(store: Store, nodes: Iterable[Node]) -> Graph:
    """Labels (and code notations) of `nodes`, from every graph."""
    iris = sorted({str(n) for n in nodes if isinstance(n, URIRef) and not _BAD_IRI.search(n)})
    graph = bind_prefixes(Graph(), store.base_uri)
    for start in range(0, len(iris), 500):
        values = " ".join(f"<{iri}>" for iri in iris[start:start + 500])
        found = store.construct(
            sparql_prologue(store.base_uri)
            + f"CONSTRUCT {{ ?n ?lp ?l }} WHERE {{ VALUES ?n {{ {values} }} ?n ?lp ?l "
            f'FILTER(?lp IN ({", ".join(_LABELS.split())})) }}')
        for s, p, o in found:
            graph.add((s, p, plain_string(o)))
    return graph


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
    iris = [str(r) for r in resources if isinstance(r, URIRef) and not _BAD_IRI.search(r)]
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
            provinces=sorted((labeller.value(p) for p in provinces), key=_value_key),
        ))
    return out


# ---------------------------------------------------------------------------------------------
# Ontology documentation joined to the data


@dataclasses.dataclass
class Constraint:
    name: str
    values: list[Value]


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


def _shape_doc(shapes: Graph, shape: Node, labeller: Labeller) -> ShapeDoc:
    constraints = []
    for p in sorted(set(shapes.predicates(shape)), key=str):
        if p in _SHAPE_KEYS:
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
    rows = store.select(f"SELECT DISTINCT ?s WHERE {{ GRAPH {_graph(store, 'data')} {{ {pattern} "
                        f"}} FILTER(isIRI(?s)) }} LIMIT {limit}")
    return sorted(row["s"] for row in rows)


def term_query(base_uri: str, term: str, is_class: bool, lang: str) -> str:
    """A ready-made SPARQL query listing the instances of a class or the uses of a property."""
    pattern = (f"?item a <{term}> ." if is_class else f"?item <{term}> ?value .")
    select = "?item ?label" if is_class else "?item ?label ?value"
    return (sparql_prologue(base_uri) + f"SELECT {select} WHERE {{\n  {pattern}\n"
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
                            if isinstance(o, URIRef)), key=_value_key),
            children=sorted((labeller.value(s) for s in ontology.subjects(parent_p, term)
                             if isinstance(s, URIRef)), key=_value_key),
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
                        key=_value_key)
        metadata.append(PropertyRow(labeller.value(p), values))
    return OntologyDoc(
        iri=str(ontology_iri),
        title=str(title) if title is not None else "ikm ontology",
        description=str(description) if description is not None else None,
        metadata=metadata,
        classes=[term_doc(t, True) for t in ordered(class_terms)],
        properties=[term_doc(t, False) for t in ordered(prop_terms)],
        shapes=shape_docs,
    )
