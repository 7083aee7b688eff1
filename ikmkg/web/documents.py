"""Serving documents: the toolkit of every blueprint that answers with a page or an RDF document.

Owns the variants a document offers (HTML and the RDF formats, by suffix and media type; the
choice for a request and the validators are ikmkg.web.negotiation's), the document's `Link`
alternates, serialising a graph, the
page cache (rendered bodies per graph version; the graph changes only on reload), the 404 page in
the chosen format, and links from our IRIs to their pages. `serve_document` puts these together
for one negotiated document (pages.py: resources, the ontology, graphs; releases.py: time
travel).
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Hashable
from urllib.parse import quote, urlencode

from flask import Response, render_template, request
from rdflib import Graph

from ikmkg.cache import BoundedCache
from ikmkg.describe import filter_language
from ikmkg.dumps import serialize_graph
from ikmkg.formats import HTML, RDF_FORMATS, Format
from ikmkg.namespaces import bind_prefixes
from ikmkg.web import get_settings, get_store
from ikmkg.web.i18n import reader_language, with_lang
from ikmkg.web.negotiation import (
    choose,
    etag_for,
    finish,
    not_modified,
)
from ikmkg.web.negotiation import link_header as alternates_header

#: What a document offers, the default (HTML, for browsers and for a missing Accept) first.
VARIANTS: tuple[Format, ...] = (HTML, *RDF_FORMATS)
BY_SUFFIX = {f.suffix: f for f in VARIANTS}


# ---------------------------------------------------------------------------------------------
# Links


def local_path(iri: str, base: str) -> str | None:
    """The path (under the app root) of the page describing `iri`, or None if not ours."""
    if not iri.startswith(base):
        return None
    rest, hash_sign, fragment = iri[len(base):].partition("#")
    anchor = f"#{quote(fragment, safe='-_.~')}" if hash_sign else ""
    if rest.startswith("id/"):
        rest = "doc/" + rest[3:]
    return "/" + quote(rest, safe="/-_.~!$&'()*+,;=:@%") + anchor


def make_href(explicit_lang: str | None) -> Callable[[str], str | None]:
    base, root = get_settings().base_uri, request.script_root

    def href(iri: str) -> str | None:
        path = local_path(iri, base)
        return None if path is None else with_lang(root + path, explicit_lang)

    return href


def sparql_link(query: str) -> str:
    return f"{request.script_root}/sparql?{urlencode({'query': query})}"



# ---------------------------------------------------------------------------------------------
# Caching and validators


#: Bytes one triple of an in-memory rdflib Graph costs (its terms and the store's indexes),
#: measured with tracemalloc on description-like graphs (about 1.5 KB).
GRAPH_TRIPLE_BYTES = 1500


def approximate_size(value: object) -> int:
    """The bytes `value` holds in memory, roughly: strings, containers, graphs, dataclasses."""
    if isinstance(value, Graph):
        return sys.getsizeof(value) + len(value) * GRAPH_TRIPLE_BYTES
    if isinstance(value, dict):
        return sys.getsizeof(value) + sum(approximate_size(k) + approximate_size(v)
                                          for k, v in value.items())
    if isinstance(value, (tuple, list, set, frozenset)):
        return sys.getsizeof(value) + sum(approximate_size(item) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sys.getsizeof(value) + sum(approximate_size(getattr(value, f.name))
                                          for f in dataclasses.fields(value))
    return sys.getsizeof(value)


class PageCache:
    """An LRU of computed values keyed by the store version (the graph changes on reload).

    Bounded by entries and by bytes: those of its keys and of its values (`approximate_size`),
    since a key carries the request path (issue #20: 18,000 missing 8 KB paths, each a key and
    a header set naming the path five times, took a server from 235 MB to 1.09 GB). A page
    costs several entries (its headers, its body per format and language, its description), so
    the entry bound must hold every variant a crawler cycles through: at 2,048 entries the load
    test's 200 pages in 5 formats no longer fitted and every worker re-rendered them over and
    over. Callers cache only what exists (`keep`): a 404 is not remembered per path.
    """

    def __init__(self, size: int = 16384, max_bytes: int = 64 << 20):
        self._cache: BoundedCache[object] = BoundedCache(
            size, max_bytes, lambda key, value: approximate_size(key) + approximate_size(value))

    @property
    def bytes(self) -> int:
        return self._cache.bytes

    @property
    def items(self) -> list[Hashable]:
        """The keys held, least recently used first."""
        return self._cache.keys()

    def get(self, key: tuple, compute: Callable[[], object], *,
            keep: Callable[[object], bool] | None = None) -> object:
        """The cached value of `key`, else `compute()`, remembered unless `keep` says no."""
        # The same files published under two bases (tests, several apps) share a version.
        key = (get_store().base_uri, *key)
        found = self._cache.lookup(key, _MISSING)
        if found is not _MISSING:
            return found
        value = compute()
        if keep is None or keep(value):
            self._cache.put(key, value)
        return value


_MISSING = object()
page_cache = PageCache()


# ---------------------------------------------------------------------------------------------


def html_page(key: tuple, render: Callable[[], str]) -> Response:
    lang, explicit = reader_language()
    etag = etag_for(*key, lang, "explicit" if explicit else "")
    response = not_modified(etag)
    if response is None:
        body = page_cache.get(("page", get_store().version, *key, lang, explicit), render)
        response = Response(body, content_type="text/html; charset=utf-8")
    response.headers["Vary"] = "Accept-Language"
    response.headers["Content-Language"] = lang
    return finish(response, etag)



# ---------------------------------------------------------------------------------------------
# Negotiation and representation


def choose_variant(suffix: str | None) -> Format:
    """The representation to send: the suffix's, or the best for `Accept` (HTML if absent)."""
    if suffix:
        return BY_SUFFIX[suffix]
    return choose(VARIANTS, headers={"Link": link_header(request.path)})


def variant_url(doc_path: str, fmt: Format, explicit_lang: str | None) -> str:
    return with_lang(f"{request.script_root}{doc_path}.{fmt.suffix}", explicit_lang)


def link_header(doc_path: str, explicit_lang: str | None = None) -> str:
    return alternates_header((variant_url(doc_path, f, explicit_lang), f.media_type)
                             for f in VARIANTS)


def alternates(doc_path: str, explicit_lang: str | None) -> list[dict]:
    return [{"href": variant_url(doc_path, f, explicit_lang), "type": f.media_type,
             "label": f.label, "suffix": f.suffix} for f in VARIANTS]


def serialize(graph: Graph, fmt: Format, lang: str | None) -> bytes:
    """`graph` in `fmt`, written as the dumps are (ikmkg.dumps.serialize_graph), so that every
    format of a document carries each literal's lexical form as the store holds it: rdflib's
    Turtle and JSON-LD writers rewrite numbers ("4400000"^^xsd:decimal as 4400000.0,
    "1000"^^xsd:double as 1e+03 or, in JSON-LD, as an xsd:integer; issue #16)."""
    if lang:
        graph = filter_language(graph, lang)
    return serialize_graph(graph, fmt.media_type, get_store().base_uri)


def content_type(fmt: Format) -> str:
    return f"{fmt.media_type}; charset=utf-8"


def serve_document(doc_path: str, suffix: str | None, *, exists: Callable[[], bool],
                   rdf: Callable[[], Graph], html: Callable[[str, str | None], str],
                   iri: str) -> Response:
    """One negotiated document: 404/304/200 with Vary, Content-Location, Link and caching.

    Args:
        doc_path: the document's path without suffix (`/doc/province/x`, `/ontology`).
        suffix: the requested suffix, or None to negotiate on Accept.
        exists: whether there is anything to say (else 404 in the chosen format).
        rdf: the RDF of the document.
        html: the HTML page for (language, explicit language or None).
        iri: the IRI described (shown on 404 pages).
    """
    fmt = choose_variant(suffix)
    lang, explicit = reader_language()
    explicit_lang = lang if explicit else None
    version = get_store().version
    key = (version, doc_path, fmt.suffix, bool(suffix), lang, explicit_lang)
    # Everything but the conditional check is computed once per version and variant of a
    # document that exists; a 404 is computed each time, or made-up paths would fill the cache.
    found, etag, headers = page_cache.get(("meta", *key), lambda: _document_meta(
        doc_path, suffix, fmt, lang, explicit_lang, exists), keep=lambda meta: meta[0])
    if not found:
        return not_found(iri, fmt, headers)
    response = not_modified(etag)
    if response is None:
        if fmt is HTML:
            body = page_cache.get(("html", version, doc_path, lang, explicit_lang),
                                  lambda: html(lang, explicit_lang).encode("utf-8"))
        else:
            body = page_cache.get(("rdf", version, doc_path, fmt.suffix, explicit_lang),
                                  lambda: serialize(rdf(), fmt, explicit_lang))
        return Response(body, headers=headers, content_type=content_type(fmt))
    response.headers.update(headers)
    return response


def _document_meta(doc_path: str, suffix: str | None, fmt: Format, lang: str,
                   explicit_lang: str | None, exists: Callable[[], bool]
                   ) -> tuple[bool, str, dict[str, str]]:
    """(exists, ETag, response headers) of one variant of a document."""
    found = page_cache.get(("exists", get_store().version, doc_path), exists, keep=bool)
    headers = {
        "Link": link_header(doc_path, explicit_lang),
        "Vary": "Accept-Language" if suffix else "Accept, Accept-Language",
    }
    if not suffix:
        headers["Content-Location"] = variant_url(doc_path, fmt, explicit_lang)
    etag = etag_for(doc_path, fmt.suffix, lang if fmt is HTML else (explicit_lang or ""))
    if found:
        if fmt is HTML:
            headers["Content-Language"] = lang
        headers.update(finish(Response(), etag).headers)
        headers.pop("Content-Type", None)
        headers.pop("Content-Length", None)
    return found, etag, headers


def not_found(iri: str, fmt: Format, headers: dict) -> Response:
    if fmt is HTML:
        body = render_template("error.html", status=404, title="Not Found",
                               message=f"The published graph says nothing about <{iri}>.",
                               iri=iri)
    else:
        body = serialize(bind_prefixes(Graph(), get_settings().base_uri), fmt, None)
    response = Response(body, status=404, content_type=content_type(fmt))
    response.headers.update(headers)
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


def split_suffix(rest: str) -> tuple[str, str | None]:
    stem, dot, suffix = rest.rpartition(".")
    if dot and suffix in BY_SUFFIX and stem:
        return stem, suffix
    return rest, None



def not_found_page(iri: str) -> Response:
    fmt = choose_variant(None)
    return not_found(iri, fmt, {"Vary": "Accept"})
