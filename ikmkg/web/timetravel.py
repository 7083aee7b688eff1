"""Time travel: `/doc/...?version=V`, a resource as it was in release V (HTML or RDF).

The release's snapshot is loaded into a small in-memory store (ikmkg.releases.release_store); the
page is the live resource page's template with links kept on that release, plus what the
releases say about the resource (ikmkg.web.releases.resource_extras). Rendered documents are
cached: a release never changes.
"""

from __future__ import annotations

import hashlib

from flask import Response, render_template, request
from rdflib import Graph

from ikmkg import describe as d
from ikmkg import releases as rel
from ikmkg.formats import HTML
from ikmkg.kg import dataset_iri
from ikmkg.view import resource_view
from ikmkg.web import get_settings
from ikmkg.web.documents import (
    VARIANTS,
    PageCache,
    choose_variant,
    make_href,
    not_found,
    serialize,
    split_suffix,
)
from ikmkg.web.i18n import reader_language
from ikmkg.web.negotiation import link_header, matches
from ikmkg.web.releases import resource_extras

#: Rendered time-travel documents: a release never changes, so neither do they.
_versioned = PageCache(size=1024)


def versioned_document(rest: str) -> Response:
    """`/doc/...?version=V`: the resource as it was in release V (HTML or RDF)."""
    settings = get_settings()
    base = settings.base_uri
    release, store = rel.release_store(settings, request.args["version"])
    stem, suffix = split_suffix(rest)
    iri = f"{base}id/{stem}"
    fmt = choose_variant(suffix)
    lang, explicit = reader_language()
    explicit_lang = lang if explicit else None
    doc_path = f"/doc/{stem}"
    headers = {"Vary": "Accept-Language" if suffix else "Accept, Accept-Language",
               "Link": link_header(
                   (f"{request.script_root}{doc_path}.{f.suffix}?version={release.version}",
                    f.media_type) for f in VARIANTS)}
    try:
        found = d.exists(store, iri) or iri == str(dataset_iri(base))
    except ValueError:
        found = False
    if not found:
        return not_found(iri, fmt, headers)
    etag = hashlib.sha256("\x1f".join((release.snapshot_sha256, base, doc_path, fmt.suffix,
                                       lang, explicit_lang or "")).encode()).hexdigest()[:32]
    if matches(etag):
        response = Response(status=304)
    else:
        def graph() -> Graph:
            found = _versioned.get(("describe", release.snapshot_sha256, iri),
                                   lambda: d.describe(store, iri))
            if iri == str(dataset_iri(base)):
                found = found + rel.release_graph(release, base)
            return found

        if fmt is HTML:
            body = _versioned.get(("html", etag), lambda: _versioned_html(
                release, store, graph(), iri, doc_path, lang, explicit_lang))
            response = Response(body, content_type="text/html; charset=utf-8")
            response.headers["Content-Language"] = lang
        else:
            body = _versioned.get(("rdf", etag),
                                  lambda: serialize(graph(), fmt, explicit_lang))
            response = Response(body, content_type=f"{fmt.media_type}; charset=utf-8")
    response.headers.update(headers)
    response.set_etag(etag)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


def _versioned_html(release: rel.Release, store, graph: Graph, iri: str, doc_path: str,  # noqa: ANN001
                    lang: str, explicit_lang: str | None) -> str:
    base = get_settings().base_uri
    plain = make_href(explicit_lang)
    doc_prefix = f"{request.script_root}/doc/"

    def href(target: str) -> str | None:
        url = plain(target)
        if url is None or not url.startswith(doc_prefix):
            return url
        path, _, fragment = url.partition("#")
        path += f"{'&' if '?' in path else '?'}version={release.version}"
        return f"{path}#{fragment}" if fragment else path

    ontology = store.construct(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{base}graph/ontology> "
                               "{ ?s ?p ?o } }")
    view = resource_view(graph, iri, lang=lang, base_uri=base, href=href, ontology=ontology)
    alternates = [{"href": f"{request.script_root}{doc_path}.{f.suffix}?version="
                           f"{release.version}", "type": f.media_type, "label": f.label,
                   "suffix": f.suffix} for f in VARIANTS]
    extras = resource_extras(iri, shown=release, explicit_lang=explicit_lang)
    extras["release_info"]["latest_url"] = f"{request.script_root}{doc_path}"
    return render_template("resource.html", view=view, alternates=alternates,
                           page_url=request.script_root + doc_path, **extras)

