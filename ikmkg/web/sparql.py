"""Blueprint /sparql and /queries/: the SPARQL 1.1 Protocol query operation and named queries.

Views stay thin: read the protocol request (ikmkg.sparql), check the query, negotiate the
format, run it on the store (which serialises natively), and answer. CORS is open (read-only
data for browser clients such as YASGUI or Comunica).
"""

from __future__ import annotations

import json

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, render_template, request, url_for

from ikmkg import named_queries as catalogue
from ikmkg import protocol as sparql_protocol
from ikmkg import service_description as service
from ikmkg import sparql
from ikmkg.dumps import serialize_graph
from ikmkg.errors import IkmkgError, NotFound, PayloadTooLarge, QueryError, QueryTimeout
from ikmkg.formats import HTML, JSON, QUAD_FORMATS, RDF_FORMATS, RESULT_FORMATS, Format
from ikmkg.namespaces import sparql_prologue
from ikmkg.query_dataset import without_dataset_clauses
from ikmkg.web import admission as web_admission
from ikmkg.web import external_url, get_settings, get_store, ops, result_cache, workbench
from ikmkg.web.i18n import reader_language
from ikmkg.web.negotiation import choose, etag_for, matches

blueprint = Blueprint("sparql", __name__)

CAPPED_HEADER = "X-Result-Capped"
EXPOSED = ", ".join([CAPPED_HEADER, "Retry-After", "Content-Disposition", "Link"])
#: Most rows shown in an HTML results table (the download links give the rest).
HTML_ROWS = 1000
#: Largest answer behind an HTML results table, in bytes (the page it renders is a few times
#: larger and is built in the worker's memory; downloads get max_result_bytes).
HTML_BYTES = 1_000_000


@blueprint.after_request
def add_cors(response: Response) -> Response:
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = EXPOSED
    return response


def _preflight() -> Response:
    response = Response(status=204)
    response.headers["Allow"] = "GET, HEAD, POST, OPTIONS"
    response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, POST, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = "Accept, Content-Type"
    response.headers["Access-Control-Max-Age"] = "86400"
    return response


def _named_queries() -> dict[str, catalogue.NamedQuery]:
    queries = current_app.extensions.get("ikmkg_named_queries")
    if queries is None:
        settings = get_settings()
        queries = catalogue.load_named_queries(settings.queries_dir, settings.base_uri)
        current_app.extensions["ikmkg_named_queries"] = queries
    return queries


def _read_request() -> sparql_protocol.ProtocolRequest:
    if len(request.query_string) > get_settings().max_request_bytes:
        raise PayloadTooLarge("the query string is larger than the endpoint accepts")
    body = request.get_data(cache=False) if request.method == "POST" else b""
    return sparql_protocol.read_protocol(request.method, request.content_type or "",
                                request.query_string, body)


def _offered(kind: str, html: bool = True) -> tuple[Format, ...]:
    """What a result of `kind` can be sent as, the default first (HTML, the page, last)."""
    formats = (*RDF_FORMATS, *QUAD_FORMATS) if kind == "graph" else RESULT_FORMATS
    return (*formats, HTML) if html else formats


@blueprint.after_request
def no_store_errors(response: Response) -> Response:
    """Errors (4xx, 5xx) and POST answers are never stored by any cache: a 429, 503 or 413 says
    something about this moment, and a refusal is cheap to say again."""
    if response.status_code >= 400 or request.method == "POST":
        response.headers["Cache-Control"] = "no-store"
        response.headers.pop("ETag", None)
    return response


@blueprint.route("/sparql", methods=["GET", "POST", "OPTIONS"])
def endpoint() -> Response:
    """The SPARQL endpoint (query operation), its service description and its query page."""
    if request.method == "OPTIONS":
        return _preflight()
    protocol = _read_request()
    if protocol.query is None:
        if request.method == "POST":
            raise QueryError("no query given: send it as query= or as application/sparql-query")
        return _describe_service(protocol)
    return _run_or_page(protocol)


def _run_or_page(protocol: sparql_protocol.ProtocolRequest,
                 named: catalogue.NamedQuery | None = None) -> Response:
    """`_run`; a refused or failed query asked from the page comes back on the page, its text
    in the editor and the error beside it (issue #17: nothing the user typed is lost)."""
    try:
        return _run(protocol, named)
    except IkmkgError as error:
        if not workbench.wants_page(protocol):
            raise
        return _page(None, protocol, named, error=error)


def _describe_service(protocol: sparql_protocol.ProtocolRequest) -> Response:
    store = get_store()
    fmt = choose((*RDF_FORMATS, HTML), format=protocol.format)
    key = ("service", fmt.suffix, *(reader_language() if fmt is HTML else ()))
    etag = etag_for(*key)
    if result_cache.cacheable() and matches(etag):
        response = Response(status=304)
    elif fmt is HTML:
        response = _page(None, protocol)
    else:
        graph = service.service_description(external_url("sparql.endpoint"),
                                           store.base_uri, store.graph_iris)
        response = Response(serialize_graph(graph, fmt.media_type, store.base_uri),
                            mimetype=fmt.media_type)
    if fmt is HTML:
        response.headers["Vary"] = "Accept, Accept-Language"
    else:
        response.headers["Vary"] = "Accept"
    return result_cache.validated(response, etag) if result_cache.cacheable() else response


def _run(protocol: sparql_protocol.ProtocolRequest,
         named: catalogue.NamedQuery | None = None) -> Response:
    settings = get_settings()
    text = protocol.query
    if protocol.default_graph_uris or protocol.named_graph_uris:
        text = without_dataset_clauses(text)  # the protocol's dataset wins (Protocol §2.1.4)
    if named is not None:
        text = catalogue.bind_parameters(text, _parameters(named, protocol))
    checked = sparql.check_query(text, max_results=settings.max_results)
    ops.note_query(text)  # the access log's query hash (ikmkg.web.ops)
    fmt = choose(_offered(checked.kind), format=protocol.format)
    cacheable = result_cache.cacheable()
    key = result_cache.request_key(protocol, text, fmt, named)
    etag = etag_for(*key) if cacheable else None
    if etag is not None and matches(etag):  # the client holds this answer: nothing to run
        response = result_cache.validated(Response(status=304), etag)
        response.headers["Vary"] = "Accept, Accept-Language" if fmt is HTML else "Accept"
        return response
    if fmt is HTML:
        response = _page(checked, protocol, named)
    else:
        response = _answer(checked, text, protocol, fmt, named, key if cacheable else None)
        response.headers["Vary"] = "Accept"
        if named is not None and protocol.format:
            response.headers["Content-Disposition"] = (f'inline; filename="{named.name}.'
                                                       f'{fmt.suffix}"')
    if CAPPED_HEADER in response.headers:
        response.headers["Cache-Control"] = "no-store"  # not the query's whole answer
    elif etag is not None:
        result_cache.validated(response, etag)
    return response


def _answer(checked: sparql.CheckedQuery, text: str, protocol: sparql_protocol.ProtocolRequest,
            fmt: Format, named: catalogue.NamedQuery | None, key: tuple | None) -> Response:
    """The query's result in `fmt`: kept from before (`key`: a GET whose complete answer may
    be kept), else from the store."""
    settings = get_settings()
    version = get_store().version
    if key is not None:
        kept = result_cache.results().lookup(version, key)
        if kept is not None:
            body, rows = kept
            ops.note_rows(rows)
            return Response(body, mimetype=fmt.media_type)
    # Named queries give CSV in full, streamed: the one download that is never capped.
    stream = named is not None and fmt.suffix == "csv"
    if stream:
        checked = sparql.check_query(text, max_results=0)
    with web_admission.admission().slot(web_admission.client()):
        result = _query(checked, protocol, fmt.suffix, stream=stream,
                        max_bytes=settings.max_result_bytes)
    ops.note_rows(result.rows)
    if stream:
        chunks = result.chunks
        if key is not None:  # kept when sent in full (after the request's context is gone)
            results = result_cache.results()
            chunks = result_cache.tee(chunks, lambda body: results.put(version, key, (body, None)),
                          result_cache.room_for_body(key))
        response = Response(chunks, mimetype=fmt.media_type)
        response.call_on_close(result.close)
        return response
    body = result.read()
    if result.capped:
        by_bytes = result.capped_by == "bytes"
        response = Response(
            sparql_protocol.note_capped(body, fmt.suffix, settings.max_results,
                                        settings.max_result_bytes if by_bytes else 0),
            mimetype=fmt.media_type)
        response.headers[CAPPED_HEADER] = (f"max-bytes={settings.max_result_bytes}" if by_bytes
                                           else f"max-results={settings.max_results}")
        return response
    if key is not None and len(body) <= result_cache.room_for_body(key):
        result_cache.results().put(version, key, (body, result.rows))
    return Response(body, mimetype=fmt.media_type)


def _query(checked: sparql.CheckedQuery, protocol: sparql_protocol.ProtocolRequest,
           result_format: str,
           *, stream: bool = False,
           max_results: int | None = None, max_bytes: int = 0):
    """Run the query for the client of this request, within its time limit (lowered by
    `timeout=`, never below min_query_timeout) and its budget of overruns
    (`ikmkg.admission.Overruns`)."""
    settings = get_settings()
    timeout = min(protocol.timeout or settings.query_timeout, settings.query_timeout)
    timeout = max(timeout, min(settings.min_query_timeout, settings.query_timeout))
    explicit = bool(protocol.default_graph_uris or protocol.named_graph_uris)
    client = web_admission.client()
    web_admission.overruns().check(client)
    try:
        return get_store().query(
            checked.text, result_format=result_format, timeout=timeout,
            default_graph_uris=protocol.default_graph_uris if explicit else None,
            named_graph_uris=protocol.named_graph_uris if explicit else None,
            union=not checked.has_dataset,
            max_results=0 if stream else (checked.max_results if max_results is None
                                          else max_results),
            stream=stream, max_bytes=max_bytes, base_iri=f"{settings.base_uri}sparql")
    except QueryTimeout:
        web_admission.overruns().charge(client)
        raise


def _parameters(named: catalogue.NamedQuery,
                protocol: sparql_protocol.ProtocolRequest) -> dict[str, str]:
    declared = {name for name, _ in named.params}
    unknown = set(protocol.params) - declared - catalogue.INTERFACE_PARAMETERS
    if unknown:
        raise QueryError(f"unknown parameter(s) {', '.join(sorted(unknown))}; this query takes "
                         + (", ".join(sorted(declared)) or "none"))
    return {name: catalogue.parameter_term(value) for name, value in protocol.params.items()
            if value != "" and name in declared}


# --- HTML ----------------------------------------------------------------------------------

def _href(iri: str) -> str | None:
    """Where an IRI in a results table links: its page here, or itself if it is http(s)."""
    base = get_store().base_uri
    if iri.startswith(base):
        return request.script_root + "/" + iri[len(base):]
    if iri.startswith(("http://", "https://")):
        return iri
    return None


def _cell(term: dict | ox.NamedNode | ox.BlankNode | ox.Literal | None) -> dict | None:
    if term is None:
        return None
    if isinstance(term, dict):  # SPARQL JSON results
        kind, value = term["type"], term["value"]
        if kind == "uri":
            return {"kind": "iri", "value": value, "href": _href(value)}
        if kind == "bnode":
            return {"kind": "bnode", "value": "_:" + value}
        return {"kind": "literal", "value": value, "lang": term.get("xml:lang"),
                "datatype": term.get("datatype")}
    if isinstance(term, ox.NamedNode):
        return {"kind": "iri", "value": term.value, "href": _href(term.value)}
    if isinstance(term, ox.BlankNode):
        return {"kind": "bnode", "value": "_:" + term.value}
    return {"kind": "literal", "value": term.value, "lang": term.language,
            "datatype": None if term.language else term.datatype.value}


def _results_table(checked: sparql.CheckedQuery,
                   protocol: sparql_protocol.ProtocolRequest,
                   named: catalogue.NamedQuery | None) -> dict:
    cap = min(get_settings().max_results, HTML_ROWS)
    max_bytes = min(get_settings().max_result_bytes or HTML_BYTES, HTML_BYTES)
    with web_admission.admission().slot(web_admission.client()):
        fmt = "nt" if checked.kind == "graph" else "srj"
        result = _query(checked, protocol, fmt, max_results=cap, max_bytes=max_bytes)
        body = result.read()
    ops.note_rows(result.rows)
    if result.capped_by == "bytes":
        cap = f"{max_bytes // 1000:,} kB"
    if checked.kind == "graph":
        columns = ["subject", "predicate", "object"]
        rows = [[_cell(t.subject), _cell(t.predicate), _cell(t.object)]
                for t in ox.parse(body, format=ox.RdfFormat.N_TRIPLES)]
        return {"columns": columns, "rows": rows, "capped": result.capped, "cap": cap}
    data = json.loads(body)
    if "boolean" in data:
        return {"boolean": data["boolean"], "columns": [], "rows": []}
    columns = data["head"]["vars"]
    rows = [[_cell(b.get(v)) for v in columns] for b in data["results"]["bindings"]]
    return {"columns": columns, "rows": rows, "capped": result.capped, "cap": cap}


def _downloads(kind: str, protocol: sparql_protocol.ProtocolRequest,
               named: catalogue.NamedQuery | None) -> list[tuple[Format, str]]:
    formats = (*RDF_FORMATS, *QUAD_FORMATS) if kind == "graph" else RESULT_FORMATS
    links = []
    for fmt in formats:
        if named is not None:
            url = url_for("sparql.named_query", name=named.name, format=fmt.suffix,
                          **protocol.params)
        else:
            args = {"query": protocol.query, "format": fmt.suffix}
            if protocol.default_graph_uris:
                args["default-graph-uri"] = protocol.default_graph_uris
            if protocol.named_graph_uris:
                args["named-graph-uri"] = protocol.named_graph_uris
            url = url_for("sparql.endpoint", **args)
        links.append((fmt, url))
    return links


def _page(checked: sparql.CheckedQuery | None, protocol: sparql_protocol.ProtocolRequest,
          named: catalogue.NamedQuery | None = None, error: IkmkgError | None = None) -> Response:
    store = get_store()
    results = downloads = None
    figures = {}
    if checked is not None:
        results = _results_table(checked, protocol, named)
        workbench.label_cells(results, _lang())
        downloads = _downloads(checked.kind, protocol, named)
        if checked.kind == "solutions":
            from ikmkg.web import maps  # bar chart / province map of the result, if it fits

            figures = maps.result_figures(results)
    text = protocol.query if protocol.query is not None else sparql_prologue(store.base_uri) \
        + "\nSELECT ?s ?p ?o WHERE {\n  ?s ?p ?o\n}\nLIMIT 25\n"
    run = text
    if named is not None:  # the code runs the text the named query's URL runs
        try:
            run = catalogue.bind_parameters(named.text, _parameters(named, protocol))
        except QueryError:
            run = named.text
    html = render_template("sparql.html", query=text, results=results, downloads=downloads,
                           figures=figures,
                           named=named, params=protocol.params,
                           permalink=external_url("sparql.named_query", name=named.name,
                                                  **protocol.params) if named else None,
                           examples=list(_named_queries().values()),
                           graphs=store.graph_iris, settings=get_settings(),
                           error=error, problem=workbench.problem(protocol.query, error),
                           code=workbench.code(run, checked.kind if checked else "solutions"))
    response = Response(html, mimetype="text/html",
                        status=error.status if error is not None else 200)
    if error is not None:
        response.headers.update(error.headers)
    if results is not None and results.get("capped"):
        response.headers[CAPPED_HEADER] = f"max-results={results['cap']}"
    response.headers["Vary"] = "Accept, Accept-Language"
    sd = url_for("sparql.endpoint", _external=False)
    response.headers["Link"] = f'<{sd}>; rel="service-desc"; type="text/turtle"'
    return response


# --- named queries -------------------------------------------------------------------------

@blueprint.route("/queries/", methods=["GET", "OPTIONS"])
def named_queries() -> Response:
    """The list of named queries (HTML or JSON)."""
    if request.method == "OPTIONS":
        return _preflight()
    queries = _named_queries()
    if choose((JSON, HTML), format=request.args.get("format"), strict=False) is HTML:
        response = Response(render_template("queries.html", queries=queries.values()),
                            mimetype="text/html")
    else:
        listing = [{"name": q.name, "title": q.title, "description": q.description,
                    "params": [{"name": n, "description": d} for n, d in q.params],
                    "url": external_url("sparql.named_query", name=q.name)}
                   for q in queries.values()]
        response = Response(json.dumps(listing, ensure_ascii=False, indent=1),
                            mimetype="application/json")
    response.headers["Vary"] = "Accept"
    return response


@blueprint.route("/queries/<name>", methods=["GET", "POST", "OPTIONS"])
def named_query(name: str) -> Response:
    """Run the named query `name` (parameters from the query string), in any format."""
    if request.method == "OPTIONS":
        return _preflight()
    named = _named_queries().get(name)
    if named is None:
        raise NotFound(f"no named query {name!r}; see {url_for('sparql.named_queries')}")
    protocol = _read_request()
    if protocol.query is not None or protocol.default_graph_uris or protocol.named_graph_uris:
        raise QueryError("a named query takes parameters, not a query or a dataset")
    protocol.query = named.text
    return _run_or_page(protocol, named)


def _lang() -> str:
    return reader_language()[0]
