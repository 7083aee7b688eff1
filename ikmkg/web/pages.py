"""Blueprint for linked-data pages: /id/... -> 303 /doc/..., content negotiation, index pages.

Request paths are relative to the path of `settings.base_uri` (mount the app there), so the IRI
`{base}id/province/jawa-timur` is served at `/id/province/jawa-timur` and described at
`/doc/province/jawa-timur` (HTML, Turtle, N-Triples, JSON-LD or RDF/XML by `Accept`, or directly
with a suffix such as `.ttl`). The ontology (`{base}ontology`, hash terms), the shapes
(`{base}shapes`) and other document IRIs under the base (`{base}graph/data`) are documents
themselves and negotiate without a redirect (Cool URIs for the Semantic Web, section 4.1).

Responses carry `ETag`/`Last-Modified` from the store's version and answer conditional requests
with 304; the graph changes only on reload, so rendered bodies are kept in a small cache.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlencode

from flask import Blueprint, Response, redirect, render_template, request
from rdflib import Graph
from rdflib.namespace import DCTERMS, RDFS

from ikmkg import describe as d
from ikmkg import void
from ikmkg.errors import NotAcceptable
from ikmkg.formats import HTML, RDF_FORMATS, Format
from ikmkg.kg import dataset_iri
from ikmkg.namespaces import bind_prefixes, sparql_prologue
from ikmkg.web import get_settings, get_store

blueprint = Blueprint("pages", __name__)

#: What a document offers, the default (HTML, for browsers and for a missing Accept) first.
VARIANTS: tuple[Format, ...] = (HTML, *RDF_FORMATS)
_OFFERED = [f.media_type for f in VARIANTS] + ["application/json"]
_ALIASES = {"application/json": "application/ld+json"}
_BY_SUFFIX = {f.suffix: f for f in VARIANTS}
_BY_TYPE = {f.media_type: f for f in VARIANTS}
CACHE_CONTROL = "public, max-age=300"
LIST_PAGE_SIZE = 1000

#: Interface strings in both languages; templates call `t("key")`.
UI: dict[str, dict[str, str]] = {
    "home": {"en": "Home", "id": "Beranda"},
    "query": {"en": "Query", "id": "Kueri"},
    "ontology": {"en": "Ontology", "id": "Ontologi"},
    "dumps": {"en": "Dumps", "id": "Unduhan"},
    "releases": {"en": "Releases", "id": "Rilis"},
    "language": {"en": "Language", "id": "Bahasa"},
    "site_title": {"en": "IKM development knowledge graph",
                   "id": "Graf pengetahuan pengembangan IKM"},
    "site_intro": {
        "en": "Linked data about the development programme for small and medium industry (IKM) "
              "of Indonesia's Ministry of Industry with JICA: provinces and their engagements, "
              "product categories, organisations, people, codes, and the source sentence behind "
              "every fact.",
        "id": "Data tertaut tentang program pengembangan industri kecil dan menengah (IKM) "
              "Kementerian Perindustrian bersama JICA: provinsi dan keterlibatannya, kategori "
              "produk, lembaga, tokoh, kode, dan kalimat sumber di balik setiap fakta."},
    "identifier": {"en": "Identifier", "id": "Pengenal"},
    "types": {"en": "Types", "id": "Jenis"},
    "codes": {"en": "Codes", "id": "Kode"},
    "referenced_by": {"en": "Referenced by", "id": "Dirujuk oleh"},
    "referenced_by_cut": {"en": "Only the first statements are shown.",
                          "id": "Hanya pernyataan pertama yang ditampilkan."},
    "provenance": {"en": "Source", "id": "Sumber"},
    "sentence": {"en": "sentence", "id": "kalimat"},
    "said_by": {"en": "said by", "id": "diucapkan oleh"},
    "direct_quote": {"en": "direct quote", "id": "kutipan langsung"},
    "reference_statements": {"en": "Statements from the reference tables",
                             "id": "Pernyataan dari tabel rujukan"},
    "formats": {"en": "This page as data", "id": "Halaman ini sebagai data"},
    "external": {"en": "external", "id": "eksternal"},
    "counts": {"en": "What the graph holds", "id": "Isi graf"},
    "class": {"en": "Class", "id": "Kelas"},
    "instances": {"en": "Instances", "id": "Jumlah"},
    "browse": {"en": "Browse by type", "id": "Jelajahi menurut jenis"},
    "phases": {"en": "The programme's phases", "id": "Fase program"},
    "engagements": {"en": "engagements", "id": "keterlibatan"},
    "questions": {"en": "Example questions", "id": "Contoh pertanyaan"},
    "dumps_text": {"en": "Download the whole graph", "id": "Unduh seluruh graf"},
    "license": {"en": "License", "id": "Lisensi"},
    "cite": {"en": "How to cite", "id": "Cara mengutip"},
    "version": {"en": "version", "id": "versi"},
    "list_of": {"en": "All resources of type", "id": "Semua sumber daya berjenis"},
    "related": {"en": "Related", "id": "Terkait"},
    "next": {"en": "Next page", "id": "Halaman berikut"},
    "previous": {"en": "Previous page", "id": "Halaman sebelumnya"},
    "classes": {"en": "Classes", "id": "Kelas"},
    "properties": {"en": "Properties", "id": "Properti"},
    "shapes": {"en": "Shapes", "id": "Bentuk (SHACL)"},
    "label_en": {"en": "English label", "id": "Label bahasa Inggris"},
    "label_id": {"en": "Indonesian label", "id": "Label bahasa Indonesia"},
    "definition": {"en": "Definition", "id": "Definisi"},
    "comment": {"en": "Comment", "id": "Keterangan"},
    "kind": {"en": "Kind", "id": "Macam"},
    "superclasses": {"en": "Subclass of", "id": "Subkelas dari"},
    "subclasses": {"en": "Subclasses", "id": "Subkelas"},
    "superproperties": {"en": "Subproperty of", "id": "Subproperti dari"},
    "subproperties": {"en": "Subproperties", "id": "Subproperti"},
    "domain": {"en": "Domain", "id": "Domain"},
    "range": {"en": "Range", "id": "Jangkauan"},
    "constrained_by": {"en": "Constrained by", "id": "Dibatasi oleh"},
    "in_data": {"en": "In the published graph", "id": "Dalam graf terbit"},
    "uses": {"en": "statements", "id": "pernyataan"},
    "examples": {"en": "Examples", "id": "Contoh"},
    "run_query": {"en": "List them with SPARQL", "id": "Tampilkan dengan SPARQL"},
    "targets": {"en": "Targets", "id": "Sasaran"},
    "path": {"en": "Path", "id": "Jalur"},
    "contents": {"en": "Contents", "id": "Daftar isi"},
    "not_found": {"en": "Not found", "id": "Tidak ditemukan"},
    "not_found_text": {"en": "The published graph says nothing about",
                       "id": "Graf terbit tidak memuat apa pun tentang"},
    "fallback": {"en": "Labels are shown in English, else Indonesian, else without language tag.",
                 "id": "Label ditampilkan dalam bahasa Indonesia, jika tidak ada dalam bahasa "
                       "Inggris, jika tidak ada tanpa tag bahasa."},
    # The query workbench (templates/sparql.html, _query_error.html, _code.html)
    "query_error": {"en": "The query was not run", "id": "Kueri tidak dijalankan"},
    "line": {"en": "line", "id": "baris"},
    "column": {"en": "column", "id": "kolom"},
    "may_come": {"en": "What may come here", "id": "Yang dapat muncul di sini"},
    "in_code": {"en": "This query as code", "id": "Kueri ini sebagai kode"},
    "in_code_note": {"en": "The same request, ready to run in your own analysis.",
                     "id": "Permintaan yang sama, siap dijalankan dalam analisis Anda."},
    "run_query": {"en": "Run query", "id": "Jalankan kueri"},
}

#: Questions for the home page, each a query over the ontology's own terms.
EXAMPLE_QUERIES = (
    ({"en": "Which provinces took part in each phase?",
      "id": "Provinsi mana saja yang terlibat di setiap fase?"},
     ("SELECT ?phase ?province ?status WHERE {\n  ?e a ikm:ProvinceEngagement ; ikm:phase ?phase ;"
      " ikm:province ?province .\n  OPTIONAL { ?e ikm:status ?status }\n}\n"
      "ORDER BY ?phase ?province")),
    ({"en": "Which product categories does each engagement focus on?",
      "id": "Kategori produk apa yang menjadi fokus setiap keterlibatan?"},
     ("SELECT ?e ?product WHERE {\n  ?e a ikm:ProvinceEngagement ; ikm:productFocus ?product .\n}"
      "\nORDER BY ?e")),
    ({"en": "Which sentence of the article is each fact taken from?",
      "id": "Dari kalimat artikel mana setiap fakta diambil?"},
     ("SELECT ?fact ?text WHERE {\n  ?fact prov:wasDerivedFrom ?s .\n  ?s rdf:value ?text .\n}"
      "\nORDER BY ?fact")),
)


# ---------------------------------------------------------------------------------------------
# Language, links, caching


def reader_language() -> tuple[str, bool]:
    """The reader's language and whether it was chosen explicitly with `?lang=`."""
    asked = request.args.get("lang", "")
    if asked in d.LANGUAGES:
        return asked, True
    best = request.accept_languages.best_match(d.LANGUAGES)
    return (best or d.DEFAULT_LANGUAGE), False


def _root() -> str:
    return request.script_root


def _with_lang(url: str, explicit_lang: str | None) -> str:
    if not explicit_lang:
        return url
    path, _, fragment = url.partition("#")
    joined = f"{path}{'&' if '?' in path else '?'}lang={explicit_lang}"
    return f"{joined}#{fragment}" if fragment else joined


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
    base, root = get_settings().base_uri, _root()

    def href(iri: str) -> str | None:
        path = local_path(iri, base)
        return None if path is None else _with_lang(root + path, explicit_lang)

    return href


class _Cache:
    """An LRU of computed values keyed by the store version (the graph changes on reload).

    Bounded by entries and by the bytes of the rendered bodies it holds. A page costs several
    entries (its headers, its body per format and language, its description), so the bound
    must hold every variant a crawler cycles through: at 2,048 entries the load test's 200
    pages in 5 formats no longer fitted and every worker re-rendered them over and over.
    """

    def __init__(self, size: int = 16384, max_bytes: int = 64 << 20):
        self.size, self.max_bytes = size, max_bytes
        self.items: OrderedDict = OrderedDict()
        self.bytes = 0
        self.lock = threading.Lock()

    @staticmethod
    def _weight(value: object) -> int:
        return len(value) if isinstance(value, (bytes, str)) else 0

    def get(self, key: tuple, compute: Callable[[], object]) -> object:
        # The same files published under two bases (tests, several apps) share a version.
        key = (get_store().base_uri, *key)
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        value = compute()
        with self.lock:
            if key in self.items:  # computed meanwhile by another thread
                self.bytes -= self._weight(self.items.pop(key))
            self.items[key] = value
            self.bytes += self._weight(value)
            while len(self.items) > self.size or (self.bytes > self.max_bytes
                                                  and len(self.items) > 1):
                _, evicted = self.items.popitem(last=False)
                self.bytes -= self._weight(evicted)
        return value


_cache = _Cache()
_first_seen: dict[str, dt.datetime] = {}


@blueprint.record_once
def _remember_load_time(state) -> None:
    store = state.app.extensions.get("ikmkg_store")
    if store is not None:
        _first_seen.setdefault(store.version, dt.datetime.now(dt.UTC).replace(microsecond=0))


def last_modified() -> dt.datetime:
    """When this version of the graph was published (first seen by this process)."""
    version = get_store().version
    return _first_seen.setdefault(version, dt.datetime.now(dt.UTC).replace(microsecond=0))


def etag_for(*parts: str) -> str:
    store = get_store()
    digest = hashlib.sha256("\x1f".join((store.version, store.base_uri, *parts)).encode())
    return digest.hexdigest()[:32]


def _not_modified(etag: str) -> Response | None:
    if request.if_none_match:
        if request.if_none_match.contains(etag):
            return _finish(Response(status=304), etag)
        return None
    since = request.if_modified_since
    if since is not None and since >= last_modified():
        return _finish(Response(status=304), etag)
    return None


def _finish(response: Response, etag: str) -> Response:
    response.set_etag(etag)
    response.last_modified = last_modified()
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


@blueprint.app_context_processor
def _template_helpers() -> dict:
    lang, explicit = reader_language()

    def t(key: str) -> str:
        entry = UI.get(key, {})
        return entry.get(lang) or entry.get("en") or key

    def lang_url(code: str) -> str:
        args = request.args.to_dict()
        args["lang"] = code
        return f"{_root()}{request.path}?{urlencode(args)}"

    def link(path: str) -> str:
        return _with_lang(_root() + path, lang if explicit else None)

    return {"lang": lang, "t": t, "lang_url": lang_url, "link": link, "languages": d.LANGUAGES}


# ---------------------------------------------------------------------------------------------
# Negotiation and representation


def choose_variant(suffix: str | None) -> Format:
    """The representation to send: the suffix's, or the best for `Accept` (HTML if absent)."""
    if suffix:
        return _BY_SUFFIX[suffix]
    if not request.accept_mimetypes:
        return VARIANTS[0]
    best = request.accept_mimetypes.best_match(_OFFERED)
    if best is None:
        raise NotAcceptable("none of the offered representations fits the Accept header: "
                            + ", ".join(f.media_type for f in VARIANTS),
                            headers={"Link": _link_header(request.path), "Vary": "Accept"})
    return _BY_TYPE[_ALIASES.get(best, best)]


def _variant_url(doc_path: str, fmt: Format, explicit_lang: str | None) -> str:
    return _with_lang(f"{_root()}{doc_path}.{fmt.suffix}", explicit_lang)


def _link_header(doc_path: str, explicit_lang: str | None = None) -> str:
    return ", ".join(f'<{_variant_url(doc_path, f, explicit_lang)}>; rel="alternate"; '
                     f'type="{f.media_type}"' for f in VARIANTS)


def alternates(doc_path: str, explicit_lang: str | None) -> list[dict]:
    return [{"href": _variant_url(doc_path, f, explicit_lang), "type": f.media_type,
             "label": f.label, "suffix": f.suffix} for f in VARIANTS]


def serialize(graph: Graph, fmt: Format, lang: str | None) -> bytes:
    if lang:
        graph = d.filter_language(graph, lang)
    if fmt.rdflib == "json-ld":
        return graph.serialize(format="json-ld", auto_compact=True).encode("utf-8")
    return graph.serialize(format=fmt.rdflib, encoding="utf-8")


def _mimetype(fmt: Format) -> str:
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
    # Everything but the conditional check is computed once per version and variant.
    found, etag, headers = _cache.get(("meta", *key), lambda: _document_meta(
        doc_path, suffix, fmt, lang, explicit_lang, exists))
    if not found:
        return _not_found(iri, fmt, headers)
    response = _not_modified(etag)
    if response is None:
        if fmt is HTML:
            body = _cache.get(("html", version, doc_path, lang, explicit_lang),
                              lambda: html(lang, explicit_lang).encode("utf-8"))
        else:
            body = _cache.get(("rdf", version, doc_path, fmt.suffix, explicit_lang),
                              lambda: serialize(rdf(), fmt, explicit_lang))
        return Response(body, headers=headers, content_type=_mimetype(fmt))
    response.headers.update(headers)
    return response


def _document_meta(doc_path: str, suffix: str | None, fmt: Format, lang: str,
                   explicit_lang: str | None, exists: Callable[[], bool]
                   ) -> tuple[bool, str, dict[str, str]]:
    """(exists, ETag, response headers) of one variant of a document."""
    found = _cache.get(("exists", get_store().version, doc_path), exists)
    headers = {
        "Link": _link_header(doc_path, explicit_lang),
        "Vary": "Accept-Language" if suffix else "Accept, Accept-Language",
    }
    if not suffix:
        headers["Content-Location"] = _variant_url(doc_path, fmt, explicit_lang)
    etag = etag_for(doc_path, fmt.suffix, lang if fmt is HTML else (explicit_lang or ""))
    if found:
        if fmt is HTML:
            headers["Content-Language"] = lang
        headers.update(_finish(Response(), etag).headers)
        headers.pop("Content-Type", None)
        headers.pop("Content-Length", None)
    return found, etag, headers


def _not_found(iri: str, fmt: Format, headers: dict) -> Response:
    if fmt is HTML:
        body = render_template("error.html", status=404, title="Not Found",
                               message=f"The published graph says nothing about <{iri}>.",
                               iri=iri)
    else:
        body = serialize(bind_prefixes(Graph(), get_settings().base_uri), fmt, None)
    response = Response(body, status=404, content_type=_mimetype(fmt))
    response.headers.update(headers)
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


def _split_suffix(rest: str) -> tuple[str, str | None]:
    stem, dot, suffix = rest.rpartition(".")
    if dot and suffix in _BY_SUFFIX and stem:
        return stem, suffix
    return rest, None


# ---------------------------------------------------------------------------------------------
# Resources under id/


@blueprint.get("/id/<path:rest>")
def identifier(rest: str) -> Response:
    """The thing itself: 303 See Other to the document that describes it."""
    target = f"{_root()}/doc/{quote(rest, safe='/-_.~!$&()*+,;=:@%')}"
    if request.query_string:
        target += "?" + request.query_string.decode("latin-1")
    response = redirect(target, code=303)
    response.headers["Vary"] = "Accept"
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


@blueprint.get("/doc/<path:rest>")
def document(rest: str) -> Response:
    """The description of `{base}id/{rest}` in the negotiated (or suffixed) format."""
    if rest.endswith("/") and rest.count("/") == 1:
        return type_list(rest[:-1])
    if request.args.get("version"):  # time travel: the resource as in that release
        from ikmkg.web import releases

        return releases.versioned_document(rest)
    store, base = get_store(), get_settings().base_uri
    stem, suffix = _split_suffix(rest)
    # A slug may itself end in something like ".rdf": the exact IRI wins over a suffix.
    if suffix and _cache.get(("exists", store.version, f"/doc/{rest}"),
                             lambda: _exists(base + "id/" + rest)):
        stem, suffix = rest, None
    iri = base + "id/" + stem
    return serve_document(
        "/doc/" + stem, suffix, iri=iri,
        exists=lambda: _exists(iri),
        rdf=lambda: _description(iri),
        html=lambda lang, explicit: _resource_page(iri, "/doc/" + stem, lang, explicit),
    )


def _description(iri: str) -> Graph:
    """describe(iri), computed once per version for all formats (callers must not modify it).

    The dataset's own IRI adds the VoID/DCAT description computed from the live graph.
    """
    store = get_store()

    def compute() -> Graph:
        graph = d.describe(store, iri)
        if iri == str(dataset_iri(store.base_uri)):
            graph += void.describe_dataset(store, get_settings())
        return graph

    return _cache.get(("describe", store.version, iri), compute)


def _exists(iri: str) -> bool:
    if iri == str(dataset_iri(get_store().base_uri)):
        return True
    try:
        return d.exists(get_store(), iri)
    except ValueError:
        return False


def _ontology_graph() -> Graph:
    return get_store().construct(
        f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{get_settings().base_uri}graph/ontology> "
        "{ ?s ?p ?o } }")


def _resource_page(iri: str, doc_path: str, lang: str, explicit: str | None) -> str:
    store = get_store()
    graph = _description(iri)
    ontology = _cache.get(("ontology-graph", store.version), _ontology_graph)
    view = d.resource_view(graph, iri, lang=lang, base_uri=store.base_uri,
                           href=make_href(explicit), ontology=ontology)
    from ikmkg.web import releases  # conformance, "changed in release X", cite this

    return render_template("resource.html", view=view, alternates=alternates(doc_path, explicit),
                           page_url=_root() + doc_path,
                           **releases.resource_extras(iri, explicit_lang=explicit))


# ---------------------------------------------------------------------------------------------
# Documents that are their own IRIs: the ontology, the shapes, graphs


def _named_graph_loader(name: str) -> Callable[[], Graph]:
    return lambda: d.named_graph(get_store(), name)


@blueprint.get("/ontology")
@blueprint.get("/ontology.<suffix>")
@blueprint.get("/doc/ontology")
def ontology(suffix: str | None = None) -> Response:
    """The ontology: its documentation page in HTML, or the ontology graph."""
    return _vocabulary_document("ontology", suffix)


@blueprint.get("/shapes")
@blueprint.get("/shapes.<suffix>")
@blueprint.get("/doc/shapes")
def shapes(suffix: str | None = None) -> Response:
    """The SHACL shapes: documented with the ontology in HTML, or the shapes graph."""
    return _vocabulary_document("shapes", suffix)


@blueprint.get("/ontology/<version>")
def ontology_version(version: str) -> Response:
    """A version IRI of the ontology (`owl:versionIRI`): the same document."""
    store = get_store()
    stem, suffix = _split_suffix(version)
    iri = f"{store.base_uri}ontology/{stem}"
    return _vocabulary_document("ontology", suffix, doc_path=f"/ontology/{stem}",
                                exists=lambda: _is_version_iri(iri))


def _is_version_iri(iri: str) -> bool:
    try:
        node = d.check_iri(iri)
    except ValueError:
        return False
    return get_store().ask(f"ASK {{ ?o <http://www.w3.org/2002/07/owl#versionIRI> <{node}> }}")


def _vocabulary_document(name: str, suffix: str | None, doc_path: str | None = None,
                         exists: Callable[[], bool] | None = None) -> Response:
    if suffix is not None and suffix not in _BY_SUFFIX:
        return _not_found_page(request.path)
    store = get_store()
    doc_path = doc_path or f"/{name}"
    return serve_document(
        doc_path, suffix, iri=f"{store.base_uri}{doc_path[1:]}",
        exists=exists or (lambda: bool(store.ask(
            f"ASK {{ GRAPH <{store.base_uri}graph/{name}> {{ ?s ?p ?o }} }}"))),
        rdf=_named_graph_loader(name),
        html=lambda lang, explicit: _ontology_page(lang, explicit, doc_path),
    )


def _ontology_page(lang: str, explicit: str | None, doc_path: str = "/ontology") -> str:
    store = get_store()
    doc = d.ontology_doc(store, lang=lang, href=make_href(explicit))
    return render_template("ontology.html", doc=doc, alternates=alternates(doc_path, explicit),
                           sparql_link=_sparql_link)


@blueprint.get("/graph/<name>")
def graph_document(name: str) -> Response:
    """A named graph's IRI: described like any resource (its content is in the dumps)."""
    store = get_store()
    stem, suffix = _split_suffix(name)
    iri = f"{store.base_uri}graph/{stem}"
    return serve_document(
        f"/graph/{stem}", suffix, iri=iri,
        exists=lambda: _exists(iri),
        rdf=lambda: _description(iri),
        html=lambda lang, explicit: _resource_page(iri, f"/graph/{stem}", lang, explicit),
    )


# ---------------------------------------------------------------------------------------------
# Index pages


def _sparql_link(query: str) -> str:
    return f"{_root()}/sparql?{urlencode({'query': query})}"


def _html_page(key: tuple, render: Callable[[], str]) -> Response:
    lang, explicit = reader_language()
    etag = etag_for(*key, lang, "explicit" if explicit else "")
    response = _not_modified(etag)
    if response is None:
        body = _cache.get(("page", get_store().version, *key, lang, explicit), render)
        response = Response(body, content_type="text/html; charset=utf-8")
    response.headers["Vary"] = "Accept-Language"
    response.headers["Content-Language"] = lang
    return _finish(response, etag)


@dataclasses.dataclass
class NamedQuery:
    name: str
    title: str


def _named_queries() -> list[NamedQuery]:
    """The shipped named queries (queries/*.rq), titled by their first comment line."""
    out = []
    for path in sorted(Path(get_settings().queries_dir).glob("*.rq")):
        title = path.stem.replace("-", " ")
        for line in path.read_text(encoding="utf-8").splitlines():
            found = re.match(r"#\s*title\s*:\s*(.+)", line, re.IGNORECASE)
            if found:
                title = found.group(1).strip()
                break
            if not line.startswith("#"):
                break
        out.append(NamedQuery(path.stem, title))
    return out


@blueprint.get("/")
def home() -> Response:
    """What the dataset is, counts per class and type, phases, example questions, dumps."""
    return _html_page(("home",), _home_page)


def _home_page() -> str:
    store = get_store()
    lang, explicit = reader_language()
    href = make_href(lang if explicit else None)
    ontology = _cache.get(("ontology-graph", store.version), _ontology_graph)
    counts = d.class_counts(store)
    labeller = d.Labeller(Graph(), lang, store.base_uri, href, extra=ontology)
    classes = sorted(((labeller.value(c), n) for c, n in counts.items()),
                     key=lambda item: (-item[1], item[0].text.lower()))
    dataset = dataset_iri(store.base_uri)
    # The stored description only: the VoID part needs the dumps built (the dataset page's job).
    about = d.describe(store, str(dataset))
    about_labeller = d.Labeller(about, lang, store.base_uri, href, extra=ontology)
    licenses = [about_labeller.value(o) for o in about.objects(dataset, DCTERMS.license)]
    licenses = licenses or [labeller.value(void.DATA_LICENSE)]
    title = about_labeller.best_literal(dataset, (DCTERMS.title, RDFS.label))
    description = about_labeller.best_literal(dataset, (DCTERMS.description, RDFS.comment))
    prologue = sparql_prologue(store.base_uri)
    return render_template(
        "home.html",
        title=str(title) if title is not None else None,
        description=str(description) if description is not None else None,
        classes=classes,
        types=[(segment, count, [labeller.value(c) for c in classes])
               for segment, (count, classes) in _type_counts().items()],
        phases=d.phases(store, lambda g: d.Labeller(g, lang, store.base_uri, href,
                                                    extra=ontology)),
        questions=[(q[lang], _sparql_link(prologue + text)) for q, text in EXAMPLE_QUERIES],
        named_queries=_named_queries(),
        licenses=licenses,
        dataset=about_labeller.value(dataset) if len(about) else None,
        dataset_iri=str(dataset),
        version=store.version[:12],
        base_uri=store.base_uri,
        today=last_modified().date().isoformat(),
    )


@blueprint.get("/list/<type_segment>")
def type_list(type_segment: str) -> Response:
    """Every resource whose IRI is `{base}id/{type}/...`, with its engagement links."""
    page = request.args.get("page", "1")
    store = get_store()
    total = _type_counts().get(type_segment, (0, []))[0]
    pages = -(-total // LIST_PAGE_SIZE)
    page_number = int(page) if page.isdigit() and 0 < int(page) <= pages else 1
    if not total:
        return _not_found_page(f"{store.base_uri}id/{type_segment}/")
    return _html_page(("list", type_segment, str(page_number), str(LIST_PAGE_SIZE)),
                      lambda: _list_page(type_segment, total, page_number))


def _type_counts() -> dict[str, tuple[int, list]]:
    store = get_store()
    return _cache.get(("type-counts", store.version), lambda: d.type_counts(store))


def _list_page(type_segment: str, total: int, page_number: int) -> str:
    store = get_store()
    lang, explicit = reader_language()
    href = make_href(lang if explicit else None)
    shown = d.list_resources(store, type_segment, offset=(page_number - 1) * LIST_PAGE_SIZE,
                             limit=LIST_PAGE_SIZE)
    related = d.list_related(store, [s for s, _ in shown])
    labels = d.labels_of(store, [s for s, _ in shown])
    labels += related
    ontology = _cache.get(("ontology-graph", store.version), _ontology_graph)
    labeller = d.Labeller(labels, lang, store.base_uri, href, extra=ontology)
    rows = []
    for resource, classes in shown:
        related_rows = []
        for p in sorted(set(related.predicates(None, resource)), key=str):
            related_rows.append(d.PropertyRow(labeller.value(p), sorted(
                (labeller.value(s) for s in related.subjects(p, resource)), key=d._value_key),
                inverse=True))
        for p in sorted(set(related.predicates(resource, None)), key=str):
            related_rows.append(d.PropertyRow(labeller.value(p), sorted(
                (labeller.value(o) for o in related.objects(resource, p)), key=d._value_key)))
        rows.append(d.ListItem(labeller.value(resource),
                               sorted((labeller.value(c) for c in classes), key=d._value_key),
                               related_rows))
    rows.sort(key=lambda item: item.resource.text.lower())
    return render_template("list.html", type_segment=type_segment, items=rows,
                           total=total, page=page_number, pages=-(-total // LIST_PAGE_SIZE))


def _not_found_page(iri: str) -> Response:
    fmt = choose_variant(None)
    return _not_found(iri, fmt, {"Vary": "Accept"})
