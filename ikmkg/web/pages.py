"""Blueprint for linked-data pages: /id/... -> 303 /doc/..., content negotiation, index pages.

Request paths are relative to the path of `settings.base_uri` (mount the app there), so the IRI
`{base}id/province/jawa-timur` is served at `/id/province/jawa-timur` and described at
`/doc/province/jawa-timur` (HTML, Turtle, N-Triples, JSON-LD or RDF/XML by `Accept`, or directly
with a suffix such as `.ttl`). The ontology (`{base}ontology`, hash terms), the shapes
(`{base}shapes`) and other document IRIs under the base (`{base}graph/data`) are documents
themselves and negotiate without a redirect (Cool URIs for the Semantic Web, section 4.1).

Responses carry `ETag`/`Last-Modified` from the store's version and answer conditional requests
with 304; the graph changes only on reload, so rendered bodies are kept in the page cache
(ikmkg.web.documents, which serves every negotiated document). A resource page adds what the
releases say about it (ikmkg.web.releases), and `?version=` shows it as in a release
(ikmkg.web.timetravel).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, Response, redirect, render_template, request
from rdflib import Graph
from rdflib.namespace import DCTERMS, RDFS

from ikmkg import describe as d
from ikmkg import geo, void
from ikmkg.dataset import DATA_LICENSE
from ikmkg.kg import dataset_iri
from ikmkg.lists import ListItem, list_related, list_resources, phases, type_counts
from ikmkg.namespaces import prefixes
from ikmkg.ontology_docs import CARD_CONSTRAINTS, anchor_of, ontology_doc
from ikmkg.releases import list_releases
from ikmkg.view import Labeller, PropertyRow, resource_view, value_key
from ikmkg.web import get_settings, get_store, int_arg, releases, timetravel
from ikmkg.web.admission import admitted
from ikmkg.web.documents import (
    BY_SUFFIX,
    alternates,
    html_page,
    make_href,
    not_found_page,
    page_cache,
    serve_document,
    sparql_link,
    split_suffix,
)
from ikmkg.web.i18n import reader_language, text, with_lang
from ikmkg.web.negotiation import CACHE_CONTROL, last_modified, remember_load_time

blueprint = Blueprint("pages", __name__)

LIST_PAGE_SIZE = 1000

#: Questions for the home page (keys of ikmkg.web.i18n.UI), each a query over the ontology's
#: own terms.
EXAMPLE_QUERIES = (
    ("question_phases",
     ("SELECT ?phase ?province ?status WHERE {\n  ?e a ikm:ProvinceEngagement ; ikm:phase ?phase ;"
      " ikm:province ?province .\n  OPTIONAL { ?e ikm:status ?status }\n}\n"
      "ORDER BY ?phase ?province")),
    ("question_products",
     ("SELECT ?e ?product WHERE {\n  ?e a ikm:ProvinceEngagement ; ikm:productFocus ?product .\n}"
      "\nORDER BY ?e")),
    ("question_sources",
     ("SELECT ?fact ?text WHERE {\n  ?fact prov:wasDerivedFrom ?s .\n  ?s rdf:value ?text .\n}"
      "\nORDER BY ?fact")),
)


@blueprint.record_once
def _remember_load_time(state) -> None:  # noqa: ANN001 - flask BlueprintSetupState
    store = state.app.extensions.get("ikmkg_store")
    if store is not None:
        remember_load_time(store)


# ---------------------------------------------------------------------------------------------
# Resources under id/


@blueprint.get("/id/<path:rest>")
def identifier(rest: str) -> Response:
    """The thing itself: 303 See Other to the document that describes it, 404 at once when the
    graph says nothing about it (issue #17)."""
    if not (rest.endswith("/") or request.args.get("version")):  # a list; time travel
        store, iri = get_store(), get_settings().base_uri + "id/" + rest
        if not page_cache.get(("exists", store.version, f"/doc/{rest}"),
                              lambda: _exists(iri), keep=bool):
            return not_found_page(iri)
    target = f"{request.script_root}/doc/{quote(rest, safe='/-_.~!$&()*+,;=:@%')}"
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
        return timetravel.versioned_document(rest)
    store, base = get_store(), get_settings().base_uri
    stem, suffix = split_suffix(rest)
    # A slug may itself end in something like ".rdf": the exact IRI wins over a suffix.
    if suffix and page_cache.get(("exists", store.version, f"/doc/{rest}"),
                                 lambda: _exists(base + "id/" + rest), keep=bool):
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
            graph += void.describe_dataset(store, get_settings(), modified=last_modified())
        return graph

    return page_cache.get(("describe", store.version, iri), compute)


def _exists(iri: str) -> bool:
    dataset = str(dataset_iri(get_store().base_uri))
    if iri == dataset:
        return True
    if iri.startswith(dataset + "/"):  # a release's version IRI, described by web.releases
        version = iri[len(dataset) + 1:]
        return any(r.version == version for r in list_releases(get_settings()))
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
    ontology = page_cache.get(("ontology-graph", store.version), _ontology_graph)
    view = resource_view(graph, iri, lang=lang, base_uri=store.base_uri,
                         href=make_href(explicit), ontology=ontology)
    return render_template("resource.html", view=view, alternates=alternates(doc_path, explicit),
                           page_url=request.script_root + doc_path,
                           # conformance, "changed in release X", cite this
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
    stem, suffix = split_suffix(version)
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
    if suffix is not None and suffix not in BY_SUFFIX:
        return not_found_page(request.path)
    store = get_store()
    doc_path = doc_path or f"/{name}"
    return serve_document(
        doc_path, suffix, iri=f"{store.base_uri}{doc_path[1:]}",
        exists=exists or (lambda: bool(store.ask(
            f"ASK {{ GRAPH <{store.base_uri}graph/{name}> {{ ?s ?p ?o }} }}"))),
        rdf=_named_graph_loader(name),
        html=lambda lang, explicit: _ontology_page(lang, explicit, doc_path, part=name),
    )


def _ontology_page(lang: str, explicit: str | None, doc_path: str = "/ontology",
                   part: str = "ontology") -> str:
    """The classes and properties (`part` "ontology") or the SHACL shapes ("shapes") on a page
    of their own, each term a card at its anchor; a link to a term of the same page is its
    anchor alone."""
    store = get_store()
    elsewhere = make_href(explicit)
    here = f"{store.base_uri}{part}#"

    def href(iri: str) -> str | None:
        return "#" + anchor_of(iri) if iri.startswith(here) else elsewhere(iri)

    doc = ontology_doc(store, lang=lang, href=href)
    return render_template("ontology.html", doc=doc, alternates=alternates(doc_path, explicit),
                           sparql_link=sparql_link, card_constraints=CARD_CONSTRAINTS, part=part)


@blueprint.get("/graph/<name>")
def graph_document(name: str) -> Response:
    """A named graph's IRI: described like any resource (its content is in the dumps)."""
    store = get_store()
    stem, suffix = split_suffix(name)
    iri = f"{store.base_uri}graph/{stem}"
    return serve_document(
        f"/graph/{stem}", suffix, iri=iri,
        exists=lambda: _exists(iri),
        rdf=lambda: _description(iri),
        html=lambda lang, explicit: _resource_page(iri, f"/graph/{stem}", lang, explicit),
    )


# ---------------------------------------------------------------------------------------------
# Index pages


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
    """What a visitor came for first (search, example questions, the map), then the phases, one
    browse list by type, dumps, licence and citation."""
    return html_page(("home",), _home_page)


def _home_page() -> str:
    store = get_store()
    lang, explicit = reader_language()
    href = make_href(lang if explicit else None)
    ontology = page_cache.get(("ontology-graph", store.version), _ontology_graph)
    labeller = Labeller(Graph(), lang, store.base_uri, href, extra=ontology)
    dataset_node = dataset_iri(store.base_uri)
    # The stored description only: the VoID part needs the dumps built (the dataset page's job).
    about = d.describe(store, str(dataset_node))
    about_labeller = Labeller(about, lang, store.base_uri, href, extra=ontology)
    licenses = [about_labeller.value(o) for o in about.objects(dataset_node, DCTERMS.license)]
    licenses = licenses or [labeller.value(DATA_LICENSE)]
    title = about_labeller.best_literal(dataset_node, (DCTERMS.title, RDFS.label))
    description = about_labeller.best_literal(dataset_node, (DCTERMS.description, RDFS.comment))
    prologue = prefixes(store.base_uri)
    return render_template(
        "home.html",
        title=str(title) if title is not None else None,
        description=str(description) if description is not None else None,
        # one browse list: a type's classes by label, its count (issue #17 item 12)
        types=sorted(((segment, count, [labeller.value(c) for c in classes])
                      for segment, (count, classes) in _type_counts().items()),
                     key=lambda row: (row[2][0].text if row[2] else row[0]).lower()),
        map=geo.phase_map(store, lang=lang, href=href, title=text("map_title", lang),
                          neutral_label=text("no_engagement", lang)),
        phases=phases(store, lambda g: Labeller(g, lang, store.base_uri, href,
                                                extra=ontology)),
        # each declaring the prefixes it uses; the query page in the reader's language
        questions=[(text(key, lang), with_lang(sparql_link(
                        "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in prologue.items()
                                if re.search(rf"\b{p}:", query)) + query),
                        lang if explicit else None))
                   for key, query in EXAMPLE_QUERIES],
        named_queries=_named_queries(),
        licenses=licenses,
        dataset=about_labeller.value(dataset_node) if len(about) else None,
        dataset_iri=str(dataset_node),
        base_uri=store.base_uri,
        citation=releases.dataset_citation(),
    )


@blueprint.get("/list/<type_segment>")
@admitted
def type_list(type_segment: str) -> Response:
    """Every resource whose IRI is `{base}id/{type}/...`, with its engagement links."""
    page = int_arg("page", 1, minimum=1)
    store = get_store()
    total = _type_counts().get(type_segment, (0, []))[0]
    pages = -(-total // LIST_PAGE_SIZE)
    page_number = page if page <= pages else 1
    if not total:
        return not_found_page(f"{store.base_uri}id/{type_segment}/")
    return html_page(("list", type_segment, str(page_number), str(LIST_PAGE_SIZE)),
                     lambda: _list_page(type_segment, total, page_number))


def _type_counts() -> dict[str, tuple[int, list]]:
    store = get_store()
    return page_cache.get(("type-counts", store.version), lambda: type_counts(store))


def _list_page(type_segment: str, total: int, page_number: int) -> str:
    store = get_store()
    lang, explicit = reader_language()
    href = make_href(lang if explicit else None)
    shown = list_resources(store, type_segment, offset=(page_number - 1) * LIST_PAGE_SIZE,
                           limit=LIST_PAGE_SIZE)
    related = list_related(store, [s for s, _ in shown])
    labels = d.labels_of(store, [s for s, _ in shown])
    labels += related
    ontology = page_cache.get(("ontology-graph", store.version), _ontology_graph)
    labeller = Labeller(labels, lang, store.base_uri, href, extra=ontology)
    rows = []
    for resource, classes in shown:
        related_rows = []
        for p in sorted(set(related.predicates(None, resource)), key=str):
            related_rows.append(PropertyRow(labeller.value(p), sorted(
                (labeller.value(s) for s in related.subjects(p, resource)), key=value_key),
                inverse=True))
        for p in sorted(set(related.predicates(resource, None)), key=str):
            related_rows.append(PropertyRow(labeller.value(p), sorted(
                (labeller.value(o) for o in related.objects(resource, p)), key=value_key)))
        rows.append(ListItem(labeller.value(resource),
                             sorted((labeller.value(c) for c in classes), key=value_key),
                             related_rows))
    rows.sort(key=lambda item: item.resource.text.lower())
    return render_template("list.html", type_segment=type_segment, items=rows,
                           total=total, page=page_number, pages=-(-total // LIST_PAGE_SIZE))
