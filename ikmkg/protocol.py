"""The SPARQL 1.1 Protocol request without HTTP: read it, check its encoding, name its format.

`read_protocol` reads a query request (GET, POST form, POST application/sparql-query) and
refuses updates and bad encodings; `format_by_name`/`offered` map `format=` values and result
kinds to media types; `note_capped` marks a capped result in its own format. Moved out of
ikmkg.sparql unchanged. No Flask import.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections import Counter
from urllib.parse import parse_qsl

import pyoxigraph as ox

from ikmkg.errors import QueryError

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
        known = read_query_string(query_string)
        return dataclasses.replace(known, default_graph_uris=list(known.default_graph_uris),
                                   named_graph_uris=list(known.named_graph_uris),
                                   params=dict(known.params))
    return _read_protocol(method, content_type, query_string, body)


@functools.lru_cache(maxsize=1024)
def read_query_string(query_string: bytes) -> ProtocolRequest:
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
            request.default_graph_uris.append(graph_iri(value, name))
        elif name == "named-graph-uri":
            request.named_graph_uris.append(graph_iri(value, name))
        elif name == "timeout":
            try:
                request.timeout = float(value)
            except ValueError:
                raise QueryError(f"timeout must be a number of seconds, not {value!r}") from None
            if not request.timeout > 0:
                raise QueryError("timeout must be positive")
        elif name == "format":
            # repeated (SPARQLWrapper): every value, in order
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


# --- capped results -------------------------------------------------------------------------

def note_capped(body: bytes, result_format: str, max_results: int, max_bytes: int = 0) -> bytes:
    """`body` with a note, in the format's own comment or extension syntax, that it was capped
    (at `max_results` rows or triples, or, when `max_bytes` is given, at that many bytes).

    JSON results get a top-level "capped" member (ignored by SPARQL JSON readers), XML an XML
    comment, CSV/TSV and the line-based RDF formats a final `#` line, JSON-LD a top-level
    member that JSON-LD processing drops.
    """
    limit = (f"max_result_bytes={max_bytes}" if max_bytes
             else f"max_results={max_results}")
    message = (f"result capped at {limit}: more rows or triples exist; "
               "add LIMIT/OFFSET to page through them")
    if result_format == "srj" and body.startswith(b"{"):
        key = "max_bytes" if max_bytes else "max_results"
        member = json.dumps({key: max_bytes or max_results, "message": message})
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


def graph_iri(value: str, parameter: str) -> str:
    """`value` if it is an absolute IRI (a graph name must be one: the protocol passes it to
    the store as it is); else QueryError naming the parameter."""
    try:
        ox.NamedNode(value)
    except ValueError:
        raise QueryError(f"{parameter} must be an absolute IRI, not {value!r}") from None
    return value
