"""The query workbench around /sparql (issue #18): what the editor completes, results people
can read, the same request as code, and a syntax error shown in place.

The page itself stays a form that works without JavaScript (ikmkg.web.sparql renders it);
`static/workbench.js` turns its textarea into an editor (CodeMirror 6, vendored) that reads
`/sparql/vocabulary` for its completions and the search API for entities.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, url_for

from ikmkg import query_syntax, snippets
from ikmkg import search as search_index
from ikmkg.errors import IkmkgError, QueryError
from ikmkg.formats import HTML
from ikmkg.namespaces import prefixes
from ikmkg.web import external_url, get_store
from ikmkg.web.i18n import reader_language
from ikmkg.web.negotiation import format_named, preferred

blueprint = Blueprint("workbench", __name__)

OWL = "http://www.w3.org/2002/07/owl#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
CLASS_TYPES = {OWL + "Class", RDFS + "Class"}
PROPERTY_TYPES = {RDF + "Property", OWL + "ObjectProperty", OWL + "DatatypeProperty",
                  OWL + "AnnotationProperty"}


def wants_page(protocol) -> bool:
    """Whether a query request asked for the HTML page (so its errors come back on the page,
    with the text in the editor, not as a bare error document)."""
    if protocol.format:
        return format_named(protocol.format, [HTML]) is HTML
    return preferred(["application/sparql-results+json", "text/html"]) == "text/html"


def problem(text: str | None, error: IkmkgError | None) -> query_syntax.SyntaxProblem | None:
    """The syntax problem behind `error`, with line and column in the user's own text."""
    if text is None or not isinstance(error, QueryError) or not error.message.startswith(
            "error at "):
        return None
    return query_syntax.diagnose(text, prefixes(get_store().base_uri))


def curie(iri: str, known: dict[str, str]) -> str | None:
    """`iri` as a prefixed name, if one of `known` (name -> namespace) fits."""
    for name, namespace in sorted(known.items(), key=lambda item: -len(item[1])):
        local = iri[len(namespace):]
        if iri.startswith(namespace) and local and all(c.isalnum() or c in "_-." for c in local):
            return f"{name}:{local}"
    return None


def label_cells(results: dict | None, lang: str) -> None:
    """Give each IRI cell of a results table its label (in `lang` if it has one) and its
    prefixed name, for people; the full IRI stays in the cell for the hover title."""
    if not results or not results.get("rows"):
        return
    store = get_store()
    index = search_index.index_for(store)
    known = prefixes(store.base_uri)
    for row in results["rows"]:
        for cell in row:
            if cell is None or cell["kind"] != "iri":
                continue
            entry = index.entries.get(cell["value"])
            cell["curie"] = curie(cell["value"], known)
            cell["label"] = entry.label(lang) if entry is not None and entry.labels else None


def code(query: str, kind: str) -> list[tuple[str, str, str]]:
    """The query as code in each language: (key, label, code)."""
    endpoint = external_url("sparql.endpoint")
    texts = snippets.snippets(endpoint, query, kind)
    return [(key, label, texts[key]) for key, label in snippets.LANGUAGES]


@blueprint.get("/sparql/vocabulary")
def vocabulary() -> Response:
    """What the editor completes: prefixes, and the ontology's classes and properties with
    their labels in the reader's language (`?lang=`, else Accept-Language)."""
    lang, _ = reader_language()
    store = get_store()
    known = prefixes(store.base_uri)
    index = search_index.index_for(store)
    terms = []
    for iri, entry in index.entries.items():
        kind = ("class" if entry.types & CLASS_TYPES
                else "property" if entry.types & PROPERTY_TYPES else None)
        name = curie(iri, known) if kind else None
        if name is None:
            continue
        terms.append({"name": name, "iri": iri, "kind": kind, "label": entry.label(lang),
                      "description": entry.description(lang)})
    terms.sort(key=lambda term: term["name"])
    body = {"lang": lang, "prefixes": known, "terms": terms,
            "search": url_for("search.search_page")}
    response = Response(json.dumps(body, ensure_ascii=False), mimetype="application/json")
    response.headers["Vary"] = "Accept-Language"
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
