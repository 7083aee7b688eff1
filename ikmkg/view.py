"""The view model of a resource page: its description graph as plain dataclasses for a template.

`resource_view(graph, iri, ...)` turns what `ikmkg.describe.describe` returned into a
`ResourceView`; `Labeller` gives labels and links in the reader's language with the fallback order
of `ikmkg.describe`. Nothing here knows about HTTP: links are made by a function the caller
passes in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, OWL, PROV, RDF, RDFS, SKOS, XSD
from rdflib.term import Node

from ikmkg.describe import MAX_INBOUND, language_order, language_rank
from ikmkg.namespaces import prefixes

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

#: How a link into the page reads from the page's side (issue #17): Papua is not "formed
#: from" Central Papua, it was split into it. Properties neither listed here nor with an
#: owl:inverseOf in the ontology read "has X" -> "X of", else "X of" ("parent area of").
INVERSE_LABELS: dict[URIRef, dict[str, str]] = {
    DCTERMS.source: {"en": "source of", "id": "sumber bagi"},
    DCTERMS.isPartOf: {"en": "has part", "id": "memuat"},
    DCTERMS.publisher: {"en": "published", "id": "menerbitkan"},
    PROV.wasDerivedFrom: {"en": "source of", "id": "sumber bagi"},
    PROV.hadPrimarySource: {"en": "primary source of", "id": "sumber utama bagi"},
    PROV.wasAttributedTo: {"en": "responsible for", "id": "bertanggung jawab atas"},
    PROV.wasQuotedFrom: {"en": "quoted in", "id": "dikutip dalam"},
    RDFS.subClassOf: {"en": "superclass of", "id": "superkelas dari"},
    RDFS.seeAlso: {"en": "see also", "id": "lihat juga"},
    SKOS.broader: {"en": "narrower", "id": "lebih sempit"},
    SKOS.narrower: {"en": "broader", "id": "lebih luas"},
    SKOS.exactMatch: {"en": "exact match", "id": "padanan tepat"},
    SKOS.closeMatch: {"en": "close match", "id": "padanan dekat"},
    SKOS.inScheme: {"en": "scheme of", "id": "skema bagi"},
    SKOS.member: {"en": "member of", "id": "anggota dari"},
    OWL.sameAs: {"en": "same as", "id": "sama dengan"},
    RDF.subject: {"en": "subject of the statement", "id": "subjek pernyataan"},
    RDF.object: {"en": "object of the statement", "id": "objek pernyataan"},
}
#: The same for ontology terms whose label is a verb phrase, by local name.
INVERSE_ONTOLOGY_LABELS: dict[str, dict[str, str]] = {
    "formedFrom": {"en": "split into", "id": "dimekarkan menjadi"},
    "conductedBy": {"en": "conducted", "id": "melaksanakan"},
    "saidBy": {"en": "said", "id": "menuturkan"},
    "surveys": {"en": "surveyed by", "id": "disurvei oleh"},
    "inOrderTo": {"en": "served by the aim", "id": "dilayani oleh tujuan"},
}
#: "X of" in each language, for every other property.
_INVERSE_PATTERN = {"en": ("has ", "{} of"), "id": ("memiliki ", "{} dari")}

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
                return min(found, key=lambda lit: (language_rank(lit.language, self.order),
                                                   str(lit)))
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

    def inverse_label(self, predicate: URIRef) -> str:
        """How `predicate` reads from its object's side (INVERSE_LABELS)."""
        table = INVERSE_LABELS.get(predicate)
        if table is None and str(predicate).startswith(f"{self.base_uri}ontology#"):
            table = INVERSE_ONTOLOGY_LABELS.get(str(predicate).rsplit("#", 1)[-1])
        if table is not None:
            return table.get(self.lang, table["en"])
        for graph in (self.graph, self.extra):
            inverse = (graph.value(predicate, OWL.inverseOf)
                       or graph.value(None, OWL.inverseOf, predicate))
            if inverse is not None:
                return self.label(inverse)
        label = self.label(predicate)
        prefix, pattern = _INVERSE_PATTERN.get(self.lang, _INVERSE_PATTERN["en"])
        if label.startswith(prefix):
            label = label[len(prefix):]
        return pattern.format(label)

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
        values = sorted((labeller.value(o) for o in objects), key=value_key)
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
        PropertyRow(dataclasses.replace(labeller.value(p), text=labeller.inverse_label(p)),
                    sorted((labeller.value(s) for s in subjects),
                                              key=value_key), inverse=True)
        for p, subjects in sorted(inbound.items(),
                                  key=lambda kv: labeller.inverse_label(kv[0]).lower())
    ]
    inbound_count = sum(len(v) for v in inbound.values())

    return ResourceView(
        iri=iri,
        label=label,
        label_lang=label_literal.language if label_literal is not None else None,
        other_labels=sorted(other_labels, key=value_key),
        types=sorted((labeller.value(t) for t in graph.objects(node, RDF.type)), key=value_key),
        description=str(description_literal) if description_literal is not None else None,
        groups=groups,
        referenced_by=referenced_by,
        referenced_by_truncated=inbound_count >= MAX_INBOUND,
        provenance=_provenance(graph, node, labeller),
        statements=_statements(graph, node, labeller),
        codes=codes,
    )



def value_key(value: Value) -> tuple:
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
                            for s in graph.objects(statement, p)), key=value_key),
            comment=str(comment) if comment is not None else None,
        ))
    return sorted(out, key=lambda s: s.statement.text)
