"""Blueprint /dumps/ and /.well-known/void: the downloadable dumps and their VoID/DCAT description.

Dumps are built once per graph version (on the first request that needs them) into a cache
folder (`ikmkg.dumps.ensure_dumps`) and then served as files: `send_file(conditional=True)` gives
Content-Length, Last-Modified, ETag (the file's SHA-256), 304 and Range/206/416. Gzip files are
served as what they are, `application/gzip` without `Content-Encoding`, so that a browser or
`curl -O` saves the exact bytes whose checksum SHA256SUMS lists.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from flask import Blueprint, Response, render_template, request, send_file, url_for
from werkzeug.exceptions import RequestedRangeNotSatisfiable

from ikmkg import dataset, dumps, void
from ikmkg.errors import NotFound
from ikmkg.formats import Format
from ikmkg.kg import dataset_iri
from ikmkg.web import get_settings, get_store, releases
from ikmkg.web.negotiation import choose, conditional, last_modified, link_header, requested_format

blueprint = Blueprint("dumps", __name__)

#: Representations of the listing and of the description: media type -> (suffix, label).
LISTING_TYPES = {"text/html": "html", "application/json": "json", "text/turtle": "ttl",
                 "application/ld+json": "jsonld"}
VOID_TYPES = {"text/turtle": "ttl", "application/ld+json": "jsonld", "text/html": "html",
              "application/n-triples": "nt", "application/rdf+xml": "rdf"}
CACHE_CONTROL = "public, no-cache"  # revalidate with the ETag: 304s are cheap

_digests: dict[Path, str] = {}
_digest_lock = threading.Lock()


def _sha256(path: Path) -> str:
    with _digest_lock:
        if path not in _digests:
            _digests[path] = hashlib.sha256(path.read_bytes()).hexdigest()
        return _digests[path]


def _negotiate(offered: dict[str, str]) -> str:
    """The media type to send: `?format=<suffix>`, else the best for Accept (first if none)."""
    formats = [Format(media_type, suffix, "", suffix) for media_type, suffix in offered.items()]
    return choose(formats, format=requested_format()).media_type


def _link_header(endpoint: str, offered: dict[str, str]) -> str:
    return link_header((url_for(endpoint, format=suffix), media_type)
                       for media_type, suffix in offered.items())


def _alternates(endpoint: str, offered: dict[str, str]) -> list[dict]:
    return [{"href": url_for(endpoint, format=suffix), "type": media_type, "label": suffix}
            for media_type, suffix in offered.items()]


def _variant_keys(desc: void.Description) -> tuple[str, ...]:
    """What a listing or description depends on: the dumps, and the reader's language choice."""
    return (str(desc.manifest.directory), request.args.get("lang", ""),
            request.headers.get("Accept-Language", ""))


def _conditional(body: bytes | str, media_type: str, etag_parts: tuple[str, ...],
                 manifest: dumps.Manifest, link: str) -> Response:
    response = Response(body, mimetype=media_type)  # werkzeug adds charset=utf-8 to text/*
    response.set_etag(hashlib.sha256("\x1f".join(etag_parts).encode()).hexdigest()[:32])
    response.last_modified = (manifest.directory / dumps.MANIFEST_FILE).stat().st_mtime
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.headers["Vary"] = "Accept, Accept-Language"
    response.headers["Link"] = link
    return conditional(response)


def _file_rows(manifest: dumps.Manifest) -> list[dict]:
    settings = get_settings()
    rows = []
    for f in manifest.files:
        rows.append({**f.__dict__, "url": url_for("dumps.file", name=f.name),
                     "download_url": f"{settings.base_uri}dumps/{f.name}",
                     "served_type": f.served_type,
                     "class_name": dumps.Compactor(settings.base_uri).iri(f.class_iri)
                     if f.class_iri else ""})
    return rows


def _page(desc: void.Description, offered: dict[str, str], endpoint: str) -> str:
    settings = get_settings()
    compact = dumps.Compactor(settings.base_uri).iri
    return render_template(
        "dumps.html", desc=desc, stats=desc.stats, files=_file_rows(desc.manifest),
        compact=compact, dataset=str(dataset_iri(settings.base_uri)),
        alternates=_alternates(endpoint, offered), license=str(dataset.DATA_LICENSE),
        support_files=[{"name": n, "url": url_for("dumps.file", name=n), "type": t}
                       for n, t in dumps.SUPPORT_FILES.items()],
        void_url=url_for("dumps.well_known_void"), sparql=f"{settings.base_uri}sparql",
        uri_space=dataset.uri_space(settings.base_uri), citation=releases.dataset_citation())


@blueprint.get("/dumps/")
def index() -> Response:
    """The list of dumps: HTML, JSON (the manifest with URLs), or the DCAT/VoID graph."""
    media_type = _negotiate(LISTING_TYPES)
    desc = void.description(get_store(), get_settings(), modified=last_modified())
    if media_type == "text/html":
        body: bytes | str = _page(desc, LISTING_TYPES, "dumps.index")
    elif media_type == "application/json":
        payload = desc.manifest.to_json()
        payload["files"] = _file_rows(desc.manifest)
        payload["void"] = url_for("dumps.well_known_void")
        body = dumps.json_bytes(payload)
    else:
        body = dumps.serialize_graph(desc.graph, media_type, get_settings().base_uri)
    link = (_link_header("dumps.index", LISTING_TYPES)
            + f', <{url_for("dumps.well_known_void")}>; rel="describedby"')
    return _conditional(body, media_type, ("dumps", media_type, *_variant_keys(desc)),
                        desc.manifest, link)


@blueprint.get("/dumps/<path:name>")
def file(name: str) -> Response:
    """One file of the dump, with ETag (its SHA-256), Last-Modified, 304 and Range support."""
    manifest = dumps.ensure_dumps(get_store(), get_settings())
    path = manifest.servable(name)
    if path is None or not path.is_file():
        raise NotFound(f"no dump file named {name!r}; the list is at {url_for('dumps.index')}")
    entry = manifest.file(name)
    mimetype = entry.served_type if entry else dumps.SUPPORT_FILES[name]
    digest = entry.sha256 if entry else _sha256(path)
    try:
        response = send_file(path, mimetype=mimetype, conditional=True, etag=digest,
                             as_attachment=name.endswith(".gz"), download_name=path.name)
    except RequestedRangeNotSatisfiable:
        response = Response(f"416 Range Not Satisfiable: {name} has {path.stat().st_size} bytes\n",
                            status=416, mimetype="text/plain")
        response.headers["Content-Range"] = f"bytes */{path.stat().st_size}"
        response.headers["Accept-Ranges"] = "bytes"
        return response
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


@blueprint.get("/.well-known/void")
def well_known_void() -> Response:
    """The VoID/DCAT description of the dataset: Turtle, JSON-LD, HTML, N-Triples or RDF/XML."""
    media_type = _negotiate(VOID_TYPES)
    desc = void.description(get_store(), get_settings(), modified=last_modified())
    if media_type == "text/html":
        body: bytes | str = _page(desc, VOID_TYPES, "dumps.well_known_void")
    else:
        body = dumps.serialize_graph(desc.graph, media_type, get_settings().base_uri)
    return _conditional(body, media_type, ("void", media_type, *_variant_keys(desc)),
                        desc.manifest, _link_header("dumps.well_known_void", VOID_TYPES))
