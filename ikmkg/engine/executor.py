"""Evaluate SPARQL queries on pyoxigraph and serialise the results natively; a killable process.

pyoxigraph cannot be interrupted from Python while it evaluates a query, so the server evaluates
every query in a small child process (`python -m ikmkg.engine.executor STORE_DIR`) that the
parent can kill when the time limit passes (see `ikmkg.pooled_store.PooledStore`). The child
opens the on-disk store read-only, and, where the kernel allows it, drops into an empty network
namespace first so that no query can open a connection even if the endpoint's own checks
(`ikmkg.sparql`) missed one.

This module imports nothing but the standard library and pyoxigraph, so that each child stays
small. `evaluate` is also used in-process by `ikmkg.store.EmbeddedStore`.

Wire protocol (stdin/stdout of the child): every message is a frame, one type byte and a 4-byte
big-endian length, then the payload. Requests are `Q` frames holding JSON. Answers are
`D` frames (the serialised result, in chunks of up to 64 KiB as it is produced) and an `E` frame
(JSON: kind, capped); or, in place of `E`, an `X` frame (JSON: the error message). Syntax errors
come before any data. The child sends `R` once the store is open.
"""

from __future__ import annotations

import ctypes
import io
import itertools
import json
import os
import re
import struct
import sys
from collections.abc import Callable

import pyoxigraph as ox

from ikmkg.formats import OXIGRAPH_RDF_FORMATS as RDF_FORMATS
from ikmkg.formats import OXIGRAPH_RESULT_FORMATS as RESULT_FORMATS
from ikmkg.formats import keep_carriage_returns

HEADER = struct.Struct(">cI")
CHUNK = 1 << 16
#: Write buffer of an answering process: an answer up to this size (its data frames and its end
#: frame) leaves in one write, so the reader wakes once for it instead of once a frame.
ANSWER_BUFFER = 1 << 20


class RequestError(Exception):
    """The query cannot be evaluated as asked (syntax, unsupported format): the client's fault."""


def _nodes(iris: list[str] | None) -> list[ox.NamedNode] | None:
    return None if iris is None else [ox.NamedNode(i) for i in iris]


def capped_tsv(solutions: ox.QuerySolutions,
               max_results: int) -> tuple[bytes, bool, int]:
    """The solutions as TSV cut to `max_results` rows (0: no cap), whether they were cut, and
    how many rows are kept (TSV writes exactly one line per row, after the header)."""
    tsv = solutions.serialize(format=ox.QueryResultsFormat.TSV)
    lines = tsv.count(b"\n") + (1 if tsv and not tsv.endswith(b"\n") else 0)
    if not max_results or lines - 1 <= max_results:
        return tsv, False, max(lines - 1, 0)
    end = -1
    for _ in range(max_results + 1):  # the header and max_results rows
        end = tsv.index(b"\n", end + 1)
    return tsv[:end + 1], True, max_results


#: Characters XML 1.0 cannot hold, not even as a character reference (XML 1.0 §2.2).
_NOT_XML = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]|\xef\xbf[\xbe\xbf]")


def xml_results(data: bytes) -> bytes:
    """SPARQL XML results that keep every character of their literals (issue #16).

    A carriage return written as it is comes back as a line feed from every XML parser (XML 1.0
    §2.11 normalises line ends), so it is written `&#13;`; pyoxigraph writes it raw. CR appears
    nowhere else in pyoxigraph's XML (no line breaks between elements), so all of them are
    literal content.

    Raises:
        RequestError: the results hold a character XML 1.0 cannot carry at all (U+0001-U+0008,
            U+000B, U+000C, U+000E-U+001F, U+FFFE, U+FFFF): the other formats can.
    """
    bad = _NOT_XML.search(data)
    if bad is not None:
        char = bad.group().decode("utf-8")
        raise RequestError(f"the results hold the character U+{ord(char):04X}, which XML 1.0 "
                           "cannot carry: ask for JSON, CSV or TSV results")
    return keep_carriage_returns(data)


def fit_solutions(tsv: bytes, result_format: str, max_bytes: int) -> tuple[bytes, bool, int]:
    """TSV solutions serialised in `result_format`, cut to whole rows so that the answer holds
    at most `max_bytes` bytes (0: no cap); whether rows were cut, and how many are kept.

    Each round keeps the share of the TSV that the answer's size says fits (formats other than
    TSV are larger by a factor that depends on the data), so it ends in a few rounds."""
    cut = False
    while True:
        if result_format == "tsv":
            out = tsv
        else:
            again = ox.parse_query_results(tsv, format=ox.QueryResultsFormat.TSV)
            out = again.serialize(format=RESULT_FORMATS[result_format])
            if result_format == "srx":
                out = xml_results(out)
        header_end = tsv.find(b"\n") + 1
        rows = max(tsv.count(b"\n") - 1, 0)
        if not max_bytes or len(out) <= max_bytes or not rows:
            return out, cut, rows
        share = int(len(tsv) * max_bytes / len(out) * 0.95)
        end = tsv.rfind(b"\n", header_end, min(share, len(tsv) - 1))
        tsv = tsv[:max(end + 1, header_end)]
        cut = True


def fit_triples(triples: list, serialize: Callable[[list], bytes],
                max_bytes: int) -> tuple[bytes, bool, int]:
    """`serialize(triples)` cut to its first triples so that it holds at most `max_bytes`
    bytes (0: no cap); whether triples were cut, and how many are kept."""
    count, out, cut = len(triples), serialize(triples), False
    while max_bytes and len(out) > max_bytes and count:
        count = min(count - 1, int(count * max_bytes / len(out) * 0.95))
        out, cut = serialize(triples[:count]), True
    return out, cut, count


def evaluate(store: ox.Store, request: dict, write: Callable[[bytes], object]) -> dict:
    """Run one query request on `store`, writing the serialised result through `write`.

    Args:
        store: the pyoxigraph store (named graphs ontology/shapes/data).
        request: `query`, `format` (a suffix key of RESULT_FORMATS/RDF_FORMATS), `default_graph`
            and `named_graphs` (IRI lists or None), `union` (default graph = union of the named
            graphs), `max_results` (0: no cap), `max_bytes` (the answer's size; 0: no cap;
            not for streamed answers), `prefixes` (for Turtle/TriG output), `base_iri` (of a
            query without BASE; none: relative IRIs are a syntax error).
        write: called with successive chunks of the serialised result.

    Returns:
        The header: `kind` ("solutions", "boolean" or "graph"), `capped`, `capped_by` ("rows"
        or "bytes", when capped), and `rows` (solutions or triples sent) unless the result is
        streamed or an unbounded graph.

    Raises:
        RequestError: a syntax error (with line and column) or a format that does not fit.
    """
    kwargs: dict = {}
    if request.get("default_graph") is not None or request.get("named_graphs") is not None:
        kwargs["default_graph"] = _nodes(request.get("default_graph")) or []
        kwargs["named_graphs"] = _nodes(request.get("named_graphs")) or []
    elif request.get("union", True):
        kwargs["use_default_graph_as_union"] = True
    if request.get("base_iri"):  # resolves the relative IRIs of a query without BASE
        kwargs["base_iri"] = request["base_iri"]
    try:
        results = store.query(request["query"], **kwargs)
    except SyntaxError as exc:
        raise RequestError(str(exc.msg or exc)) from None
    except RuntimeError as exc:  # pyoxigraph's evaluation errors are about the query
        raise RequestError(f"the query cannot be evaluated: {exc}") from None
    fmt = request["format"]
    max_results = int(request.get("max_results") or 0)
    max_bytes = int(request.get("max_bytes") or 0)
    if isinstance(results, ox.QueryBoolean):
        if fmt not in RESULT_FORMATS:
            raise RequestError(f"an ASK query has no {fmt} serialisation")
        write(results.serialize(format=RESULT_FORMATS[fmt]))
        return {"kind": "boolean", "capped": False}
    if isinstance(results, ox.QuerySolutions):
        if fmt not in RESULT_FORMATS:
            raise RequestError(f"a SELECT query has no {fmt} serialisation")
        if request.get("stream"):
            sink = (lambda data: write(xml_results(data))) if fmt == "srx" else write
            _stream(lambda out: results.serialize(out, format=RESULT_FORMATS[fmt]), sink)
            return {"kind": "solutions", "capped": False}
        # Through TSV (one line a row) so that the rows are counted and a cap is cheap; bytes
        # natively: far fewer calls into Python than a file object.
        tsv, capped, rows = capped_tsv(results, max_results)
        data, cut, rows = fit_solutions(tsv, fmt, max_bytes)
        write(data)
        return _capped({"kind": "solutions", "rows": rows}, capped, cut)
    if fmt not in RDF_FORMATS:
        raise RequestError(f"a CONSTRUCT or DESCRIBE query has no {fmt} serialisation")
    prefixes = request.get("prefixes") or None
    xml = keep_carriage_returns if fmt == "rdf" else (lambda data: data)
    if not max_results and not max_bytes:
        if request.get("stream"):
            _stream(lambda out: ox.serialize(results, out, RDF_FORMATS[fmt], prefixes=prefixes),
                    lambda data: write(xml(data)))
        else:
            write(xml(ox.serialize(results, format=RDF_FORMATS[fmt], prefixes=prefixes)))
        return {"kind": "graph", "capped": False}
    triples = list(itertools.islice(results, max_results + 1) if max_results else results)
    capped = bool(max_results) and len(triples) > max_results
    data, cut, rows = fit_triples(
        triples[:max_results] if max_results else triples,
        lambda some: xml(ox.serialize(some, format=RDF_FORMATS[fmt], prefixes=prefixes)),
        max_bytes)
    write(data)
    return _capped({"kind": "graph", "rows": rows}, capped, cut)


def _capped(header: dict, by_rows: bool, by_bytes: bool) -> dict:
    header["capped"] = by_rows or by_bytes
    if header["capped"]:
        header["capped_by"] = "bytes" if by_bytes else "rows"
    return header


class _Sink(io.RawIOBase):
    """Passes each buffer it is given on, until it is marked dead (then drops everything)."""

    def __init__(self, write: Callable[[bytes], object]):
        self._write = write
        self.dead = False

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        if not self.dead:
            self._write(bytes(data))
        return len(data)


def _stream(serialize: Callable[[io.BufferedWriter], object],
            write: Callable[[bytes], object]) -> None:
    """Serialise through a buffered sink: chunks of CHUNK bytes reach `write` as they are made.

    If serialisation fails half-way the sink is marked dead first, so that the buffered rest
    (flushed whenever the writer is collected) never reaches the pipe after the error frame.
    """
    sink = _Sink(write)
    out = io.BufferedWriter(sink, CHUNK)
    try:
        serialize(out)
        out.flush()
    except BaseException:
        sink.dead = True
        raise


def write_frame(stream, kind: bytes, payload: bytes) -> None:
    stream.write(HEADER.pack(kind, len(payload)))
    stream.write(payload)


def read_exact(stream, n: int) -> bytes:
    data = b""
    while len(data) < n:
        part = stream.read(n - len(data))
        if not part:
            raise EOFError
        data += part
    return data


def sandbox() -> bool:
    """Enter new user + network namespaces (no interfaces up): no connection can leave.

    Best effort: returns False where unprivileged namespaces are not allowed; the lexical checks
    in ikmkg.sparql are the first line of defence in any case.
    """
    if not sys.platform.startswith("linux"):
        return False
    uid, gid = os.getuid(), os.getgid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(0x10000000 | 0x40000000) != 0:  # CLONE_NEWUSER | CLONE_NEWNET
            return False
        # Keep our own uid/gid inside the namespace so the store files stay ours.
        with open("/proc/self/setgroups", "w") as f:
            f.write("deny")
        with open("/proc/self/uid_map", "w") as f:
            f.write(f"{uid} {uid} 1")
        with open("/proc/self/gid_map", "w") as f:
            f.write(f"{gid} {gid} 1")
    except OSError:
        return False
    return True


def main(argv: list[str]) -> None:
    sandboxed = sandbox()
    out = open(sys.stdout.fileno(), "wb", buffering=ANSWER_BUFFER, closefd=False)  # noqa: SIM115 - for the process's life
    serve(ox.Store.read_only(argv[0]), sys.stdin.buffer, out, sandboxed)


def serve(store: ox.Store, inp, out, sandboxed: bool) -> None:
    """Answer query frames from `inp` on `out` until `inp` ends (see the module docstring)."""
    write_frame(out, b"R", json.dumps({"sandboxed": sandboxed}).encode())
    out.flush()
    while True:
        try:
            _, size = HEADER.unpack(read_exact(inp, HEADER.size))
            request = json.loads(read_exact(inp, size))
        except EOFError:
            return
        answer(store, request, out)


def answer(store: ox.Store, request: dict, out) -> None:
    """Evaluate one request and write its frames (data, then the end or an error) to `out`."""
    def write(data: bytes) -> None:
        if data:
            write_frame(out, b"D", data)

    try:
        header = evaluate(store, request, write)
    except (RequestError, ValueError, OSError) as exc:
        write_frame(out, b"X", json.dumps({"error": str(exc)}).encode())
    else:
        write_frame(out, b"E", json.dumps(header).encode())
    out.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
