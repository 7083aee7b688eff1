"""Blueprint /sparql and /queries/: the SPARQL 1.1 Protocol query operation and named queries.

Views stay thin: read the protocol request (ikmkg.sparql), check the query, negotiate the
format, run it on the store (which serialises natively), and answer. CORS is open (read-only
data for browser clients such as YASGUI or Comunica).
"""

from __future__ import annotations

import functools
import ipaddress
import json

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, render_template, request, url_for
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from ikmkg import admission, sparql
from ikmkg import named_queries as catalogue
from ikmkg import protocol as sparql_protocol
from ikmkg import service_description as service
from ikmkg.errors import (IkmkgError, NotAcceptable, NotFound, PayloadTooLarge, QueryError,
                          QueryTimeout)
from ikmkg.formats import BY_MEDIA_TYPE, HTML, QUAD_FORMATS, RDF_FORMATS, RESULT_FORMATS, Format
from ikmkg.namespaces import sparql_prologue
from ikmkg.query_dataset import without_dataset_clauses
from ikmkg.web import external_url, get_settings, get_store, ops, workbench
from ikmkg.web.i18n import reader_language

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


def _admission() -> admission.Admission:
    gate = current_app.extensions.get("ikmkg_admission")
    if gate is None:
        settings = get_settings()
        gate = admission.Admission(settings.max_concurrent_queries,
                                   retry_after=max(1, round(settings.query_timeout)))
        current_app.extensions["ikmkg_admission"] = gate
    return gate


def _overruns() -> admission.Overruns:
    overruns = current_app.extensions.get("ikmkg_overruns")
    if overruns is None:
        overruns = current_app.extensions["ikmkg_overruns"] = admission.Overruns()
    return overruns


def _named_queries() -> dict[str, catalogue.NamedQuery]:
    queries = current_app.extensions.get("ikmkg_named_queries")
    if queries is None:
        settings = get_settings()
        queries = catalogue.load_named_queries(settings.queries_dir, settings.base_uri)
        current_app.extensions["ikmkg_named_queries"] = queries
    return queries


def _client() -> str:
    """Who sends the request, for admission (see `client_identity`)."""
    return client_identity(request.remote_addr or "-", request.headers.get("X-Forwarded-For"),
                           get_settings().trusted_proxies)


def client_identity(peer: str, forwarded: str | None, trusted_proxies: str) -> str:
    """The client a request counts for: the peer, or, when the peer is a trusted proxy
    (`trusted_proxies`, loopback by default), the last address in X-Forwarded-For that is not
    a trusted proxy itself (each proxy appends the address it received the request from, so
    only what trusted ones appended is believed). An IPv6 client counts as its /64, which one
    subscriber usually holds whole; anything that is not an address stays as it is."""
    trusted = _trusted_networks(trusted_proxies)
    client = _address(peer)
    if forwarded and client is not None and any(client in net for net in trusted):
        for hop in reversed(forwarded.split(",")):
            hop_address = _address(hop.strip())
            if hop_address is None:
                break  # not an address: believe nothing further left
            client = hop_address
            if not any(client in net for net in trusted):
                break
    if client is None:
        return peer
    if client.version == 6:
        return str(ipaddress.IPv6Network((client, 64), strict=False))
    return str(client)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:192.0.2.1 is 192.0.2.1
    return mapped if mapped is not None else address


@functools.lru_cache(maxsize=8)
def _trusted_networks(setting: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(part.strip(), strict=False)
                 for part in setting.split(",") if part.strip())


def admitted(view):
    """`view`, run holding one of its client's query slots (`admission.Admission`): every route
    that queries the engine goes through admission, not only /sparql (issue 20)."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        with _admission().slot(_client()):
            return view(*args, **kwargs)

    return wrapper


def _read_request() -> sparql_protocol.ProtocolRequest:
    if len(request.query_string) > get_settings().max_request_bytes:
        raise PayloadTooLarge("the query string is larger than the endpoint accepts")
    body = request.get_data(cache=False) if request.method == "POST" else b""
    return sparql_protocol.read_protocol(request.method, request.content_type or "",
                                request.query_string, body)


def _negotiate(kind: str, override: str | None, html: bool = True) -> Format:
    """The format to answer with: `format=` if given, else the best match of Accept."""
    if override:
        fmt = sparql_protocol.format_by_name(override, kind)
        if fmt is None or (fmt is HTML and not html):
            raise NotAcceptable(f"format={override} is not available for this result; use one "
                                "of " + ", ".join(sparql_protocol.offered(kind)))
        return fmt
    accept = request.headers.get("Accept", "")
    # Long headers are matched afresh: remembered, 512 distinct 400 KB ones held 210 MB a
    # worker (issue #20).
    match = _best_match if len(accept) <= CACHED_ACCEPT_CHARS else _best_match.__wrapped__
    best = match(accept, kind, html)
    if best is None:
        offered = sparql_protocol.offered(kind) + (["text/html"] if html else [])
        raise NotAcceptable("none of the media types in Accept is available for this result; "
                            "available: " + ", ".join(offered))
    return BY_MEDIA_TYPE[best]


#: Accept headers up to this length have their match remembered (browsers send a few hundred).
CACHED_ACCEPT_CHARS = 1024


@functools.lru_cache(maxsize=512)
def _best_match(accept: str, kind: str, html: bool) -> str | None:
    """The media type to answer an `Accept` header with (None: 406); remembered, since clients
    send the same few headers again and again."""
    offered = sparql_protocol.offered(kind) + (["text/html"] if html else [])
    mimetypes = parse_accept_header(accept, MIMEAccept)
    if not mimetypes:
        return offered[0]
    aliases = {"application/json": "application/sparql-results+json" if kind != "graph"
               else "application/ld+json",
               "application/xml": "application/sparql-results+xml" if kind != "graph"
               else "application/rdf+xml"}
    best = mimetypes.best_match(offered + list(aliases))
    return None if best is None else aliases.get(best, best)


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
    offered = [f.media_type for f in RDF_FORMATS] + ["text/html"]
    if protocol.format:
        fmt = sparql_protocol.format_by_name(protocol.format, "graph")
        if fmt is None:
            raise NotAcceptable(f"format={protocol.format} is not available here")
    elif not request.accept_mimetypes:
        fmt = RDF_FORMATS[0]
    else:
        best = request.accept_mimetypes.best_match(offered)
        if best is None:
            raise NotAcceptable("available: " + ", ".join(offered))
        fmt = BY_MEDIA_TYPE[best]
    if fmt is HTML:
        return _page(None, protocol)
    graph = service.service_description(external_url("sparql.endpoint"),
                                       store.base_uri, store.graph_iris)
    body = graph.serialize(format=fmt.rdflib)
    response = Response(body, mimetype=fmt.media_type)
    response.headers["Vary"] = "Accept"
    return response


def _run(protocol: sparql_protocol.ProtocolRequest, named: catalogue.NamedQuery | None = None) -> Response:
    settings = get_settings()
    store = get_store()
    allowed = set(store.graph_iris.values())
    text = protocol.query
    if protocol.default_graph_uris or protocol.named_graph_uris:
        text = without_dataset_clauses(text)  # the protocol's dataset wins (Protocol §2.1.4)
    if named is not None:
        text = catalogue.bind_parameters(text, _parameters(named, protocol))
    checked = sparql.check_query(text, allowed_graphs=allowed,
                                 max_results=settings.max_results)
    ops.note_query(text)  # the access log's query hash (ikmkg.web.ops)
    fmt = _negotiate(checked.kind, protocol.format)
    if fmt is HTML:
        return _page(checked, protocol, named)
    # Named queries give CSV in full, streamed: the one download that is never capped.
    stream = named is not None and fmt.suffix == "csv"
    if stream:
        checked = sparql.check_query(text, allowed_graphs=allowed, max_results=0)
    with _admission().slot(_client()):
        result = _query(checked, protocol, fmt.suffix, stream=stream,
                        max_bytes=settings.max_result_bytes)
    ops.note_rows(result.rows)
    if stream:
        response = Response(result.chunks, mimetype=fmt.media_type)
        response.call_on_close(result.close)
    else:
        body = result.read()
        by_bytes = result.capped_by == "bytes"
        if result.capped:
            body = sparql_protocol.note_capped(body, fmt.suffix, settings.max_results,
                                      settings.max_result_bytes if by_bytes else 0)
        response = Response(body, mimetype=fmt.media_type)
        if result.capped:
            response.headers[CAPPED_HEADER] = (f"max-bytes={settings.max_result_bytes}"
                                               if by_bytes else
                                               f"max-results={settings.max_results}")
    response.headers["Vary"] = "Accept"
    if named is not None and protocol.format:
        response.headers["Content-Disposition"] = f'inline; filename="{named.name}.{fmt.suffix}"'
    return response


def _query(checked: sparql.CheckedQuery, protocol: sparql_protocol.ProtocolRequest, result_format: str,
           *, stream: bool = False,
           max_results: int | None = None, max_bytes: int = 0):
    """Run the query for the client of this request, within its time limit (lowered by
    `timeout=`, never below min_query_timeout) and its budget of overruns (admission.Overruns)."""
    settings = get_settings()
    timeout = min(protocol.timeout or settings.query_timeout, settings.query_timeout)
    timeout = max(timeout, min(settings.min_query_timeout, settings.query_timeout))
    explicit = bool(protocol.default_graph_uris or protocol.named_graph_uris)
    client = _client()
    _overruns().check(client)
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
        _overruns().charge(client)
        raise


def _parameters(named: catalogue.NamedQuery, protocol: sparql_protocol.ProtocolRequest) -> dict[str, str]:
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
                   protocol: sparql_protocol.ProtocolRequest, named: catalogue.NamedQuery | None) -> dict:
    cap = min(get_settings().max_results, HTML_ROWS)
    max_bytes = min(get_settings().max_result_bytes or HTML_BYTES, HTML_BYTES)
    with _admission().slot(_client()):
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
    response.headers["Vary"] = "Accept"
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
    best = request.accept_mimetypes.best_match(["application/json", "text/html"]) \
        if request.accept_mimetypes else "application/json"
    if request.args.get("format") in ("json", "html"):
        best = "application/json" if request.args["format"] == "json" else "text/html"
    if best is None:
        raise NotAcceptable("available: application/json, text/html")
    if best == "text/html":
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
