"""SPARQL on its way to a remote store and back: the checks and graph renames a query gets
before it is sent, and the normalisation of what the store answers.

Safety: every query is checked by `ikmkg.sparql.check_query` (updates, SERVICE and LOAD are
refused; graphs the store does not hold are replaced by empty ones, ikmkg.query_dataset) plus the extensions of common stores that could reach
files or the network (Virtuoso's `DEFINE` pragmas and `bif:`/`sql:` functions) before anything
is sent (`check_remote`). Public graph IRIs are rewritten to the stored ones on the token stream
(`rename_graphs`).

Results are normalised through pyoxigraph: the store is asked for SPARQL JSON (SELECT/ASK) or
N-Triples (CONSTRUCT/DESCRIBE), and ikmkg serialises the requested format itself, which irons out
store quirks (Virtuoso's "typed-literal", `nodeID://` blank nodes, ASK answered as a table) and
caps results the same way on every backend (`serialise_solutions`, `serialise_graph`).
No Flask import here.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable
from urllib.parse import urljoin

import pyoxigraph as ox

from ikmkg import sparql
from ikmkg.engine.executor import RequestError, capped_tsv, fit_solutions, fit_triples
from ikmkg.errors import QueryError
from ikmkg.formats import OXIGRAPH_RDF_FORMATS as RDF_FORMATS
from ikmkg.formats import OXIGRAPH_RESULT_FORMATS as RESULT_FORMATS
from ikmkg.formats import keep_carriage_returns
from ikmkg.namespaces import prefixes

XSD = "http://www.w3.org/2001/XMLSchema#"

# --- on the way in ------------------------------------------------------------------------------

#: Namespaces of store extension functions that can read files or open connections (Virtuoso's
#: `bif:` and `sql:`). Refused wherever they appear, like SERVICE.
FORBIDDEN_NAMESPACES = ("http://www.openlinksw.com/schemas/bif#",
                        "http://www.openlinksw.com/schemas/sql#")
FORBIDDEN_PREFIXES = {"bif", "sql"}  # predefined (undeclared) in Virtuoso


def rename_graphs(text: str, names: dict[str, str]) -> str:
    """The query `text` with each mention of a graph in `names` replaced by `<names[iri]>`.

    Mentions are found on the token stream (`ikmkg.sparql.tokenize`): IRIs, relative IRIs under
    BASE and prefixed names that resolve to a key of `names`, wherever they stand (FROM, GRAPH,
    VALUES, FILTER); strings and comments are never touched. The IRIs of PREFIX and BASE
    declarations are left alone, so other names built on them keep their meaning. A text with
    \\u escapes is read, and when renamed sent, as a parser reads it (SPARQL 1.1 §19.2: the
    escapes are replaced before parsing). Returns `text` itself when nothing is renamed.
    """
    if not names:
        return text
    source = sparql.unescape(text)
    tokens = sparql.tokenize(source)
    prefixes: dict[str, str] = {}
    base = ""
    declaration: set[int] = set()
    edits: list[tuple[int, int, str]] = []
    for i, token in enumerate(tokens):
        word = token.text.upper() if token.kind == "word" else None
        if word == "BASE" and i + 1 < len(tokens) and tokens[i + 1].kind == "iri":
            base = urljoin(base, tokens[i + 1].text[1:-1])
            declaration.add(i + 1)
        elif (word == "PREFIX" and i + 2 < len(tokens) and tokens[i + 1].kind == "pname"
              and tokens[i + 2].kind == "iri"):
            prefixes[tokens[i + 1].text[:-1]] = urljoin(base, tokens[i + 2].text[1:-1])
            declaration.update((i + 1, i + 2))
        elif i not in declaration and token.kind in ("iri", "pname"):
            iri = sparql.resolve_iri(token, prefixes, base)
            if iri in names:
                edits.append((token.start, token.start + len(token.text), f"<{names[iri]}>"))
    if not edits:
        return text
    parts, at = [], 0
    for start, end, replacement in edits:
        parts += [source[at:start], replacement]
        at = end
    return "".join(parts) + source[at:]


def check_remote(text: str) -> sparql.CheckedQuery:
    """`ikmkg.sparql.check_query`, plus what only a remote store could act on.

    Raises:
        QueryError: anything `check_query` refuses; a text that is not one standard query form
            after its prologue (store pragmas such as Virtuoso's `DEFINE`); store functions that
            reach outside the graph (`bif:`, `sql:`).
    """
    checked = sparql.check_query(text, max_results=0)
    tokens = sparql.tokenize(sparql.unescape(text))
    if checked.form is None:
        first = next((t.text for t in tokens if t.kind == "word"
                      and t.text.upper() not in ("BASE", "PREFIX")), "")
        raise QueryError("not a SPARQL query: after PREFIX/BASE a query must start with SELECT, "
                         f"ASK, CONSTRUCT or DESCRIBE (found {first[:40]!r}); store-specific "
                         "pragmas are not accepted")
    has_base = any(t.kind == "word" and t.text.upper() == "BASE" for t in tokens)
    for token in tokens:
        # Without BASE a relative IRI is a syntax error (the embedded store says so); a server
        # would resolve it against a base of its own instead.
        if token.kind == "iri" and not has_base and not _ABSOLUTE.match(token.text[1:-1]):
            raise QueryError(f"relative IRI {token.text} without BASE")
    declared = set()
    for i, token in enumerate(tokens):
        if token.kind == "word" and token.text.upper() == "DEFINE":
            raise QueryError("DEFINE pragmas are not accepted")
        if token.kind == "word" and token.text.upper() == "PREFIX" and i + 1 < len(tokens):
            declared.add(tokens[i + 1].text[:-1])
    for token in tokens:
        iri = None
        if token.kind == "iri":
            iri = token.text[1:-1]
        elif token.kind == "pname":
            prefix = token.text.partition(":")[0]
            if prefix.lower() in FORBIDDEN_PREFIXES and prefix not in declared:
                raise QueryError(f"{token.text}: store extension functions are not accepted")
        if iri and iri.startswith(FORBIDDEN_NAMESPACES):
            raise QueryError(f"<{iri}>: store extension functions are not accepted")
    for i, token in enumerate(tokens):  # a declared prefix may still point at those namespaces
        if (token.kind == "word" and token.text.upper() == "PREFIX" and i + 2 < len(tokens)
                and tokens[i + 2].text[1:-1].startswith(FORBIDDEN_NAMESPACES)):
            raise QueryError("store extension functions are not accepted")
    return checked


_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def with_base(text: str, base_iri: str) -> str:
    """`text` with `BASE <base_iri>` before it when it declares no BASE of its own (on its first
    line, so that the lines a store's syntax error names stay the query's)."""
    tokens = sparql.tokenize(sparql.unescape(text))
    if any(t.kind == "word" and t.text.upper() == "BASE" for t in tokens):
        return text
    return f"BASE <{base_iri}> {text}"


# --- on the way back: normalising what the store returns ----------------------------------------

def _plain_string(term: dict) -> bool:
    return "xml:lang" not in term and term.get("datatype", XSD + "string") == XSD + "string"


def _normalise_json(body: bytes, form: str | None, rename: dict[str, str] | None = None) -> bytes:
    """SPARQL JSON results as pyoxigraph reads them (Virtuoso writes an older dialect), with
    the stored graph names in `rename` (and their plain string forms) shown as its values."""
    data = json.loads(body)
    if "boolean" in data:
        return body
    head_vars = data.get("head", {}).get("vars", [])
    rows = data.get("results", {}).get("bindings", [])
    if form == "ASK":  # Virtuoso answers ASK as a one-column table (__ASK_RETVAL)
        truth = bool(rows) and all(
            next(iter(r.values()), {}).get("value") not in ("0", "false") for r in rows)
        return json.dumps({"head": {}, "boolean": truth}).encode()
    labels: dict[str, str] = {}
    for row in rows:
        for term in row.values():
            if term.get("type") == "typed-literal":
                term["type"] = "literal"
            elif term.get("type") == "bnode":
                term["value"] = labels.setdefault(term["value"], f"b{len(labels)}")
            if rename and term.get("value") in rename and (
                    term.get("type") == "uri" or term.get("type") == "literal"
                    and _plain_string(term)):
                term["value"] = rename[term["value"]]
    return json.dumps({"head": {"vars": head_vars}, "results": {"bindings": rows}}).encode()


def serialise_solutions(body: bytes, form: str | None, result_format: str,
                        max_results: int, rename: dict[str, str] | None = None,
                        max_bytes: int = 0) -> tuple[bytes, str, bool, int | None]:
    """(bytes in `result_format`, kind, capped, rows) from the store's SPARQL JSON."""
    if result_format not in RESULT_FORMATS:
        raise QueryError(f"a {form or 'SELECT'} query has no {result_format} serialisation")
    results = ox.parse_query_results(_normalise_json(body, form, rename),
                                     format=ox.QueryResultsFormat.JSON)
    if isinstance(results, ox.QueryBoolean):
        return results.serialize(format=RESULT_FORMATS[result_format]), "boolean", False, None
    # Through TSV like the embedded executor: rows counted, the cap cheap (ikmkg.engine.executor).
    tsv, capped, rows = capped_tsv(results, max_results)
    try:
        data, cut, rows = fit_solutions(tsv, result_format, max_bytes)
    except RequestError as exc:  # a character XML cannot carry
        raise QueryError(str(exc)) from None
    return data, "solutions", capped or cut, rows


def _renamed(term: ox.NamedNode | ox.BlankNode | ox.Literal,
             rename: dict[str, str]) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(term, ox.NamedNode) and term.value in rename:
        return ox.NamedNode(rename[term.value])
    if (isinstance(term, ox.Literal) and term.value in rename and term.language is None
            and term.datatype.value == XSD + "string"):
        return ox.Literal(rename[term.value])
    return term


def serialise_graph(body: bytes, result_format: str, max_results: int, base_uri: str,
                    rename: dict[str, str] | None = None,
                    max_bytes: int = 0) -> tuple[bytes, str, bool, int | None]:
    """(bytes in `result_format`, kind, capped, rows) from the store's N-Triples, with the
    stored graph names in `rename` shown as their public ones."""
    if result_format not in RDF_FORMATS:
        raise QueryError(f"a CONSTRUCT or DESCRIBE query has no {result_format} serialisation")
    triples: Iterable[ox.Triple] = ox.parse(body, format=ox.RdfFormat.N_TRIPLES)
    capped = False
    if max_results:
        triples = list(itertools.islice(triples, max_results + 1))
        capped = len(triples) > max_results
        triples = triples[:max_results]
    renamed = bool(rename) and any(name.encode() in body for name in rename)
    if renamed:
        triples = [ox.Triple(_renamed(t.subject, rename), t.predicate, _renamed(t.object, rename))
                   for t in triples]
    rows = len(triples) if max_results else None
    if result_format == "nt" and not capped and not renamed and len(body) <= (
            max_bytes or len(body)):
        return body, "graph", False, rows
    xml = keep_carriage_returns if result_format == "rdf" else (lambda data: data)
    data, cut, kept = fit_triples(
        list(triples), lambda some: xml(ox.serialize(some, format=RDF_FORMATS[result_format],
                                                     prefixes=prefixes(base_uri))), max_bytes)
    return data, "graph", capped or cut, kept if cut else rows
