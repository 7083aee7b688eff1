"""The RDF dataset a query runs on: protocol parameters, FROM / FROM NAMED, and unknown graphs.

Two rules of the standards, kept on every backend (issue #16):

- The protocol's dataset wins. SPARQL 1.1 Protocol §2.1.4: when `default-graph-uri` or
  `named-graph-uri` is given, the query's own FROM / FROM NAMED are ignored
  (`without_dataset_clauses` drops them from the text before anything else looks at it).
- A graph IRI the store does not hold is an empty graph, as on Oxigraph and Fuseki: in the
  protocol parameters, in FROM / FROM NAMED and in `GRAPH <iri>`. Nothing is ever fetched or
  opened for it. The embedded store (pyoxigraph) reads nothing but its own graphs, so it gets
  the IRI as it is; a remote store never sees it (`RemoteDataset`): it is replaced by a graph
  name that nothing ever writes (`EMPTY_GRAPH_PREFIX`), so that no store's own fetching
  (Virtuoso's sponger) can be triggered, and results show the original IRI again.

Virtuoso answers a constant `GRAPH <g>` that is not among the named graphs it was sent as if it
matched (`ASK { GRAPH <g> { ?s ?p ?o } }` is true, `COUNT(*)` is 1, `FILTER EXISTS` holds), and
the same for `VALUES ?g { <g> } GRAPH ?g`. `RemoteDataset` therefore sends every constant graph a
query can name (in GRAPH, or in a VALUES block of a variable used in GRAPH) that is not in the
query's named graphs as an empty named graph of its own: the store then answers from an empty
graph, as the embedded store does. The one difference left: `GRAPH <g> {}` (an empty group) on
such a graph is true on a remote store and false on the embedded one.

Works on the token stream of ikmkg.sparql (strings, IRIs, comments and prefixed names are single
tokens). No Flask import.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from urllib.parse import urljoin

from ikmkg import sparql

#: Names of the graphs that stand in for unknown graph IRIs on a remote store. `ikmkg load`
#: never writes a graph under this prefix, so each is empty by construction.
EMPTY_GRAPH_PREFIX = "urn:ikmkg:empty-graph:"


@dataclasses.dataclass(frozen=True)
class _Mention:
    """A term of the query text that names a graph or a dataset clause."""

    start: int  # offset in the unescaped text
    end: int
    iri: str | None  # None: not an IRI (a variable, or a prefix the query does not declare)


@dataclasses.dataclass(frozen=True)
class _Reading:
    """The unescaped text and the graph-related spans found in it."""

    text: str
    clauses: list[tuple[int, int, str | None, bool]]  # start, end, iri, named
    graph_terms: list[_Mention]  # constant terms after GRAPH, and IRIs in VALUES of GRAPH ?vars


def _read(text: str) -> _Reading:
    source = sparql.unescape(text)
    tokens = sparql.tokenize(source)
    words = [t.text.upper() if t.kind == "word" else None for t in tokens]
    prefixes: dict[str, str] = {}
    base = ""
    resolved: list[str | None] = [None] * len(tokens)
    declaration: set[int] = set()
    for i, token in enumerate(tokens):
        if words[i] == "BASE" and i + 1 < len(tokens) and tokens[i + 1].kind == "iri":
            base = urljoin(base, tokens[i + 1].text[1:-1])
            declaration.add(i + 1)
        elif (words[i] == "PREFIX" and i + 2 < len(tokens) and tokens[i + 1].kind == "pname"
              and tokens[i + 2].kind == "iri"):
            prefixes[tokens[i + 1].text[:-1]] = urljoin(base, tokens[i + 2].text[1:-1])
            declaration.update((i + 1, i + 2))
        elif i not in declaration and token.kind in ("iri", "pname"):
            resolved[i] = sparql.resolve_iri(token, prefixes, base)
    clauses = []
    graph_terms = []
    graph_vars = set()
    for i, word in enumerate(words):
        if word == "FROM":
            k = i + 2 if i + 1 < len(tokens) and words[i + 1] == "NAMED" else i + 1
            if k < len(tokens):
                end = tokens[k].start + len(tokens[k].text)
                clauses.append((tokens[i].start, end, resolved[k], k == i + 2))
        elif word == "GRAPH" and i + 1 < len(tokens):
            term = tokens[i + 1]
            if term.kind == "var":
                graph_vars.add(term.text[1:])
            elif term.kind in ("iri", "pname"):
                graph_terms.append(_Mention(term.start, term.start + len(term.text),
                                            resolved[i + 1]))
    graph_terms += _values_of(tokens, words, resolved, graph_vars)
    return _Reading(source, clauses, graph_terms)


def _values_of(tokens: list[sparql.Token], words: list[str | None], resolved: list[str | None],
               graph_vars: set[str]) -> list[_Mention]:
    """The IRIs that VALUES blocks give to the variables in `graph_vars`."""
    mentions = []
    for i, word in enumerate(words):
        if word != "VALUES" or i + 1 >= len(tokens):
            continue
        k = i + 1
        if tokens[k].kind == "var":  # VALUES ?v { a b }
            names = [tokens[k].text[1:]]
            k += 1
        elif tokens[k].text == "(":  # VALUES (?a ?b) { (a b) (c d) }
            names = []
            k += 1
            while k < len(tokens) and tokens[k].kind == "var":
                names.append(tokens[k].text[1:])
                k += 1
            k += 1  # the closing parenthesis
        else:
            continue
        if k >= len(tokens) or tokens[k].text != "{" or not graph_vars & set(names):
            continue
        column = 0
        k += 1
        while k < len(tokens) and tokens[k].text != "}":
            token = tokens[k]
            if token.text == "(":
                column = 0
            elif token.text == ")":
                pass
            else:
                if (names[column % len(names)] in graph_vars
                        and token.kind in ("iri", "pname")):
                    mentions.append(_Mention(token.start, token.start + len(token.text),
                                             resolved[k]))
                column += 1
            k += 1
    return mentions


def without_dataset_clauses(text: str) -> str:
    """`text` without its FROM / FROM NAMED clauses (Protocol §2.1.4: a dataset given in the
    protocol replaces them). Returns `text` itself when it has none."""
    reading = _read(text)
    if not reading.clauses:
        return text
    return _edit(reading.text, [(start, end, " ") for start, end, _, _ in reading.clauses])


def _edit(source: str, edits: list[tuple[int, int, str]]) -> str:
    parts, at = [], 0
    for start, end, replacement in sorted(edits):
        parts += [source[at:start], replacement]
        at = end
    return "".join(parts) + source[at:]


@dataclasses.dataclass(frozen=True)
class RemoteDataset:
    """What a remote store is sent: the text and an explicit dataset, unknown graphs replaced.

    Attributes:
        text: the query without FROM / FROM NAMED, unknown graph IRIs replaced by empty graphs.
        default_graphs, named_graphs: the dataset, as public IRIs of published graphs or names
            of empty graphs (`EMPTY_GRAPH_PREFIX`).
        shown: empty graph name -> the IRI the query named (to put back into results).
    """

    text: str
    default_graphs: list[str]
    named_graphs: list[str]
    shown: dict[str, str]

    @classmethod
    def plan(cls, text: str, published: Iterable[str], default_graph_uris: list[str] | None,
             named_graph_uris: list[str] | None) -> RemoteDataset:
        """The dataset of `text` (or of the protocol, which wins) on a store holding only the
        graphs `published` (public IRIs): the union of them all when nothing names one."""
        held = list(published)
        reading = _read(text)
        if default_graph_uris is not None or named_graph_uris is not None:
            default, named = list(default_graph_uris or []), list(named_graph_uris or [])
        elif reading.clauses:
            default = [iri for _, _, iri, is_named in reading.clauses if iri and not is_named]
            named = [iri for _, _, iri, is_named in reading.clauses if iri and is_named]
        else:
            default, named = list(held), list(held)
        empties: dict[str, str] = {}

        def empty(iri: str) -> str:
            return empties.setdefault(iri, f"{EMPTY_GRAPH_PREFIX}{len(empties)}")

        default = [g if g in held else empty(g) for g in default]
        named = [g if g in held else empty(g) for g in named]
        edits = [(start, end, " ") for start, end, _, _ in reading.clauses]
        for mention in reading.graph_terms:
            if mention.iri is None or mention.iri in named:
                continue  # a named graph of this dataset, held by the store
            # Not a named graph of this dataset, or not one the store holds: an empty named
            # graph of its own (see the module docstring).
            name = empty(mention.iri)
            if name not in named:
                named.append(name)
            edits.append((mention.start, mention.end, f"<{name}>"))
        # A side left empty is stated as an empty graph: a store may read a missing
        # default-graph-uri or named-graph-uri as "all my graphs" (Virtuoso does).
        default = default or [f"{EMPTY_GRAPH_PREFIX}none"]
        named = named or [f"{EMPTY_GRAPH_PREFIX}none"]
        sent = _edit(reading.text, edits) if edits else text
        return cls(sent, default, named, {name: iri for iri, name in empties.items()})
