"""Named queries: `queries/NAME.rq` files with their title, description and parameters, and the
binding of parameter values as RDF terms.

Moved out of ikmkg.sparql unchanged. No Flask import.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pyoxigraph as ox
from rdflib import Literal, URIRef

from ikmkg.errors import DataError, QueryError
from ikmkg.kg import rebase_text
from ikmkg.sparql import QUERY_FORMS, tokenize

# --- named queries --------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class NamedQuery:
    """A query from queries/NAME.rq with its title, description and parameters."""

    name: str
    title: str
    description: str
    params: tuple[tuple[str, str], ...]
    text: str


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_HEADER_LINE = re.compile(r"^#\s*(title|description|param)\s*:\s*(.*)$", re.IGNORECASE)
#: `#` and at least two spaces: the previous header line goes on (issue #17: a description of
#: several lines is one description, not its first line).
_CONTINUATION = re.compile(r"^#\s{2,}(\S.*)$")
#: Request parameters that belong to the interface (the page's language), never to a query:
#: `/queries/NAME?lang=id` runs NAME in an Indonesian page (issue #17).
INTERFACE_PARAMETERS = frozenset({"lang"})


def load_named_queries(folder: Path, base_uri: str) -> dict[str, NamedQuery]:
    """Every `*.rq` file of `folder` (sorted by name), rebased to `base_uri`.

    The leading comment lines carry `# title: ...`, `# description: ...` and any number of
    `# param: name — description` lines; a line `#   more text` continues the one before.

    Raises:
        DataError: a query declares a parameter named like an interface parameter (`lang`).
    """
    queries = {}
    for path in sorted(Path(folder).glob("*.rq")):
        if not _NAME.match(path.stem):
            continue
        text = rebase_text(path.read_text(encoding="utf-8"), base_uri)
        meta: dict[str, str] = {}
        params = []
        lines: dict[str, list[str]] = {}  # key -> its lines; a param's key is "param <n>"
        key = None
        for line in text.splitlines():
            if not line.startswith("#"):
                if line.strip():
                    break
                key = None
                continue
            match = _HEADER_LINE.match(line)
            continued = _CONTINUATION.match(line)
            if match:
                key = match.group(1).lower()
                if key == "param":
                    key = f"param {len(lines)}"
                lines[key] = [match.group(2).strip()]
            elif continued and key is not None:
                lines[key].append(continued.group(1).strip())
            else:
                key = None
        for key, parts in lines.items():
            value = " ".join(part for part in parts if part)
            if key.startswith("param "):
                params.append(_split_param(value))
            else:
                meta[key] = value
        reserved = INTERFACE_PARAMETERS & {name for name, _ in params}
        if reserved:
            raise DataError(f"{path.name}: the parameter name(s) {', '.join(sorted(reserved))} "
                            "belong to the interface; name the query's parameter otherwise")
        queries[path.stem] = NamedQuery(path.stem, meta.get("title", path.stem),
                                        meta.get("description", ""), tuple(params), text)
    return queries


def _split_param(value: str) -> tuple[str, str]:
    """`name — description` (also `?name`, and -, --, – or : as the separator)."""
    match = re.match(r"^[?$]?([A-Za-z_][A-Za-z0-9_]*)\s*(?:[—–]|--?|:)?\s*(.*)$", value)
    if not match:
        return value, ""
    return match.group(1), match.group(2)


_IRI_OK = re.compile(r'^[A-Za-z][A-Za-z0-9+.-]*:[^<>"{}|^`\\\x00-\x20]*$')
_INTEGER = re.compile(r"^[+-]?\d+$")
_DECIMAL = re.compile(r"^[+-]?\d*\.\d+$")
_XSD = "http://www.w3.org/2001/XMLSchema#"


def parameter_term(value: str) -> str:
    """A parameter value as one RDF term in canonical N-Triples syntax.

    `<iri>` or an absolute IRI (with `://`, or `urn:`) -> IRI; an integer or decimal -> typed
    literal; a literal written in N-Triples syntax (`"x"@en`, `"1"^^<...>`) as written; anything
    else -> a plain string literal. The term is parsed and re-serialised by pyoxigraph, so what
    reaches the query is exactly one well-formed term, never SPARQL syntax from the request.

    Raises:
        QueryError: the value is not a well-formed term.
    """
    text = value.strip()
    if text.startswith("<") and text.endswith(">"):
        candidate = text
    elif _IRI_OK.match(text) and ("://" in text or text.startswith("urn:")):
        candidate = f"<{text}>"
    elif _INTEGER.match(text):
        candidate = Literal(text, datatype=URIRef(_XSD + "integer")).n3()
    elif _DECIMAL.match(text):
        candidate = Literal(text, datatype=URIRef(_XSD + "decimal")).n3()
    elif text.startswith('"'):
        candidate = text
    else:
        candidate = Literal(value).n3()
    try:
        quads = list(ox.parse(f"<urn:x:s> <urn:x:p> {candidate} .".encode(),
                              format=ox.RdfFormat.N_TRIPLES))
    except SyntaxError:
        quads = []
    if len(quads) != 1:
        raise QueryError(f"parameter value {value!r} is not an IRI or a literal")
    return str(quads[0].object)


def bind_parameters(text: str, terms: dict[str, str]) -> str:
    """`text` with `VALUES ?name { term }` opening its WHERE group, one per parameter.

    Args:
        text: a SELECT, ASK, CONSTRUCT or DESCRIBE query.
        terms: variable name -> a term from `parameter_term`.

    Raises:
        QueryError: the query has no WHERE group to bind in.
    """
    if not terms:
        return text
    tokens = tokenize(text)
    depth = 0
    after_where = False
    form = None
    for token in tokens:
        word = token.text.upper() if token.kind == "word" else None
        if depth == 0 and word in QUERY_FORMS and form is None:
            form = word
        if depth == 0 and word == "WHERE":
            after_where = True
        if token.text == "{" and depth == 0 and (after_where or form in ("SELECT", "ASK")):
            values = "".join(f" VALUES ?{name} {{ {term} }}" for name, term in terms.items()
                             if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name))
            at = token.start + 1
            return text[:at] + values + text[at:]
        if token.text in ("{", "("):
            depth += 1
        elif token.text in ("}", ")"):
            depth -= 1
    raise QueryError("this query has no WHERE group to bind parameters in")
