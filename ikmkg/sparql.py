"""The SPARQL 1.1 Protocol without HTTP: read a request, check the query, pick the dataset.

What this module refuses, before anything is evaluated (each raises `QueryError`, a 400):
updates (`update=`, `application/sparql-update`, or a text that is an update), `SERVICE`
(pyoxigraph would open the connection), `LOAD`, and `FROM`/`FROM NAMED`/`default-graph-uri`/
`named-graph-uri` naming anything but the published named graphs. The check works on the token
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
import itertools
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qsl, urljoin

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF

from ikmkg.errors import DataError, QueryError, TooManyRequests
from ikmkg.kg import rebase_text
from ikmkg.namespaces import SD, bind_prefixes

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
        allowed_graphs: IRIs that FROM / FROM NAMED may name (the published named graphs).
        max_results: most rows or triples returned; 0 for no cap.

    Returns:
        The CheckedQuery.

    Raises:
        QueryError: an update, SERVICE, LOAD, or a dataset outside the published graphs.
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
        iri = resolve_iri(tokens[k], prefixes, base)
        if iri is None or iri not in allowed_graphs:
            shown = iri or tokens[k].text
            raise QueryError(
                f"FROM <{shown}> is not allowed: FROM and FROM NAMED may only name the "
                "published graphs (" + ", ".join(f"<{g}>" for g in sorted(allowed_graphs))
                + "); this endpoint never fetches or opens anything else")
        from_graphs.append(iri)
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


# --- the protocol request -------------------------------------------------------------------

@dataclasses.dataclass
class ProtocolRequest:
    """What a SPARQL Protocol request asks, decoded and checked for encoding."""

    query: str | None = None
    default_graph_uris: list[str] = dataclasses.field(default_factory=list)
    named_graph_uris: list[str] = dataclasses.field(default_factory=list)
    timeout: float | None = None
    format: str | None = None  # `format=` values, a repeated parameter's joined by commas
    params: dict[str, str] = dataclasses.field(default_factory=dict)


def decode_text(raw: bytes, what: str, charset: str = "utf-8") -> str:
    """`raw` decoded as `charset` (UTF-8 or US-ASCII).

    Raises:
        QueryError: a byte that is not valid there; the message says which and where.
    """
    try:
        return raw.decode(charset)
    except UnicodeDecodeError as exc:
        raise QueryError(f"{what} is not valid {_CHARSET_NAMES[charset]}: byte "
                         f"0x{raw[exc.start]:02X} at offset {exc.start} (counting from 0) "
                         f"cannot be read") from None


def parse_pairs(raw: bytes) -> list[tuple[str, str]]:
    """Decode `application/x-www-form-urlencoded` bytes (a query string or a form body).

    Raises:
        QueryError: the bytes, or a parameter once percent-decoded, are not valid UTF-8.
    """
    text = decode_text(raw, "the request")
    try:
        # surrogateescape keeps an invalid percent-encoded byte as a lone surrogate, so that
        # the check below can say in which parameter and where it is.
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8",
                          errors="surrogateescape", max_num_fields=1000)
    except ValueError as exc:
        raise QueryError(f"the request parameters cannot be read: {exc}") from None
    for name, value in pairs:
        for part, what in ((name, "a parameter name"), (value, f"parameter {name!r}")):
            if not part.isascii():
                decode_text(part.encode("utf-8", "surrogateescape"), what
                            + " (percent-decoded)")
    return pairs


#: Query strings of GET requests up to this size have their reading remembered (at most 1,024
#: of them): percent-decoding a query in pure Python costs more than looking it up.
CACHED_QUERY_STRING_BYTES = 8192


def read_protocol(method: str, content_type: str, query_string: bytes,
                  body: bytes) -> ProtocolRequest:
    """Read a SPARQL 1.1 Protocol query request (GET, POST form, POST sparql-query).

    Raises:
        QueryError: bad encoding, an update request, repeated or malformed parameters.
    """
    if method != "POST" and len(query_string) <= CACHED_QUERY_STRING_BYTES:
        # A GET is read from its query string alone; each caller gets its own copy to change.
        known = _read_query_string(query_string)
        return dataclasses.replace(known, default_graph_uris=list(known.default_graph_uris),
                                   named_graph_uris=list(known.named_graph_uris),
                                   params=dict(known.params))
    return _read_protocol(method, content_type, query_string, body)


@functools.lru_cache(maxsize=1024)
def _read_query_string(query_string: bytes) -> ProtocolRequest:
    return _read_protocol("GET", "", query_string, b"")


def _read_protocol(method: str, content_type: str, query_string: bytes,
                   body: bytes) -> ProtocolRequest:
    pairs = parse_pairs(query_string)
    mime, _, options = content_type.partition(";")
    mime = mime.strip().lower()
    direct = None
    if method == "POST":
        if mime == "application/x-www-form-urlencoded":
            _charset(options)  # only to refuse a charset other than UTF-8 (or US-ASCII)
            pairs += parse_pairs(body)
        elif mime == "application/sparql-query":
            direct = decode_text(body, "the query", _charset(options))
        elif mime == "application/sparql-update":
            raise QueryError("this endpoint is read-only: SPARQL updates are not accepted",
                             status=403)
        else:
            raise QueryError(
                f"unsupported Content-Type {mime or '(none)'}: POST a query as "
                "application/sparql-query or application/x-www-form-urlencoded", status=415)
    names = Counter(name for name, _ in pairs)
    if "update" in names or "using-graph-uri" in names or "using-named-graph-uri" in names:
        raise QueryError("this endpoint is read-only: SPARQL updates are not accepted",
                         status=403)
    if names["query"] > 1 or (direct is not None and names["query"]):
        raise QueryError("give exactly one query")
    request = ProtocolRequest(query=direct)
    for name, value in pairs:
        if name == "query":
            request.query = value
        elif name == "default-graph-uri":
            request.default_graph_uris.append(value)
        elif name == "named-graph-uri":
            request.named_graph_uris.append(value)
        elif name == "timeout":
            try:
                request.timeout = float(value)
            except ValueError:
                raise QueryError(f"timeout must be a number of seconds, not {value!r}") from None
            if not request.timeout > 0:
                raise QueryError("timeout must be positive")
        elif name == "format":  # repeated (SPARQLWrapper): every value, in order
            request.format = value if request.format is None else f"{request.format},{value}"
        else:
            request.params[name] = value
    if "\x00" in (request.query or ""):
        raise QueryError("the query contains a NUL character")
    return request


#: The charsets a query may be sent in (the Python codec of each, by its IANA names); any
#: other is refused: some codecs cost quadratic time (punycode: 15 s for 1 MB), and a query is
#: UTF-8 text (SPARQL 1.1 Protocol 2.1.3).
_CHARSETS = {"utf-8": "utf-8", "utf8": "utf-8", "us-ascii": "ascii", "ascii": "ascii"}
_CHARSET_NAMES = {"utf-8": "UTF-8", "ascii": "US-ASCII"}


def _charset(options: str) -> str:
    """The codec of the charset parameter among Content-Type `options` (default UTF-8).

    Raises:
        QueryError: 415, a charset other than UTF-8 or US-ASCII.
    """
    for option in options.split(";"):
        key, _, value = option.partition("=")
        if key.strip().lower() == "charset":
            name = value.strip().strip('"').lower() or "utf-8"
            codec = _CHARSETS.get(name)
            if codec is None:
                raise QueryError(f"unsupported charset {name[:40]!r}: send the query as "
                                 "UTF-8 (charset=utf-8, or none)", status=415)
            return codec
    return "utf-8"


def check_graphs(uris: list[str], allowed: set[str], parameter: str) -> None:
    for uri in uris:
        if uri not in allowed:
            raise QueryError(f"{parameter} <{uri}> is not one of the published graphs ("
                             + ", ".join(f"<{g}>" for g in sorted(allowed))
                             + "); nothing else is ever fetched")


# --- admission: bounded concurrency, per client ---------------------------------------------

#: Seconds a query waits for a free slot before 429 (as the store's own admission_wait).
ADMISSION_WAIT = 1.0


class Admission:
    """Queries in flight per process, shared fairly among clients (issue #20).

    At most `max_concurrent` queries run at once (the store's own bound); one client may hold
    at most half of them, and its further queries get 429 at once. A client that already holds
    a slot may take another only while more than `reserve` (one) stay free, so that a few
    clients cannot take them all: a client with none in flight finds a free slot unless there
    are as many busy clients as slots. When every slot is taken, a query waits up to `wait`
    seconds and the next free slot goes to the waiting client with the fewest in flight (then
    the longest waiting); else 429 with Retry-After. Counts are per server process.
    """

    def __init__(self, max_concurrent: int, retry_after: int, wait: float = ADMISSION_WAIT):
        self.capacity = max(1, max_concurrent)
        self.per_client = max(1, self.capacity // 2)
        self.reserve = 1 if self.capacity > 1 else 0
        self.retry_after, self.wait = retry_after, wait
        self._in_flight: Counter[str] = Counter()
        self._total = 0
        self._waiting: dict[int, str] = {}  # ticket -> client, in arrival order
        self._tickets = itertools.count()
        self._changed = threading.Condition()

    def _fits(self, client: str) -> bool:
        free = self.capacity - self._total
        return free > (self.reserve if self._in_flight[client] else 0)

    def _next_in_line(self) -> int | None:
        """The ticket of the waiting query that takes the next slot that it fits."""
        fitting = [(self._in_flight[client], ticket)
                   for ticket, client in self._waiting.items() if self._fits(client)]
        return min(fitting)[1] if fitting else None

    @contextmanager
    def slot(self, client: str) -> Iterator[None]:
        """Hold one query slot for `client` (an address or network, see ikmkg.web.sparql).

        Raises:
            TooManyRequests: the client holds its share already, or no slot freed in time.
        """
        with self._changed:
            if self._in_flight[client] >= self.per_client:
                raise self._refusal(f"too many queries from this client at once (at most "
                                    f"{self.per_client})")
            ticket = next(self._tickets)
            self._waiting[ticket] = client
            deadline = time.monotonic() + self.wait
            try:
                while self._next_in_line() != ticket:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or self._in_flight[client] >= self.per_client:
                        raise self._refusal(f"{self.capacity} queries are already running")
                    self._changed.wait(remaining)
            finally:
                del self._waiting[ticket]
            self._in_flight[client] += 1
            self._total += 1
            self._changed.notify_all()  # the next in line may fit as well
        try:
            yield
        finally:
            with self._changed:
                self._total -= 1
                self._in_flight[client] -= 1
                if not self._in_flight[client]:
                    del self._in_flight[client]
                self._changed.notify_all()

    def _refusal(self, why: str) -> TooManyRequests:
        return TooManyRequests(f"{why}; try again in {self.retry_after} s",
                               headers={"Retry-After": str(self.retry_after)})


# --- service description --------------------------------------------------------------------

_FORMAT_IRIS = {
    "application/sparql-results+json": "SPARQL_Results_JSON",
    "application/sparql-results+xml": "SPARQL_Results_XML",
    "text/csv": "SPARQL_Results_CSV",
    "text/tab-separated-values": "SPARQL_Results_TSV",
    "text/turtle": "Turtle", "application/n-triples": "N-Triples",
    "application/ld+json": "JSON-LD", "application/rdf+xml": "RDF_XML",
    "application/n-quads": "N-Quads", "application/trig": "TriG",
}


def service_description(endpoint: str, base_uri: str, graphs: dict[str, str]) -> Graph:
    """The SPARQL 1.1 Service Description of the endpoint at `endpoint`."""
    g = bind_prefixes(Graph(), base_uri)
    service = URIRef(endpoint)
    g.add((service, RDF.type, SD.Service))
    g.add((service, SD.endpoint, service))
    g.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    g.add((service, SD.feature, SD.UnionDefaultGraph))
    for name in _FORMAT_IRIS.values():
        g.add((service, SD.resultFormat, URIRef(f"http://www.w3.org/ns/formats/{name}")))
    dataset, default = BNode(), BNode()
    g.add((service, SD.defaultDataset, dataset))
    g.add((dataset, RDF.type, SD.Dataset))
    g.add((dataset, SD.defaultGraph, default))
    g.add((default, RDF.type, SD.Graph))
    for iri in graphs.values():
        named = BNode()
        g.add((dataset, SD.namedGraph, named))
        g.add((named, RDF.type, SD.NamedGraph))
        g.add((named, SD.name, URIRef(iri)))
    return g


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


# --- capped results -------------------------------------------------------------------------

def note_capped(body: bytes, result_format: str, max_results: int) -> bytes:
    """`body` with a note, in the format's own comment or extension syntax, that it was capped.

    JSON results get a top-level "capped" member (ignored by SPARQL JSON readers), XML an XML
    comment, CSV/TSV and the line-based RDF formats a final `#` line, JSON-LD a top-level
    member that JSON-LD processing drops.
    """
    message = (f"result capped at max_results={max_results}: more rows or triples exist; "
               "add LIMIT/OFFSET to page through them")
    if result_format == "srj" and body.startswith(b"{"):
        member = json.dumps({"max_results": max_results, "message": message})
        return b'{"capped":' + member.encode() + b"," + body[1:]
    if result_format == "jsonld":
        return (b'{"capped":' + json.dumps(message).encode() + b',"@graph":' + body + b"}")
    if result_format in ("srx", "rdf"):
        comment = f"<!-- {message} -->".encode()
        if body.startswith(b"<?xml"):
            end = body.index(b"?>") + 2
            return body[:end] + b"\n" + comment + body[end:]
        return comment + b"\n" + body
    if not body.endswith(b"\n"):
        body += b"\n"
    return body + f"# {message}\n".encode()
