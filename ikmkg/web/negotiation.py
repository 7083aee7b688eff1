"""Content negotiation and conditional GET, for every route (issue #14: one owner each).

Owns: which representation a request gets (`choose`: `format=` names, then `Accept`, through
one `negotiate()` with one table of aliases), the validators (`etag_for` from the store's
version, `last_modified`, `not_modified`/`matches` for `If-None-Match` and `If-Modified-Since`,
`finish` for ETag/Last-Modified/Cache-Control) and the `Link` alternates header. No other
module reads `Accept` or `If-None-Match` (tests/test_negotiation.py greps the package).

The media types themselves, and their rdflib/pyoxigraph names, are facts of the data layer
(ikmkg.formats); this module only decides between them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Hashable, Iterable, Sequence

from flask import Response, request
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from ikmkg.cache import BoundedCache
from ikmkg.errors import NotAcceptable
from ikmkg.formats import Format
from ikmkg.store import Store
from ikmkg.web import get_store

#: Media types clients send for something offered under another type: the alias stands for
#: the first of its targets that a route offers (SPARQL JSON results, else JSON-LD).
ALIASES: dict[str, tuple[str, ...]] = {
    "application/json": ("application/sparql-results+json", "application/ld+json"),
    "application/xml": ("application/sparql-results+xml", "application/rdf+xml"),
}

#: Names `format=` accepts beside suffixes and media types, each standing for the first of its
#: suffixes that a route offers. SPARQLWrapper sends `json-ld`, `rdf+xml`, `n3` (issue #16):
#: Turtle is N3, so `n3` gets Turtle.
FORMAT_NAMES: dict[str, tuple[str, ...]] = {
    "json": ("srj", "jsonld", "json"), "srj": ("srj", "jsonld"),
    "xml": ("srx", "rdf"), "srx": ("srx", "rdf"),
    "turtle": ("ttl",), "n3": ("ttl",), "ntriples": ("nt",), "json-ld": ("jsonld",),
    "rdfxml": ("rdf",), "rdf+xml": ("rdf",), "nquads": ("nq",),
}

#: Cache-Control of documents that change only with the data (pages, fragments, releases).
CACHE_CONTROL = "public, max-age=300"

# --- negotiation ----------------------------------------------------------------------------

#: Accept headers up to this length have their match remembered (browsers send a few hundred);
#: longer ones are matched afresh: remembered, 512 distinct 400 KB ones held 210 MB a worker
#: (issue #20). The memory of matches is bounded in bytes as well, keys counted.
CACHED_ACCEPT_CHARS = 1024
_matches: BoundedCache[str | None] = BoundedCache(
    max_entries=512, max_bytes=1 << 20,
    weigh=lambda key, value: 200 + len(key[0]) + sum(map(len, key[1])))


def negotiate(accept: str | None, offered: Sequence[str]) -> str | None:
    """The media type of `offered` that best fits an `Accept` header.

    Ties go to the order of `offered` (put the default first); an alias (`ALIASES`) counts
    after every offered type and answers with its target.

    Args:
        accept: the header's value; None or empty (or nothing readable) means `*/*`.
        offered: media types, the default first.

    Returns:
        One of `offered`: the first when `accept` says nothing; None when nothing fits (406).
    """
    accept = accept or ""
    key = (accept, tuple(offered))
    if len(accept) > CACHED_ACCEPT_CHARS:
        return _negotiate(*key)
    return _matches.get(key, lambda: _negotiate(*key))


def _negotiate(accept: str, offered: tuple[str, ...]) -> str | None:
    mimetypes = parse_accept_header(accept, MIMEAccept)
    if not mimetypes:
        return offered[0]
    aliases = {alias: next(t for t in targets if t in offered)
               for alias, targets in ALIASES.items()
               if alias not in offered and any(t in offered for t in targets)}
    best = mimetypes.best_match([*offered, *aliases])
    return None if best is None else aliases.get(best, best)


def preferred(offered: Sequence[str]) -> str | None:
    """`negotiate` for this request's `Accept` header."""
    return negotiate(request.headers.get("Accept"), offered)


def format_named(values: str | None, offered: Sequence[Format]) -> Format | None:
    """The format a `format=` value names among `offered`, if any.

    `values` is a suffix (`ttl`), a name (`turtle`, `json-ld`, `n3`: `FORMAT_NAMES`) or a media
    type (`text/turtle`, aliases included), or a comma-separated list of them (the values of a
    repeated parameter joined by commas, as SPARQLWrapper sends them): the first that names an
    offered format wins, case and spaces aside.
    """
    by_suffix = {f.suffix: f for f in offered}
    by_type = {f.media_type: f for f in offered}
    for value in (values or "").split(","):
        name = value.strip().lower()
        for suffix in FORMAT_NAMES.get(name, (name,)):
            if suffix in by_suffix:
                return by_suffix[suffix]
        if name in by_type:
            return by_type[name]
        for target in ALIASES.get(name, ()):
            if target in by_type:
                return by_type[target]
    return None


def choose(offered: Sequence[Format], *, format: str | None = None, strict: bool = True,
           fallback: Format | None = None, headers: dict[str, str] | None = None) -> Format:
    """The representation of `offered` (the default first) this request gets.

    Args:
        offered: what the route can send, the default (for a request without Accept) first.
        format: the `format=` value(s), which win over `Accept` when they name one of `offered`.
        strict: whether a `format=` naming nothing offered is a 406 (else `Accept` decides).
        fallback: what to send when `Accept` fits nothing (None: 406).
        headers: extra headers of the 406 answer (its `Link` alternates).

    Raises:
        NotAcceptable: the 406 described above.
    """
    if format:
        named = format_named(format, offered)
        if named is not None:
            return named
        if strict:
            raise NotAcceptable(f"format={format} is not available here; use one of "
                                + ", ".join(f.suffix for f in offered),
                                headers={"Vary": "Accept", **(headers or {})})
    best = preferred([f.media_type for f in offered])
    if best is not None:
        return next(f for f in offered if f.media_type == best)
    if fallback is not None:
        return fallback
    raise NotAcceptable("none of the media types in Accept is available here; available: "
                        + ", ".join(f.media_type for f in offered),
                        headers={"Vary": "Accept", **(headers or {})})


def requested_format() -> str | None:
    """The `format=` values of the query string, repeated ones joined by commas."""
    values = request.args.getlist("format")
    return ",".join(values) if values else None


# --- validators -----------------------------------------------------------------------------

_first_seen: dict[str, dt.datetime] = {}


def remember_load_time(store: Store) -> None:
    """Date the store's version now (a blueprint calls this when the app is set up)."""
    _first_seen.setdefault(store.version, dt.datetime.now(dt.UTC).replace(microsecond=0))


def last_modified() -> dt.datetime:
    """When this version of the graph was published (first seen by this process)."""
    version = get_store().version
    return _first_seen.setdefault(version, dt.datetime.now(dt.UTC).replace(microsecond=0))


def etag_for(*parts: Hashable) -> str:
    """A strong ETag for what `parts` name, in this version of the graph under this base."""
    store = get_store()
    digest = hashlib.sha256("\x1f".join((store.version, store.base_uri, *map(str, parts)))
                            .encode())
    return digest.hexdigest()[:32]


def matches(etag: str) -> bool:
    """Whether the request's `If-None-Match` names `etag` (the client holds this answer)."""
    return request.if_none_match.contains(etag)


def not_modified(etag: str, cache_control: str = CACHE_CONTROL) -> Response | None:
    """A 304 when the client's copy is current: `If-None-Match` decides when sent, else
    `If-Modified-Since` against `last_modified()`; None when the answer must be sent."""
    if request.if_none_match:
        return finish(Response(status=304), etag, cache_control) if matches(etag) else None
    since = request.if_modified_since
    if since is not None and since >= last_modified():
        return finish(Response(status=304), etag, cache_control)
    return None


def finish(response: Response, etag: str, cache_control: str = CACHE_CONTROL, *,
           dated: bool = True) -> Response:
    """`response` with the validators of this version: ETag, Last-Modified (unless not
    `dated`), Cache-Control."""
    response.set_etag(etag)
    if dated:
        response.last_modified = last_modified()
    response.headers["Cache-Control"] = cache_control
    return response


def conditional(response: Response) -> Response:
    """`response` (with its own ETag and Last-Modified) as a 304 when the client's copy is
    current, and with Range applied."""
    return response.make_conditional(request)


# --- Link alternates ------------------------------------------------------------------------

def link_header(alternates: Iterable[tuple[str, str]]) -> str:
    """A `Link` header listing (URL, media type) alternates of this resource."""
    return ", ".join(f'<{url}>; rel="alternate"; type="{media_type}"'
                     for url, media_type in alternates)
