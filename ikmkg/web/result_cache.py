"""Caching of SPARQL answers (issue #19).

A GET answer is a pure function of the data version and the normalised request, so it gets
a strong ETag from them (a conditional GET naming it: 304 before anything is evaluated) and
`Cache-Control: public, max-age=sparql_max_age`; complete answers are also kept in a
per-process cache (`results`) and served again without the engine. Capped answers get
neither (a capped answer is not the query's answer), nor do POST answers or errors
(`Cache-Control: no-store`, see `ikmkg.web.sparql.no_store_errors`).
"""

from __future__ import annotations

from flask import Response, current_app, request

from ikmkg import named_queries as catalogue
from ikmkg import protocol as sparql_protocol
from ikmkg.cache import VersionedCache
from ikmkg.formats import HTML, Format
from ikmkg.web import get_settings
from ikmkg.web.documents import approximate_size
from ikmkg.web.i18n import reader_language
from ikmkg.web.negotiation import finish


def cache_control() -> str:
    max_age = get_settings().sparql_max_age
    return f"public, max-age={max_age}" if max_age > 0 else "no-cache"


def results() -> VersionedCache[tuple[bytes, int | None]]:
    """The answers kept by this process, shared by its worker threads."""
    cache = current_app.extensions.get("ikmkg_results")
    if cache is None:
        settings = get_settings()
        cache = VersionedCache(settings.result_cache_entries, settings.result_cache_bytes,
                               lambda key, value: len(value[0]) + approximate_size(key))
        current_app.extensions["ikmkg_results"] = cache
    return cache


def room_for_body(key: tuple) -> int:
    """The largest body kept under `key`: an entry (its key, the query text, included) takes
    at most a sixteenth of the cache, so one never empties it."""
    return get_settings().result_cache_bytes // 16 - approximate_size(key)


def cacheable() -> bool:
    return request.method in ("GET", "HEAD")


def request_key(protocol: sparql_protocol.ProtocolRequest, text: str, fmt: Format,
                 named: catalogue.NamedQuery | None) -> tuple:
    """What a GET answer depends on beside the data version: the query as evaluated (named
    queries' parameters bound), the dataset (graph lists as sets), the format, the route (a
    named query's CSV is streamed uncapped, with its file name), the cap, and for the page the
    reader's language and the parameters it shows."""
    key = ("sparql", text, tuple(sorted(set(protocol.default_graph_uris))),
           tuple(sorted(set(protocol.named_graph_uris))), fmt.suffix,
           named.name if named is not None else "", bool(protocol.format),
           get_settings().max_results)
    if fmt is HTML:
        key += (*reader_language(), tuple(sorted(protocol.params.items())))
    return key


def validated(response: Response, etag: str) -> Response:
    return finish(response, etag, cache_control(), dated=False)


def tee(chunks, keep, limit: int):
    """`chunks` passed on; `keep(body)` once they all went out, if they came to `limit` bytes at
    most (a stream cut by an error or a client that left is never kept)."""
    parts: list[bytes] | None = []
    size = 0
    for chunk in chunks:
        if parts is not None:
            size += len(chunk)
            if size > limit:
                parts = None
            else:
                parts.append(chunk)
        yield chunk
    if parts is not None:
        keep(b"".join(parts))
