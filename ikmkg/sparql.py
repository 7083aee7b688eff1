"""SPARQL query texts without HTTP: their tokens, and the checks every query passes.

The rest of the protocol has modules of its own: reading a request (ikmkg.protocol), admission
(ikmkg.admission), the service description (ikmkg.service_description), named queries
(ikmkg.named_queries) and the dataset a query runs on (ikmkg.query_dataset).

What this module refuses, before anything is evaluated (each raises `QueryError`, a 400):
updates (`update=`, `application/sparql-update`, or a text that is an update), `SERVICE`
(pyoxigraph would open the connection), `LOAD`, and nesting deeper than the engine's parser can
take (it would crash the engine, see `check_nesting`). FROM / FROM NAMED and the protocol's
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


#: Deepest nesting accepted: open brackets ({ ( [) plus a run of prefix operators (! ^ - +).
#: pyoxigraph parses and optimises a query by recursion on a thread's stack (8 MiB): measured
#: on 0.5, 1,000 nested `FILTER NOT EXISTS {` or 3,000 `{` or 10,000 `!` kill the whole engine
#: process (SIGSEGV), so the limit keeps a margin of 5 or more; real queries nest a few dozen.
MAX_QUERY_NESTING = 100
#: Most tree nodes on one path from the root: at each open level, the operators and group
#: elements seen so far (a chain `a || b || c`, `{} UNION {}`, BIND after BIND is a left-deep
#: tree, as deep as it is long; 5,000 BINDs or 10,000 `||` crash the engine, 2,000 do not).
MAX_QUERY_CHAIN = 2000
_PREFIX_OPERATORS = frozenset({"!", "^", "-", "+"})
_CHAIN_PUNCT = frozenset({"||", "&&", "|", "/", "+", "-", "*", "=", "!=", "<", ">", "<=", ">=",
                          "{"})
_CHAIN_WORDS = frozenset({"UNION", "OPTIONAL", "MINUS", "BIND", "FILTER", "GRAPH", "VALUES"})
_OPENING, _CLOSING = frozenset("{(["), frozenset("})]")


def check_nesting(tokens: list[Token]) -> None:
    """Refuse a query nested or chained deeper than the engine's parser can take.

    A loop over the tokens (no recursion, so the check cannot overflow itself); brackets inside
    strings, IRIs and comments are parts of those tokens and do not count.

    Raises:
        QueryError: deeper than MAX_QUERY_NESTING or MAX_QUERY_CHAIN.
    """
    chains = [0]  # operators and group elements counted at each open level
    path = 0  # sum of `chains` plus the open levels: the tree depth on the current path
    run = 0  # prefix operators in a row
    for token in tokens:
        text = token.text
        punct = token.kind == "punct"
        run = run + 1 if punct and text in _PREFIX_OPERATORS else 0
        if (punct and text in _CHAIN_PUNCT) or (
                token.kind == "word" and text.upper() in _CHAIN_WORDS):
            chains[-1] += 1
            path += 1
        if punct and text in _OPENING:
            chains.append(0)
            path += 1
        elif punct and text in _CLOSING and len(chains) > 1:
            path -= chains.pop() + 1
        if len(chains) - 1 + run > MAX_QUERY_NESTING:
            raise QueryError(f"the query is nested more than {MAX_QUERY_NESTING} levels deep "
                             f"(at character {token.start}); this endpoint refuses deeper ones")
        if path + run > MAX_QUERY_CHAIN:
            raise QueryError(f"the query chains more than {MAX_QUERY_CHAIN} operators or group "
                             f"elements on one path (at character {token.start}); this endpoint "
                             "refuses longer ones")


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


def check_query(text: str, *, max_results: int) -> CheckedQuery:
    """`_check_query`, remembered for short texts (the check is a pure function of its inputs;
    a refusal raises and so is never cached)."""
    if len(text) <= CACHED_CHECK_CHARS:
        return _check_query_cached(text, max_results)
    return _check_query(text, max_results=max_results)


@functools.lru_cache(maxsize=1024)
def _check_query_cached(text: str, max_results: int) -> CheckedQuery:
    return _check_query(text, max_results=max_results)


def _check_query(text: str, *, max_results: int) -> CheckedQuery:
    """Check a query text and prepare it for evaluation.

    Args:
        text: the SPARQL query.
        max_results: most rows or triples returned; 0 for no cap.

    Returns:
        The CheckedQuery.

    Raises:
        QueryError: an update, SERVICE, LOAD, or nesting deeper than the engine can parse
            (`check_nesting`).
    """
    tokens = tokenize(unescape(text))
    check_nesting(tokens)
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
