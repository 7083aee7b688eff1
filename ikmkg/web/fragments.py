"""Blueprint /fragments: Triple Pattern Fragments over `ikmkg.fragments`.

`/fragments?subject=&predicate=&object=&page=` answers in TriG (metadata in its own graph),
N-Quads, Turtle, N-Triples or JSON-LD (one merged graph), or HTML, by `Accept`; HTML when the
request has none. Cross-origin access is allowed, as for the SPARQL endpoint.
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from rdflib import Graph, Literal, URIRef

from ikmkg import fragments as f
from ikmkg.formats import HTML, QUAD_FORMATS, RDF_FORMATS
from ikmkg.namespaces import bind_prefixes
from ikmkg.web import external_url, get_store, int_arg
from ikmkg.web.admission import admitted
from ikmkg.web.documents import make_href
from ikmkg.web.i18n import reader_language
from ikmkg.web.negotiation import choose, etag_for, matches

blueprint = Blueprint("fragments", __name__)

#: Offered representations, HTML first (browsers, no Accept), then TriG as TPF clients prefer.
OFFERED = (HTML, *(fmt for fmt in QUAD_FORMATS if fmt.suffix == "trig"),
           *(fmt for fmt in QUAD_FORMATS if fmt.suffix != "trig"), *RDF_FORMATS)
MAX_PAGE = 100_000


@blueprint.get("/fragments")
@admitted
def fragments() -> Response:
    """One page of the triples matching a pattern, with Hydra controls."""
    fmt = choose(OFFERED)
    page = int_arg("page", 1, minimum=1, maximum=MAX_PAGE)
    store = get_store()
    interface = external_url("fragments.fragments")
    frag = f.fragment(store, request.args.get("subject"), request.args.get("predicate"),
                      request.args.get("object"), page, interface)
    etag = etag_for("fragments", frag.url(), fmt.suffix)
    if matches(etag):
        response = Response(status=304)
    elif fmt is HTML:
        response = Response(_html(frag), content_type="text/html; charset=utf-8")
    else:
        ds = frag.dataset(store.base_uri)
        if fmt in QUAD_FORMATS:
            body = ds.serialize(format=fmt.rdflib, encoding="utf-8")
        else:
            merged = bind_prefixes(Graph(), store.base_uri)
            for prefix, namespace in ds.namespaces():
                merged.bind(prefix, namespace, override=False)
            for s, p, o, _g in ds.quads((None, None, None, None)):
                merged.add((s, p, o))
            body = (merged.serialize(format="json-ld", auto_compact=True).encode("utf-8")
                    if fmt.rdflib == "json-ld" else merged.serialize(format=fmt.rdflib,
                                                                     encoding="utf-8"))
        response = Response(body, content_type=f"{fmt.media_type}; charset=utf-8")
    response.set_etag(etag)
    response.headers["Vary"] = "Accept"
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _term_view(term, href) -> dict:
    """How one term shows in HTML: its text, its page (ours), its fragment link value."""
    if isinstance(term, Literal):
        return {"text": str(term), "lang": term.language,
                "datatype": str(term.datatype) if term.datatype else None,
                "explicit": f.explicit(term), "href": None, "literal": True}
    if isinstance(term, URIRef):
        return {"text": str(term), "explicit": str(term), "href": href(str(term)),
                "literal": False}
    return {"text": f"_:{term}", "explicit": None, "href": None, "literal": False}


def _html(frag: f.Fragment) -> str:
    lang, explicit_lang = reader_language()
    href = make_href(lang if explicit_lang else None)
    values = {name: (f.explicit(term) if term is not None else "")
              for name, term in zip(("subject", "predicate", "object"), frag.pattern)}
    rows = [[_term_view(term, href) for term in triple] for triple in frag.triples]
    return render_template(
        "fragments.html", frag=frag, values=values, rows=rows, page_size=f.PAGE_SIZE,
        first=(frag.page - 1) * f.PAGE_SIZE + 1,
        prev_url=frag.url(frag.page - 1) if frag.page > 1 else None,
        next_url=frag.url(frag.page + 1) if frag.page < frag.pages else None,
        alternates=[{"type": fmt.media_type, "href": frag.url(), "label": fmt.label}
                    for fmt in OFFERED if fmt is not HTML])
