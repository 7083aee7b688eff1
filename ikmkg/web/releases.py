"""Blueprint for releases: release pages and changelogs, versioned dumps, time travel, citations.

| path | what |
|---|---|
| `/releases/` | the list of releases |
| `/releases/VERSION` (= `/doc/dataset/ikmkg/VERSION`, the version IRI's document) | the release: metadata, downloads, changes since the previous release (`?from=OTHER`: since any other release), validation, citation; HTML or RDF by Accept or suffix |
| `/releases/VERSION/validation[.ttl]` | the release's SHACL validation report (HTML, Turtle) |
| `/dumps/VERSION/NAME` | the release's dump files and research bundle, immutable (far-future caching) |
| `/dumps/latest/NAME` | the same for the newest release (short caching) |
| `/cite?iri=IRI&format=text\\|bibtex\\|csl-json\\|ris[&version=V]` | a citation of the dataset or a resource |

Resource pages call `resource_extras` (the conformance note, the releases that changed the
resource, the citation); the resource as it was in a release (`?version=`) is
ikmkg.web.timetravel.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode

from flask import Blueprint, Response, redirect, render_template, request, send_file, url_for
from rdflib import BNode, Graph, URIRef
from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.routing import BaseConverter

from ikmkg import describe as d
from ikmkg import dumps
from ikmkg import releases as rel
from ikmkg.errors import NotAcceptable, NotFound
from ikmkg.formats import HTML
from ikmkg.kg import dataset_iri
from ikmkg.settings import CANONICAL_BASE
from ikmkg.view import LABEL_PREDICATES, Labeller, Value
from ikmkg.web import get_settings, get_store
from ikmkg.web.documents import (
    BY_SUFFIX,
    VARIANTS,
    choose_variant,
    make_href,
    serialize,
)
from ikmkg.web.i18n import reader_language
from ikmkg.web.negotiation import CACHE_CONTROL, link_header, matches

blueprint = Blueprint("releases", __name__)

IMMUTABLE = "public, max-age=31536000, immutable"
LATEST = "public, max-age=300"
CITE_CACHE = "public, max-age=3600"  # the access date changes daily


class ReleaseConverter(BaseConverter):
    """A release version (starts with a digit) or `latest`: never a dump file name."""

    regex = rf"(?:latest|{rel.VERSION_PATTERN})"


@blueprint.record_once
def _register_converter(state) -> None:  # noqa: ANN001 - flask BlueprintSetupState
    # Before the routes below are added (record_once runs in the order of definition).
    state.app.url_map.converters["release"] = ReleaseConverter


def _canonical(iri: str) -> str:
    base = get_settings().base_uri
    return CANONICAL_BASE + iri[len(base):] if iri.startswith(base) else iri


def _served(term, base: str):  # noqa: ANN001, ANN202 - pyoxigraph term -> rdflib term
    return rel.served_term(term, base)


def _version_url(version: str) -> str:
    return f"{request.script_root}/releases/{version}"


def _split(version: str) -> tuple[str, str | None]:
    """`0.1.0.ttl` -> ("0.1.0", "ttl") when 0.1.0 is a release; else (version, None)."""
    stem, dot, suffix = version.rpartition(".")
    if dot and suffix in BY_SUFFIX and stem:
        try:
            rel.get_release(get_settings(), stem)
            return stem, suffix
        except NotFound:
            pass
    return version, None


# ---------------------------------------------------------------------------------------------
# Release pages


@blueprint.get("/releases/")
def index() -> Response:
    """Every release, newest first."""
    releases = rel.list_releases(get_settings())[::-1]
    body = render_template("release.html", release=None, releases=releases,
                           version_url=_version_url, base_uri=get_settings().base_uri)
    response = Response(body, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


@blueprint.get("/releases/<release:version>")
@blueprint.get("/doc/dataset/ikmkg/<release:version>")
def release_page(version: str) -> Response:
    """One release: HTML page or its RDF (metadata and changelog), by Accept or suffix."""
    settings = get_settings()
    version, suffix = _split(version)
    release = rel.get_release(settings, version)
    if version == "latest":
        return redirect(_version_url(release.version), code=302)
    base = settings.base_uri
    other = request.args.get("from") or release.previous
    log = rel.changelog(settings, other, release.version) if other else None
    fmt = choose_variant(suffix)
    lang, explicit = reader_language()
    etag = hashlib.sha256("\x1f".join((release.snapshot_sha256, base, fmt.suffix, lang,
                                       other or "", str(explicit))).encode()).hexdigest()[:32]
    if matches(etag):
        response = Response(status=304)
    elif fmt is HTML:
        response = Response(_release_html(release, log, lang, explicit),
                            content_type="text/html; charset=utf-8")
        response.headers["Content-Language"] = lang
    else:
        graph = rel.release_graph(release, base)
        if log is not None:
            graph += rel.changelog_graph(log, base)
        response = Response(serialize(graph, fmt, None),
                            content_type=f"{fmt.media_type}; charset=utf-8")
    response.set_etag(etag)
    response.headers["Vary"] = "Accept, Accept-Language"
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.headers["Link"] = link_header(
        (f"{_version_url(release.version)}.{f.suffix}", f.media_type)
        for f in VARIANTS if f is not HTML)
    return response


def _labeller(graphs: list[Graph], lang: str, explicit: str | None) -> Labeller:
    labels = Graph()
    for g in graphs:
        labels += g
    return Labeller(labels, lang, get_settings().base_uri, make_href(explicit))


def _term_value(node, labeller: Labeller) -> Value:  # noqa: ANN001
    if isinstance(node, BNode):
        # labels are b<content hash>n<k><c14n label> (ikmkg.releases.changes.entity_statements)
        text = str(node)
        return Value(text=f"_:{text[1:7]}" if text.startswith("b") else f"_:{text[-6:]}",
                     kind="blank")
    return labeller.value(node)


def change_rows(changes: list[rel.EntityChange], labeller: Labeller, base: str) -> list[dict]:
    """Changes as rows for templates: the entity, its graph, and +/- statements as Values."""
    rows = []
    for change in changes:
        statements = []
        for sign, triples in (("-", change.removed), ("+", change.added)):
            for t in triples:
                statements.append({
                    "sign": sign,
                    "subject": _term_value(_served(t.subject, base), labeller),
                    "predicate": _term_value(_served(t.predicate, base), labeller),
                    "object": _term_value(_served(t.object, base), labeller)})
        entity = (labeller.value(URIRef(_served_iri(change.entity, base)))
                  if change.entity else Value(text="(blank-node structures)", kind="literal"))
        rows.append({"entity": entity, "graph": change.graph, "statements": statements,
                     "added": len(change.added), "removed": len(change.removed)})
    return rows


def _served_iri(iri: str, base: str) -> str:
    return base + iri[len(CANONICAL_BASE):] if iri.startswith(CANONICAL_BASE) else iri


def _release_html(release: rel.Release, log: rel.Changelog | None, lang: str,
                  explicit: bool) -> str:
    settings = get_settings()
    base = settings.base_uri
    explicit_lang = lang if explicit else None
    rows, labels = [], []
    if log is not None:
        nodes = {URIRef(_served_iri(c.entity, base)) for c in log.changes if c.entity}
        for c in log.changes:
            for t in (*c.added, *c.removed):
                nodes.update(n for n in (_served(t.predicate, base), _served(t.object, base))
                             if isinstance(n, URIRef))
        for version in (log.old.version, log.new.version):
            _, store = rel.release_store(settings, version)
            labels.append(d.labels_of(store, nodes))
        rows = change_rows(log.changes, _labeller(labels, lang, explicit_lang), base)
    build = rel.ensure_release_build(settings, release.version)
    files = [{"name": f.name, "label": f.label if f.rdf else f"CSV ({f.rows} rows)",
              "size": f.size, "sha256": f.sha256,
              "url": url_for("releases.dump_file", version=release.version, name=f.name)}
             for f in build.manifest.files]
    citation = rel.make_citation(str(dataset_iri(base)), None, release, base)
    return render_template(
        "release.html", release=release, releases=rel.list_releases(settings)[::-1],
        version_url=_version_url, base_uri=base, version_iri=str(release.iri(base)),
        log=log, changes=rows, files=files,
        bundle={"name": release.bundle_name, "size": build.bundle.stat().st_size,
                "url": url_for("releases.dump_file", version=release.version,
                               name=release.bundle_name)},
        validation=rel.validation_summary(release, base),
        validation_url=f"{_version_url(release.version)}/validation",
        citation=_citation_block(citation), latest=rel.latest_release(settings),
        alternates=[{"href": f"{_version_url(release.version)}.{f.suffix}", "type": f.media_type,
                     "label": f.label} for f in VARIANTS if f is not HTML])


@blueprint.get("/releases/<release:version>/validation")
@blueprint.get("/releases/<release:version>/validation.<suffix>")
def validation(version: str, suffix: str = "html") -> Response:
    """The release's SHACL validation report: HTML (standalone) or Turtle."""
    release = rel.get_release(get_settings(), version)
    base = get_settings().base_uri
    if suffix == "ttl":
        body = (release.directory / rel.VALIDATION_FILE).read_text(encoding="utf-8")
        response = Response(body.replace(CANONICAL_BASE, base) if base != CANONICAL_BASE
                            else body, content_type="text/turtle; charset=utf-8")
    elif suffix == "html":
        response = Response(rel.validation_report_html(release, base),
                            content_type="text/html; charset=utf-8")
    else:
        raise NotFound(f"no validation report as {suffix!r}; there are .html and .ttl")
    response.headers["Cache-Control"] = LATEST if version == "latest" else IMMUTABLE
    response.headers["Link"] = f'<{_version_url(release.version)}/validation.ttl>; ' \
                               'rel="alternate"; type="text/turtle"'
    return response


# ---------------------------------------------------------------------------------------------
# Versioned dumps


@blueprint.get("/dumps/<release:version>/")
def dump_index(version: str) -> Response:
    """A release's files are listed on its page."""
    release = rel.get_release(get_settings(), version)
    response = redirect(f"{_version_url(release.version)}#downloads", code=302)
    response.headers["Cache-Control"] = LATEST
    return response


@blueprint.get("/dumps/<release:version>/<path:name>")
def dump_file(version: str, name: str) -> Response:
    """A file of a release (immutable) or of the newest release (`latest`, short caching)."""
    build = rel.ensure_release_build(get_settings(), version)
    path = build.servable(name)
    if path is None or not path.is_file():
        raise NotFound(f"release {build.release.version} has no file named {name!r}; its files "
                       f"are listed at {_version_url(build.release.version)}")
    entry = build.manifest.file(name)
    if entry is not None:
        mimetype, digest = entry.served_type, entry.sha256
    else:
        mimetype = "application/zip" if name.endswith(".zip") else \
            dumps.SUPPORT_FILES.get(name, "application/octet-stream")
        digest = _digest(path)
    try:
        response = send_file(path, mimetype=mimetype, conditional=True, etag=digest,
                             as_attachment=name.endswith((".gz", ".zip")),
                             download_name=path.name)
    except RequestedRangeNotSatisfiable:
        response = Response(status=416)
        response.headers["Content-Range"] = f"bytes */{path.stat().st_size}"
    if version == "latest":
        response.headers["Cache-Control"] = LATEST
        response.headers["Content-Location"] = url_for(
            "releases.dump_file", version=build.release.version, name=name)
    else:
        response.headers["Cache-Control"] = IMMUTABLE
    return response


_DIGESTS: dict[str, str] = {}


def _digest(path) -> str:  # noqa: ANN001
    key = f"{path}:{path.stat().st_mtime_ns}"
    if key not in _DIGESTS:
        _DIGESTS[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return _DIGESTS[key]


# ---------------------------------------------------------------------------------------------
# Citations


def _citation_block(citation: rel.Citation) -> dict:
    """The plain-text citation and links to every format, for templates."""
    args = {"iri": citation.iri}
    if citation.version:
        args["version"] = citation.version
    return {"text": rel.format_citation(citation, "text").strip(),
            "links": [(fmt, f"{request.script_root}/cite?{urlencode({**args, 'format': fmt})}")
                      for fmt in rel.CITATION_FORMATS]}


def dataset_citation() -> dict:
    """The citation of the dataset as of the newest release, as `_citation_block` gives it: the
    one citation the home, dumps, release and dataset pages show (issue #17)."""
    settings = get_settings()
    base = settings.base_uri
    return _citation_block(rel.make_citation(str(dataset_iri(base)), None,
                                             rel.latest_release(settings), base))


def _label(store, iri: str, lang: str) -> str | None:  # noqa: ANN001
    labeller = Labeller(d.labels_of(store, [URIRef(iri)]), lang, store.base_uri, lambda i: None)
    literal = labeller.best_literal(URIRef(iri), LABEL_PREDICATES)
    return str(literal) if literal is not None else None


@blueprint.get("/cite")
def cite() -> Response:
    """A citation of the dataset or of `iri`, as of `version` (default: the newest release)."""
    settings = get_settings()
    base = settings.base_uri
    iri = request.args.get("iri") or str(dataset_iri(base))
    fmt = request.args.get("format", "text")
    if fmt not in rel.CITATION_FORMATS:
        raise NotAcceptable(f"unknown citation format {fmt!r}; one of: "
                            + ", ".join(rel.CITATION_FORMATS))
    version = request.args.get("version")
    release = rel.get_release(settings, version) if version else rel.latest_release(settings)
    store = rel.release_store(settings, release.version)[1] if release else get_store()
    is_dataset = iri == str(dataset_iri(base))
    if not is_dataset:
        try:
            known = iri.startswith(base) and d.exists(store, iri)
        except ValueError:
            known = False
        if not known:
            where = f"release {release.version}" if release else "the published graph"
            raise NotFound(f"{where} says nothing about <{iri}>")
    lang, _ = reader_language()
    citation = rel.make_citation(iri, None if is_dataset else _label(store, iri, lang), release,
                                 base)
    response = Response(rel.format_citation(citation, fmt),
                        content_type=f"{rel.CITATION_FORMATS[fmt]}; charset=utf-8")
    response.headers["Cache-Control"] = CITE_CACHE
    response.headers["Vary"] = "Accept-Language"
    return response


# ---------------------------------------------------------------------------------------------
# Hooks for resource pages (ikmkg.web.pages)


def resource_extras(iri: str, shown: rel.Release | None = None,
                    explicit_lang: str | None = None) -> dict:
    """What a resource page adds: conformance, the releases that changed it, its citation.

    Args:
        iri: the resource (served base).
        shown: the release the page shows (time travel), or None for the live graph.
        explicit_lang: the reader's explicit `?lang=` (kept on links).
    """
    settings = get_settings()
    base = settings.base_uri
    latest = rel.latest_release(settings)
    lang, _ = reader_language()
    history = []
    for release, changes in rel.entity_history(settings, _canonical(iri)):
        if shown is not None and release.date > shown.date:
            continue
        nodes = [URIRef(iri)] + [_served(term, base) for c in changes
                                 for t in (*c.added, *c.removed)
                                 for term in (t.predicate, t.object)]
        labels = [d.labels_of(rel.release_store(settings, v)[1], nodes)
                  for v in (release.previous, release.version)]
        history.append({"release": release, "url": _version_url(release.version),
                        "changes": change_rows(changes, _labeller(labels, lang, explicit_lang),
                                               base)})
    report_of = shown or latest
    findings = []
    if report_of is not None:
        findings = rel.validation_summary(report_of, base).for_focus(iri)
    cited = shown or latest
    page = request.script_root + request.path
    return {"release_info": {
        # the page as in the cited release: what a citation's reader gets back
        "versioned_url": f"{page}?{urlencode({'version': cited.version})}"
        if cited and request.path.startswith("/doc/") else None,
        "shown": shown, "latest": latest,
        "latest_url": request.script_root + request.path if shown else None,
        "history": history,
        "report": report_of,
        "report_url": f"{_version_url(report_of.version)}/validation" if report_of else None,
        "findings": findings,
        "citation": _citation_block(rel.make_citation(
            iri, None if iri == str(dataset_iri(base)) else _label(
                rel.release_store(settings, cited.version)[1] if cited else get_store(),
                iri, lang), cited, base)),
    }}
