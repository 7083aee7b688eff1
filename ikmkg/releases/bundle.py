"""Building a recorded release: its dumps, its VoID/DCAT description, its validation page and
its research bundle (an RO-Crate zip), byte for byte the same from the same release files and
base, so that a release is reproducible from a git tag. Built once per release content and base
into the cache (`ensure_release_build`). This module knows nothing about HTTP.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import os
import tempfile
import threading
import zipfile
from pathlib import Path

from rdflib import Graph

from ikmkg import dumps
from ikmkg.dataset import DATA_LICENSE, PUBLISHER_NAME, TITLE
from ikmkg.errors import QueryError
from ikmkg.kg import dataset_iri, rebase_text
from ikmkg.releases.catalogue import release_void
from ikmkg.releases.changes import changelog, changelog_graph
from ikmkg.releases.citation import citation_cff, format_citation, make_citation
from ikmkg.releases.records import (QUERIES_DIR, RELEASE_FILE, VALIDATION_FILE, Release,
                                    get_release, knowledge_graph, release_graph, release_store)
from ikmkg.releases.report import validation_report_html
from ikmkg.settings import Settings
from ikmkg.store import EmbeddedStore

#: Bump when what `build_release` writes changes: part of the cache key of built releases.
BUILD_LAYOUT = "2"
TURTLE = "text/turtle"
DATA_LICENSE_NAME = "Creative Commons Attribution 4.0 International (CC BY 4.0)"


@dataclasses.dataclass
class ReleaseBuild:
    """The files of one built release: its dumps and its research bundle."""

    release: Release
    directory: Path
    manifest: dumps.Manifest

    @property
    def bundle(self) -> Path:
        return self.directory / self.release.bundle_name

    def servable(self, name: str) -> Path | None:
        """The path of `/dumps/VERSION/<name>`: a dump file or the bundle (nothing else)."""
        if name == self.release.bundle_name:
            return self.bundle
        return self.manifest.servable(name)


def _results(store: EmbeddedStore, text: str) -> dict[str, bytes]:
    """A named query's results: CSV and SPARQL JSON for SELECT, JSON for ASK, Turtle for graphs."""
    try:
        first = store.query(text, result_format="srj")
    except QueryError:
        return {"ttl": store.query(text, result_format="ttl").read()}
    body = first.read()
    if first.kind == "boolean":
        return {"json": body}
    return {"json": body, "csv": store.query(text, result_format="csv").read()}


def _zip(files: dict[str, bytes], date: dt.date) -> bytes:
    """A zip whose bytes depend only on `files` and `date` (sorted, fixed times and modes)."""
    buffer = io.BytesIO()
    stamp = (max(date.year, 1980), date.month, date.day, 0, 0, 0)
    folders = {f"{'/'.join(name.split('/')[:i])}/" for name in files
               for i in range(1, name.count("/") + 1)}
    with zipfile.ZipFile(buffer, "w") as archive:
        for folder in sorted(folders):  # RO-Crate data entities `dumps/` etc. are in the payload
            info = zipfile.ZipInfo(folder, date_time=stamp)
            info.external_attr = (0o40755 << 16) | 0x10
            info.create_system = 3
            archive.writestr(info, b"")
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            archive.writestr(info, files[name], compresslevel=9)
    return buffer.getvalue()


_MEDIA = {".ttl": "text/turtle", ".nq": "application/n-quads", ".trig": "application/trig",
          ".jsonld": "application/ld+json", ".rdf": "application/rdf+xml",
          ".csv": "text/csv", ".json": "application/json", ".rq": "application/sparql-query",
          ".html": "text/html", ".cff": "application/x-yaml", ".bib": "application/x-bibtex",
          ".ris": "application/x-research-info-systems", ".txt": "text/plain",
          ".gz": "application/gzip", ".md": "text/markdown"}


def _media_type(name: str) -> str:
    if name.endswith("SHA256SUMS"):
        return "text/plain"
    if name == "citation.json":
        return "application/vnd.citationstyles.csl+json"
    if name.endswith("-results.json"):
        return "application/sparql-results+json"
    return _MEDIA.get(Path(name).suffix, "application/octet-stream")


_DESCRIPTIONS = {
    "dumps/": "The dumps of the release: the graph in six RDF formats, CSV per class, checksums",
    "dumps/csv/": "One CSV file per class of the data graph",
    "ontology/": "The ontology and the SHACL shapes of the release",
    "validation/": "The SHACL validation report of the release (Turtle and HTML)",
    "queries/": "The named SPARQL queries of the release and their results",
}


def ro_crate_metadata(release: Release, files: dict[str, bytes], base_uri: str) -> dict:
    """`ro-crate-metadata.json` (RO-Crate 1.1) describing every file of the bundle."""
    v = str(release.iri(base_uri))
    publisher = f"{dataset_iri(base_uri)}#publisher"
    folders = sorted({str(Path(n).parent) + "/" for n in files if "/" in n})
    entities: list[dict] = [
        {"@id": "ro-crate-metadata.json", "@type": "CreativeWork",
         "conformsTo": {"@id": "https://w3id.org/ro/crate/1.1"}, "about": {"@id": "./"}},
    ]
    top = [n for n in sorted(files) if "/" not in n] + [f for f in folders if f.count("/") == 1]
    entities.append({
        "@id": "./", "@type": "Dataset", "name": f"{TITLE}, release {release.version}",
        "description": ("Research bundle of an ikmkg release: the graph's dumps, ontology, "
                        "shapes, validation report, VoID/DCAT description, named queries with "
                        "their results, checksums, license and citation."),
        "datePublished": release.date.isoformat(), "version": release.version,
        "identifier": v, "url": v, "license": {"@id": DATA_LICENSE},
        "author": {"@id": publisher}, "publisher": {"@id": publisher},
        "hasPart": [{"@id": n} for n in top],
    })
    for folder in folders:
        parts = [n for n in sorted(files) if str(Path(n).parent) + "/" == folder]
        parts += [f for f in folders if f != folder and f.startswith(folder)
                  and f[len(folder):].count("/") == 1]
        entities.append({"@id": folder, "@type": "Dataset",
                         "name": folder.rstrip("/"),
                         "description": _DESCRIPTIONS.get(folder, folder.rstrip("/")),
                         "hasPart": [{"@id": n} for n in parts]})
    for name in sorted(files):
        entities.append({"@id": name, "@type": "File", "name": Path(name).name,
                         "encodingFormat": _media_type(name),
                         "contentSize": str(len(files[name]))})
    entities.append({"@id": DATA_LICENSE, "@type": "CreativeWork", "name": DATA_LICENSE_NAME,
                     "identifier": "CC-BY-4.0"})
    entities.append({"@id": publisher, "@type": "Organization", "name": PUBLISHER_NAME,
                     "url": base_uri})
    return {"@context": "https://w3id.org/ro/crate/1.1/context", "@graph": entities}


LICENSE_TEXT = """The ikmkg knowledge graph (the data, the ontology and the shapes in this bundle) is
licensed under the Creative Commons Attribution 4.0 International license (CC BY 4.0):
https://creativecommons.org/licenses/by/4.0/legalcode
Attribution: cite the release as in CITATION.cff (or CITATION.bib, citation.json, citation.ris).
The ikmkg software is licensed MIT; it is not part of this bundle.
"""


def bundle_files(release: Release, base_uri: str, dump_dir: Path, store: EmbeddedStore,
                 void_graph: Graph, settings: Settings) -> dict[str, bytes]:
    """Every file of the research bundle, by its path inside the zip."""
    files: dict[str, bytes] = {}
    for path in sorted(dump_dir.rglob("*")):
        if path.is_file():
            files[f"dumps/{path.relative_to(dump_dir).as_posix()}"] = path.read_bytes()
    kg = knowledge_graph(release, base_uri)
    files["ontology/ikm.ttl"] = dumps.serialize_graph(kg.ontology, TURTLE, base_uri)
    files["ontology/shapes.ttl"] = dumps.serialize_graph(kg.shapes, TURTLE, base_uri)
    report = (release.directory / VALIDATION_FILE).read_text(encoding="utf-8")
    files["validation/report.ttl"] = rebase_text(report, base_uri).encode()
    files["validation/report.html"] = validation_report_html(release, base_uri).encode()
    files["void.ttl"] = dumps.serialize_graph(void_graph, TURTLE, base_uri)
    files["release.ttl"] = dumps.serialize_graph(release_graph(release, base_uri), TURTLE, base_uri)
    if release.previous is not None:
        log = changelog(settings, release.previous, release.version)
        files["changes.ttl"] = dumps.serialize_graph(changelog_graph(log, base_uri), TURTLE,
                                                     base_uri)
    for path in sorted((release.directory / QUERIES_DIR).glob("*.rq")):
        text = rebase_text(path.read_text(encoding="utf-8"), base_uri)
        files[f"queries/{path.name}"] = text.encode()
        for suffix, body in _results(store, text).items():
            name = f"{path.stem}-results.{suffix}"
            files[f"queries/{name}"] = body
    citation = make_citation(str(dataset_iri(base_uri)), None, release, base_uri,
                             accessed=release.date)
    files["CITATION.cff"] = citation_cff(release).encode()
    files["CITATION.bib"] = format_citation(citation, "bibtex").encode()
    files["citation.json"] = format_citation(citation, "csl-json").encode()
    files["citation.ris"] = format_citation(citation, "ris").encode()
    files["LICENSE.txt"] = LICENSE_TEXT.encode()
    files["SHA256SUMS"] = dumps.sha256sums({name: hashlib.sha256(data).hexdigest()
                                            for name, data in files.items()})
    files["ro-crate-metadata.json"] = dumps.json_bytes(ro_crate_metadata(release, files,
                                                                         base_uri))
    return files


def build_release(settings: Settings, version: str, out_dir: str | os.PathLike) -> ReleaseBuild:
    """Write the dumps (`out_dir/dumps/`) and the research bundle of a recorded release.

    The same release files and base always give the same bytes.
    """
    release, store = release_store(settings, version)
    base = settings.base_uri
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = dumps.write_dumps(knowledge_graph(release, base), out_dir / "dumps", base)
    void_graph = release_void(release, store, manifest, base)
    files = bundle_files(release, base, out_dir / "dumps", store, void_graph, settings)
    target = out_dir / release.bundle_name
    # Several server processes may build at once: each writes its own file, the last rename wins
    # (they are byte-identical).
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=out_dir)
    with os.fdopen(fd, "wb") as f:
        f.write(_zip(files, release.date))
    os.chmod(tmp, 0o644)
    os.replace(tmp, target)
    (out_dir / "validation.html").write_bytes(files["validation/report.html"])
    (out_dir / "void.ttl").write_bytes(files["void.ttl"])
    return ReleaseBuild(release, out_dir, manifest)


_BUILDS: dict[Path, ReleaseBuild] = {}
_BUILD_LOCK = threading.Lock()


def ensure_release_build(settings: Settings, version: str) -> ReleaseBuild:
    """The built files of a release, built once per release content and base into the cache."""
    release = get_release(settings, version)
    key = hashlib.sha256("\n".join([
        BUILD_LAYOUT, dumps.LAYOUT_VERSION, settings.base_uri, release.version,
        release.snapshot_sha256,
        hashlib.sha256((release.directory / RELEASE_FILE).read_bytes()).hexdigest(),
    ]).encode()).hexdigest()[:24]
    directory = dumps.cache_folder(settings).parent / "releases" / f"{release.version}-{key}"
    with _BUILD_LOCK:
        if directory in _BUILDS:
            return _BUILDS[directory]
        done = directory / ".complete"
        if done.is_file():
            build = ReleaseBuild(release, directory, dumps.Manifest.load(directory / "dumps"))
        else:
            build = build_release(settings, version, directory)
            done.write_text(release.version)
        _BUILDS[directory] = build
        return build


def forget() -> None:
    """Drop the in-process memo of built releases (tests)."""
    with _BUILD_LOCK:
        _BUILDS.clear()
