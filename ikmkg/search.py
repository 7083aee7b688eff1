"""Full-text search over the graph's labels and descriptions, in Indonesian and English.

An in-memory index is built once per store version from the store (`Store.select`), over the
labels (`rdfs:label`, `skos:prefLabel`, `skos:altLabel`, `foaf:name`, `dcterms:title`) and the
descriptions (`rdfs:comment`, `skos:definition`) of every IRI in the ontology and data graphs.

Matching forgives case, diacritics and Indonesian morphology: text is folded (NFKD, marks
removed, case-folded, punctuation to spaces), each token is indexed as itself and by its
Snowball stems (the Indonesian stemmer of Tala, and the English one for English labels), and
the last query token also matches as a prefix (type-ahead). A small curated table expands the
standard abbreviations of province names that the graph's own `skos:altLabel`s do not carry
("Sulsel" -> Sulawesi Selatan).

Ranking, best first: the whole query equals a label (tier 4), a label starts with it (3), every
query token is found in the labels (2), some only in the descriptions (1). Within a tier, the
token score weighs exact token > stem > prefix and labels > alternative labels > descriptions.
No Flask here: `ikmkg.web.search` and `ikmkg.reconcile` use this module.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import re
import threading
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable

import snowballstemmer

from ikmkg.kg import graph_iri
from ikmkg.store import Store

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
FOAF_NAME = "http://xmlns.com/foaf/0.1/name"
DCTERMS_TITLE = "http://purl.org/dc/terms/title"
ORG = "http://www.w3.org/ns/org#"

#: Field weights: main labels, alternative labels, descriptions.
LABEL_FIELDS = {
    RDFS + "label": 1.0, SKOS + "prefLabel": 1.0, FOAF_NAME: 1.0, DCTERMS_TITLE: 0.95,
    SKOS + "altLabel": 0.9,
}
DESCRIPTION_FIELDS = {RDFS + "comment": 0.35, SKOS + "definition": 0.35}

#: Match kinds of one query token against one indexed token.
EXACT, STEM, PREFIX = 1.0, 0.8, 0.6

#: Standard abbreviations of Indonesian province names (as used by the press and government),
#: only those the graph's skos:altLabel does not give. Keys are folded; values are label text.
ABBREVIATIONS: dict[str, str] = {
    "sumut": "Sumatera Utara", "sumbar": "Sumatera Barat", "sumsel": "Sumatera Selatan",
    "babel": "Kepulauan Bangka Belitung", "kepri": "Kepulauan Riau",
    "jabar": "Jawa Barat", "jateng": "Jawa Tengah", "jatim": "Jawa Timur",
    "kalbar": "Kalimantan Barat", "kalteng": "Kalimantan Tengah",
    "kalsel": "Kalimantan Selatan", "kaltim": "Kalimantan Timur", "kaltara": "Kalimantan Utara",
    "sulut": "Sulawesi Utara", "sulteng": "Sulawesi Tengah", "sulsel": "Sulawesi Selatan",
    "sultra": "Sulawesi Tenggara", "sulbar": "Sulawesi Barat",
    "ntb": "Nusa Tenggara Barat", "ntt": "Nusa Tenggara Timur", "malut": "Maluku Utara",
    "diy": "Daerah Istimewa Yogyakarta", "dki": "Daerah Khusus Ibukota Jakarta",
}
#: Spelling variants written both ways in Indonesian sources (folded token -> variant).
SPELLINGS: dict[str, str] = {"sumatra": "sumatera", "sumatera": "sumatra"}

#: Superclass axioms of the W3C ORG vocabulary that the published graph does not repeat.
EXTRA_SUPERCLASSES = {
    ORG + "FormalOrganization": (ORG + "Organization",),
    ORG + "OrganizationalUnit": (ORG + "Organization",),
}

_NON_WORD = re.compile(r"[^\w]+|_")
_STEMMERS = {"id": snowballstemmer.stemmer("indonesian"),
             "en": snowballstemmer.stemmer("english")}
MAX_QUERY_CHARS = 200


def fold(text: str) -> str:
    """Case- and accent-insensitive form of `text`, punctuation as single spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_NON_WORD.sub(" ", stripped.casefold()).split())


def tokens(text: str) -> list[str]:
    return fold(text).split()


@functools.lru_cache(maxsize=65536)
def stems(token: str) -> frozenset[str]:
    """The token's stems under the Indonesian and English stemmers (without the token itself)."""
    out = {stemmer.stemWord(token) for stemmer in _STEMMERS.values()}
    out.discard(token)
    return frozenset(s for s in out if len(s) >= 3)


@dataclasses.dataclass
class Entry:
    """One searchable resource: its literals by field, its types."""

    iri: str
    labels: list[tuple[str, str, float]] = dataclasses.field(default_factory=list)
    descriptions: list[tuple[str, str, float]] = dataclasses.field(default_factory=list)
    types: set[str] = dataclasses.field(default_factory=set)  # asserted rdf:type
    all_types: set[str] = dataclasses.field(default_factory=set)  # with superclasses
    folded_labels: list[tuple[str, float]] = dataclasses.field(default_factory=list)
    # token -> best weight of the field it occurs in, for labels and descriptions
    label_tokens: dict[str, float] = dataclasses.field(default_factory=dict)
    description_tokens: dict[str, float] = dataclasses.field(default_factory=dict)

    def label(self, lang: str) -> str:
        """The best label for `lang`: main labels before alternative ones, then any language."""
        ranked = sorted(self.labels, key=lambda item: (-item[2], item[1] != lang,
                                                       item[1] not in ("", "en"), item[0]))
        return ranked[0][0] if ranked else self.iri

    def description(self, lang: str) -> str | None:
        ranked = sorted(self.descriptions, key=lambda item: (item[1] != lang, item[1] != "",
                                                             item[0]))
        return ranked[0][0] if ranked else None


@dataclasses.dataclass
class Hit:
    entry: Entry
    score: float
    tier: int
    matched: str  # the label or description text that matched best


@dataclasses.dataclass
class Results:
    query: str
    hits: list[Hit]  # after the type filter, ranked
    total: int
    facets: list[tuple[str, int]]  # (type IRI, number of hits of that type) before the filter


class SearchIndex:
    """The index of one store version; build with `SearchIndex.build(store)`."""

    def __init__(self, entries: dict[str, Entry], version: str):
        self.version = version
        self.entries = entries
        self.postings: dict[str, set[str]] = defaultdict(set)
        for entry in entries.values():
            for token in (*entry.label_tokens, *entry.description_tokens):
                self.postings[token].add(entry.iri)
                for stem in stems(token):
                    self.postings[stem].add(entry.iri)
        self.vocabulary = sorted(self.postings)

    # -- building -----------------------------------------------------------------------------

    @classmethod
    def build(cls, store: Store) -> SearchIndex:
        graphs = " ".join(f"<{graph_iri(store.base_uri, name)}>" for name in ("ontology", "data"))
        fields = " ".join(f"<{p}>" for p in (*LABEL_FIELDS, *DESCRIPTION_FIELDS))
        rows = store.select(
            f"SELECT ?s ?p ?o WHERE {{ VALUES ?g {{ {graphs} }} VALUES ?p {{ {fields} }} "
            "GRAPH ?g { ?s ?p ?o } FILTER(isIRI(?s) && isLiteral(?o)) }")
        entries: dict[str, Entry] = {}
        for row in rows:
            iri, prop, literal = str(row["s"]), str(row["p"]), row["o"]
            entry = entries.setdefault(iri, Entry(iri))
            text = " ".join(str(literal).split())
            lang = literal.language or ""
            if prop in LABEL_FIELDS:
                entry.labels.append((text, lang, LABEL_FIELDS[prop]))
            else:
                entry.descriptions.append((text, lang, DESCRIPTION_FIELDS[prop]))
        type_rows = store.select(
            f"SELECT ?s ?t WHERE {{ VALUES ?g {{ {graphs} }} GRAPH ?g {{ ?s a ?t }} "
            "FILTER(isIRI(?s) && isIRI(?t)) }")
        for row in type_rows:
            entry = entries.get(str(row["s"]))
            if entry is not None:
                entry.types.add(str(row["t"]))
        supers: dict[str, set[str]] = defaultdict(set)
        for sub, sups in EXTRA_SUPERCLASSES.items():
            supers[sub].update(sups)
        for row in store.select(
                f"SELECT ?c ?d WHERE {{ GRAPH <{graph_iri(store.base_uri, 'ontology')}> "
                f"{{ ?c <{RDFS}subClassOf> ?d }} FILTER(isIRI(?c) && isIRI(?d)) }}"):
            supers[str(row["c"])].add(str(row["d"]))
        for entry in entries.values():
            entry.all_types = _closure(entry.types, supers)
            for text, _lang, weight in entry.labels:
                entry.folded_labels.append((fold(text), weight))
                _add_tokens(entry.label_tokens, text, weight)
            for text, _lang, weight in entry.descriptions:
                _add_tokens(entry.description_tokens, text, weight)
        return cls(entries, store.version)

    # -- searching ----------------------------------------------------------------------------

    def search(self, query: str, *, types: Iterable[str] = (), limit: int = 20,
               offset: int = 0) -> Results:
        """Hits for `query`, restricted to resources of any of `types` (with subclasses)."""
        query = query[:MAX_QUERY_CHARS]
        wanted = set(types)
        scored: dict[str, Hit] = {}
        for variant in query_variants(query):
            for hit in self._search_variant(variant):
                best = scored.get(hit.entry.iri)
                if best is None or (hit.tier, hit.score) > (best.tier, best.score):
                    scored[hit.entry.iri] = hit
        ranked = sorted(scored.values(), key=_rank_key)
        facets = Counter(t for hit in ranked for t in hit.entry.types)
        if wanted:
            ranked = [hit for hit in ranked if hit.entry.all_types & wanted]
        return Results(query, ranked[offset:offset + limit], len(ranked),
                       sorted(facets.items(), key=lambda item: (-item[1], item[0])))

    def _candidates(self, token: str, allow_prefix: bool) -> set[str]:
        found = set(self.postings.get(token, ()))
        for stem in stems(token):
            found |= self.postings.get(stem, set())
        if allow_prefix and len(token) >= 2:
            start = bisect.bisect_left(self.vocabulary, token)
            for word in self.vocabulary[start:]:
                if not word.startswith(token):
                    break
                found |= self.postings[word]
        return found

    def _search_variant(self, query: str) -> list[Hit]:
        folded = fold(query)
        words = folded.split()
        if not words:
            return []
        candidates: set[str] | None = None
        for i, word in enumerate(words):
            found = self._candidates(word, allow_prefix=i == len(words) - 1)
            candidates = found if candidates is None else candidates & found
            if not candidates:
                return []
        hits = []
        for iri in candidates or ():
            hit = self._score(self.entries[iri], folded, words)
            if hit is not None:
                hits.append(hit)
        return hits

    def _score(self, entry: Entry, folded: str, words: list[str]) -> Hit | None:
        last = len(words) - 1
        total, in_labels_only = 0.0, True
        for i, word in enumerate(words):
            in_label = _token_score(word, entry.label_tokens, i == last)
            in_description = _token_score(word, entry.description_tokens, i == last)
            if in_label <= 0 and in_description <= 0:
                return None
            if in_label <= 0:
                in_labels_only = False
            total += max(in_label, in_description)
        token_score = total / len(words)
        exact = [w for text, w in entry.folded_labels if text == folded]
        prefixed = [w for text, w in entry.folded_labels if text.startswith(folded)]
        if exact:
            tier, weight = 4, max(exact)
        elif prefixed:
            tier, weight = 3, max(prefixed)
        elif in_labels_only:
            tier, weight = 2, 1.0
        else:
            tier, weight = 1, 1.0
        matched = _best_text(entry, folded, words)
        return Hit(entry, round(tier * 25 + 25 * token_score * weight, 3), tier, matched)


def _rank_key(hit: Hit) -> tuple:
    shortest = min((len(t) for t, _ in hit.entry.folded_labels), default=1000)
    return (-hit.score, shortest, hit.entry.label("en").casefold(), hit.entry.iri)


def _token_score(word: str, index: dict[str, float], allow_prefix: bool) -> float:
    best = index.get(word, 0.0) * EXACT
    word_stems = stems(word) | {word}
    if best < EXACT:
        for token, weight in index.items():
            if token == word:
                continue
            if word_stems & (stems(token) | {token}):
                best = max(best, weight * STEM)
            elif allow_prefix and len(word) >= 2 and token.startswith(word):
                best = max(best, weight * PREFIX)
    return best


def _best_text(entry: Entry, folded: str, words: list[str]) -> str:
    def overlap(text: str) -> tuple:
        text_tokens = set(tokens(text))
        return (fold(text) == folded, sum(w in text_tokens for w in words), -len(text))

    texts = [t for t, _, _ in entry.labels] or [t for t, _, _ in entry.descriptions]
    label = max(texts, key=overlap) if texts else entry.iri
    if overlap(label)[1] == 0 and entry.descriptions:
        return max((t for t, _, _ in entry.descriptions), key=overlap)
    return label


def _add_tokens(index: dict[str, float], text: str, weight: float) -> None:
    for token in tokens(text):
        if index.get(token, 0.0) < weight:
            index[token] = weight


def _closure(types: set[str], supers: dict[str, set[str]]) -> set[str]:
    out, todo = set(types), list(types)
    while todo:
        for parent in supers.get(todo.pop(), ()):
            if parent not in out:
                out.add(parent)
                todo.append(parent)
    return out


def query_variants(query: str) -> list[str]:
    """The query, and the query with abbreviations expanded and spellings swapped."""
    words = fold(query).split()
    variants = [" ".join(words)]
    expanded = [fold(ABBREVIATIONS.get(w, w)) for w in words]
    spelled = [SPELLINGS.get(w, w) for w in expanded]
    for candidate in (" ".join(expanded), " ".join(spelled)):
        if candidate not in variants:
            variants.append(candidate)
    return variants


#: Indexes kept (one per store and base; tests and tools may open several stores).
MAX_INDEXES = 8
_indexes: dict[tuple[int, str], SearchIndex] = {}
_lock = threading.Lock()


def index_for(store: Store) -> SearchIndex:
    """The index of `store`'s current version (built on first use, rebuilt when it changes)."""
    key = (id(store), store.base_uri)
    version = store.version
    with _lock:
        index = _indexes.get(key)
        if index is not None and index.version == version:
            return index
    index = SearchIndex.build(store)
    with _lock:
        _indexes.pop(key, None)
        _indexes[key] = index
        while len(_indexes) > MAX_INDEXES:  # the oldest first (dicts keep insertion order)
            _indexes.pop(next(iter(_indexes)))
    return index
