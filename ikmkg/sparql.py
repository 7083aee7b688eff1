"""SPARQL query texts without HTTP: their tokens, and the checks every query passes.

The rest of the protocol has modules of its own: reading a request (ikmkg.protocol), admission
(ikmkg.admission), the service description (ikmkg.service_description), named queries
(ikmkg.named_queries) and the dataset a query runs on (ikmkg.query_dataset).

What this module refuses, before anything is evaluated (each raises `QueryError`, a 400):
updates (`update=`, `application/sparql-update`, or a text that is an update), `SERVICE`
(pyoxigraph would open the connection) and `LOAD`. FROM / FROM NAMED and the protocol's
`default-graph-uri`/`named-graph-uri` may name any graph: one the store does not hold is an empty
graph, never fetched or opened (issue #16, ikmkg.query_dataset). The check works on the token
stream of the SPARQL grammar (strings, IRIs, comments, prefixed names and variables are single
tokens), so a keyword hidden in a literal or a comment is not mistaken for one and a real one is
never missed; pyoxigraph then parses the text and reports syntax errors with line and column.

It also caps SELECT results: a query without LIMIT (or with a larger one) gets `LIMIT
max_results+1`, so that the store can tell a capped result from a complete one cheaply.
No Flask import: the blueprint in ikmkg.web.sparql is a few lines over this.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from urllib.parse import urljoin

from ikmkg.errors import QueryError

# --- tokens ---------------------------------------------------------------------------------

_PN_CHARS_BASE = ("A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF"
                  "\u200C-\u200D\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD"
                  "\U00010000-\U000EFFFF")
_PN_CHARS = _PN_CHARS_BASE + "_0-9\u00B7\u0300-\u036F\u203F-\u2040-"
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\n\r]*)
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
              |'(?:[^'\\\n\r]|\\.)*'|"(?:[^"\\\n\r]|\\.)*")
  | (?P<var>[?$][""" + _PN_CHARS + r"""]+)
  | (?P<pname>(?:[""" + _PN_CHARS_BASE + r"""](?:[""" + _PN_CHARS + r""".]*[""" + _PN_CHARS
    + r"""])?)?:(?:(?:[""" + _PN_CHARS + r""":]|%[0-9A-Fa-f]{2}|\\[_~.!$&'()*+,;=/?\#@%-])
       (?:(?:[""" + _PN_CHARS + r""".:]|%[0-9A-Fa-f]{2}|\\[_~.!$&'()*+,;=/?\#@%-])*
       (?:[""" + _PN_CHARS + r""":]|%[0-9A-Fa-f]{2}|\\[_~.!$&'()*+,;=/?\#@%-]))?)?)
  | (?P<bnode>_:[^\s.;,(){}\[\]]+)
  | (?P<number>[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))
  | (?P<langtag>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>\^\^|\|\||&&|!=|<=|>=|[{}()\[\].,;*+/!=<>|^?-])
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)

UPDATE_KEYWORDS = {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD",
                   "WITH"}
QUERY_FORMS = {"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"}
_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


@dataclasses.dataclass(frozen=True)
class Token:
    kind: str
    text: str
    start: int


def tokenize(text: str) -> list[Token]:
    """The tokens of a SPARQL text (whitespace and comments dropped)."""
    tokens = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind not in ("ws", "comment"):
            tokens.append(Token(kind, match.group(), match.start()))
    return tokens


def unescape(text: str) -> str:
    """`text` with its \\u escapes replaced, as a SPARQL parser reads it (SPARQL 1.1 §19.2:
    they are processed before parsing)."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), text)


# --- the checked query ----------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class CheckedQuery:
    """A query that passed the checks, ready for `Store.query`."""

    text: str  # what is evaluated (LIMIT added when the result must be capped)
    form: str | None  # SELECT, ASK, CONSTRUCT, DESCRIBE (None: the parser will complain)
    has_dataset: bool  # FROM / FROM NAMED present: the query picks its own dataset
    max_results: int  # 0 when the query cannot return more than the cap

    @property
    def kind(self) -> str:
        return "graph" if self.form in ("CONSTRUCT", "DESCRIBE") else "solutions"


#: Query texts up to this size have their check remembered (a cache of at most 1,024 of them,
#: so at most 4 MiB): the same queries come back again and again (named queries, page links).
CACHED_CHECK_CHARS = 4096


def check_query(text: str, *, allowed_graphs: set[str] | frozenset[str],
                max_results: int) -> CheckedQuery:
    """`_check_query`, remembered for short texts (the check is a pure function of its inputs;
    a refusal raises and so is never cached)."""
    if len(text) <= CACHED_CHECK_CHARS:
        return _check_query_cached(text, frozenset(allowed_graphs), max_results)
    return _check_query(text, allowed_graphs=allowed_graphs, max_results=max_results)


@functools.lru_cache(maxsize=1024)
def _check_query_cached(text: str, allowed_graphs: frozenset[str],
                        max_results: int) -> CheckedQuery:
    return _check_query(text, allowed_graphs=allowed_graphs, max_results=max_results)


def _check_query(text: str, *, allowed_graphs: set[str] | frozenset[str],
                 max_results: int) -> CheckedQuery:
    """Check a query text and prepare it for evaluation.

    Args:
        text: the SPARQL query.
        allowed_graphs: the published named graphs (any other graph a query names is empty).
        max_results: most rows or triples returned; 0 for no cap.

    Returns:
        The CheckedQuery.

    Raises:
        QueryError: an update, SERVICE or LOAD.
    """
    tokens = tokenize(unescape(text))
    words = [t.text.upper() if t.kind == "word" else None for t in tokens]
    prefixes: dict[str, str] = {}
    base = ""
    form = None
    i = 0
    # Prologue: BASE <iri> / PREFIX p: <iri>
    while i < len(tokens) and words[i] in ("BASE", "PREFIX"):
        if words[i] == "BASE" and i + 1 < len(tokens) and tokens[i + 1].kind == "iri":
            base = urljoin(base, tokens[i + 1].text[1:-1])
            i += 2
        elif (words[i] == "PREFIX" and i + 2 < len(tokens) and tokens[i + 1].kind == "pname"
              and tokens[i + 2].kind == "iri"):
            prefixes[tokens[i + 1].text[:-1]] = urljoin(base, tokens[i + 2].text[1:-1])
            i += 3
        else:
            break
    if i < len(tokens) and words[i] in UPDATE_KEYWORDS:
        raise QueryError("this endpoint is read-only: SPARQL updates (here "
                         f"{words[i]}) are not accepted")
    if i < len(tokens) and words[i] in QUERY_FORMS:
        form = words[i]
    for word in words:
        if word == "SERVICE":
            raise QueryError("SERVICE is not allowed: this endpoint never queries other "
                             "endpoints (federated queries are refused)")
        if word == "LOAD":
            raise QueryError("LOAD is not allowed: this endpoint is read-only and never "
                             "fetches documents")
    from_graphs = []
    for j, word in enumerate(words):
        if word != "FROM":
            continue
        k = j + 1
        if k < len(tokens) and words[k] == "NAMED":
            k += 1
        if k >= len(tokens):
            continue  # the parser reports the truncated query
        # Any graph may be named: one the store does not hold is an empty graph, and nothing
        # is ever fetched or opened for it (issue #16; ikmkg.query_dataset).
        from_graphs.append(resolve_iri(tokens[k], prefixes, base) or tokens[k].text)
    evaluated = text
    cap = max_results
    if max_results and form == "SELECT":
        evaluated, cap = _limit(text, tokens if text == unescape(text) else tokenize(text),
                                max_results)
    return CheckedQuery(evaluated, form, bool(from_graphs), cap)


def resolve_iri(token: Token, prefixes: dict[str, str], base: str) -> str | None:
    """The IRI an `iri` or `pname` token names under `prefixes` and `base` (None: not one)."""
    if token.kind == "iri":
        return urljoin(base, token.text[1:-1]) if base else token.text[1:-1]
    if token.kind == "pname":
        prefix, _, local = token.text.partition(":")
        if prefix in prefixes:
            return prefixes[prefix] + local
    return None


def _limit(text: str, tokens: list[Token], max_results: int) -> tuple[str, int]:
    """Add or lower the outermost LIMIT to max_results+1; the cap to check (0: none needed)."""
    depth = 0
    limit_at = values_at = None
    for n, token in enumerate(tokens):
        if token.text in ("{", "("):
            depth += 1
        elif token.text in ("}", ")"):
            depth -= 1
        elif depth == 0 and token.kind == "word":
            word = token.text.upper()
            if word == "LIMIT":
                limit_at = n
            elif word == "VALUES":
                values_at = n
    if limit_at is not None and limit_at + 1 < len(tokens):
        number = tokens[limit_at + 1]
        if number.kind == "number" and number.text.isdigit():
            if int(number.text) <= max_results:
                return text, 0
            return (text[:number.start] + str(max_results + 1)
                    + text[number.start + len(number.text):]), max_results
        return text, max_results  # malformed LIMIT: the parser will say so
    clause = f"\nLIMIT {max_results + 1}\n"
    if values_at is not None and (limit_at is None or values_at > limit_at):
        at = tokens[values_at].start
        return text[:at] + clause + text[at:], max_results
    return text + clause, max_results


# --- moved: the names other modules import from here ----------------------------------------
# The protocol request, admission, the service description and named queries have modules of
# their own; these names stay importable from here for existing callers.

from ikmkg.admission import ADMISSION_WAIT, Admission  # noqa: E402, F401
from ikmkg.protocol import (  # noqa: E402, F401
    CACHED_QUERY_STRING_BYTES,
    FORMAT_ALIASES,
    ProtocolRequest,
    _read_query_string,
    decode_text,
    format_by_name,
    note_capped,
    offered,
    parse_pairs,
    read_protocol,
)
from ikmkg.service_description import service_description  # noqa: E402, F401

#: Named queries need the tokenizer above, so they are looked up when first asked for.
_NAMED_QUERY_NAMES = frozenset({"NamedQuery", "INTERFACE_PARAMETERS", "load_named_queries",
                                "parameter_term", "bind_parameters"})


def __getattr__(name: str):  # noqa: ANN202 - PEP 562 module attribute
    if name in _NAMED_QUERY_NAMES:
        from ikmkg import named_queries

        return getattr(named_queries, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
