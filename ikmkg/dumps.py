"""Dumps: the published graph as files researchers download (RDF in six formats, CSV, checksums).

`write_dumps` reads the three named graphs (from a loaded KnowledgeGraph or through the Store
protocol), gives every blank node its RDFC-1.0 canonical label, sorts the statements and writes:

| file | content |
|---|---|
| `ikmkg.ttl`, `ikmkg.nt.gz`, `ikmkg.jsonld`, `ikmkg.rdf` | the union of the three graphs |
| `ikmkg.trig`, `ikmkg.nq.gz` | the three named graphs (ontology, shapes, data) |
| `csv/<prefix>-<Class>.csv` | one row per entity of the data graph typed with that class |
| `context.jsonld` | the JSON-LD context `ikmkg.jsonld` is compacted with (also inlined there) |
| `manifest.json`, `SHA256SUMS` | what each file is, its size and SHA-256 (`sha256sum -c`) |

The same graph always gives the same bytes (sorted statements, canonical blank-node labels,
gzip without timestamp or file name), so releases can be diffed. Files are written into a
temporary sibling folder that replaces the target only once everything is written: a failure
leaves the previous dump as it was. This module knows nothing about HTTP.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph

from ikmkg.errors import DataError
from ikmkg.formats import keep_carriage_returns
from ikmkg.kg import GRAPH_NAMES, KnowledgeGraph, graph_iri, iter_quads
from ikmkg.namespaces import prefixes
from ikmkg.settings import Settings
from ikmkg.store import Store
from ikmkg.terms import to_oxigraph

#: Bump when the set of files, their layout or their bytes for one graph change (2: RDF/XML
#: writes CR as &#13;): part of the cache key of built dumps.
LAYOUT_VERSION = "2"

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
#: Properties whose values name a resource, in order of preference, for CSV label columns.
LABEL_PROPERTIES = (RDFS_LABEL, "http://www.w3.org/2004/02/skos/core#prefLabel",
                    "http://xmlns.com/foaf/0.1/name", "http://purl.org/dc/terms/title")
LABEL_LANGUAGES = ("en", "id", "")
CSV_SEPARATOR = " | "

Progress = Callable[[int, int, str], None]


@dataclasses.dataclass(frozen=True)
class DumpKind:
    """One RDF dump file: its name, what it holds and how it is encoded."""

    name: str
    label: str
    media_type: str  # of the RDF inside (before gzip)
    oxigraph: ox.RdfFormat | None  # None: JSON-LD, written by `jsonld_document`
    quads: bool
    gzip: bool = False


RDF_DUMPS: tuple[DumpKind, ...] = (
    DumpKind("ikmkg.ttl", "Turtle", "text/turtle", ox.RdfFormat.TURTLE, False),
    DumpKind("ikmkg.nt.gz", "N-Triples (gzip)", "application/n-triples",
             ox.RdfFormat.N_TRIPLES, False, gzip=True),
    DumpKind("ikmkg.jsonld", "JSON-LD", "application/ld+json", None, False),
    DumpKind("ikmkg.rdf", "RDF/XML", "application/rdf+xml", ox.RdfFormat.RDF_XML, False),
    DumpKind("ikmkg.trig", "TriG", "application/trig", ox.RdfFormat.TRIG, True),
    DumpKind("ikmkg.nq.gz", "N-Quads (gzip)", "application/n-quads",
             ox.RdfFormat.N_QUADS, True, gzip=True),
)
CONTEXT_FILE = "context.jsonld"
MANIFEST_FILE = "manifest.json"
CHECKSUM_FILE = "SHA256SUMS"
#: Files of a dump that are not distributions of the dataset, with their media types.
SUPPORT_FILES = {
    CONTEXT_FILE: "application/ld+json",
    MANIFEST_FILE: "application/json",
    CHECKSUM_FILE: "text/plain",
}


@dataclasses.dataclass(frozen=True)
class DumpFile:
    """A written distribution: where it is, what it is, its size and SHA-256."""

    name: str  # path inside the dump folder, "/"-separated
    label: str
    media_type: str  # of the content (the RDF or CSV inside a gzip file)
    compression: str  # "" or "gzip"
    scope: str  # "union", "named graphs" or "data graph"
    size: int
    sha256: str
    rdf: bool
    class_iri: str = ""
    rows: int = 0

    @property
    def served_type(self) -> str:
        """The media type the file is served with: gzip files are served as such (werkzeug adds
        `charset=utf-8` to text types)."""
        return "application/gzip" if self.compression == "gzip" else self.media_type


@dataclasses.dataclass
class Manifest:
    """What a dump folder holds; written to `manifest.json` and read back from it."""

    directory: Path
    base_uri: str
    version: str
    triples: int  # in the union of the graphs
    graphs: dict[str, int]  # named graph IRI -> triples
    files: list[DumpFile]

    def file(self, name: str) -> DumpFile | None:
        return next((f for f in self.files if f.name == name), None)

    def servable(self, name: str) -> Path | None:
        """The path of `name` if it is one of the dump's files (nothing else is ever served)."""
        if self.file(name) is None and name not in SUPPORT_FILES:
            return None
        return self.directory / name

    def to_json(self) -> dict:
        return {"base_uri": self.base_uri, "version": self.version, "triples": self.triples,
                "graphs": self.graphs, "files": [dataclasses.asdict(f) for f in self.files]}

    @classmethod
    def load(cls, directory: Path) -> Manifest:
        payload = json.loads((directory / MANIFEST_FILE).read_text(encoding="utf-8"))
        return cls(directory, payload["base_uri"], payload["version"], payload["triples"],
                   payload["graphs"], [DumpFile(**f) for f in payload["files"]])

    def is_intact(self) -> bool:
        """Every listed file is there with its recorded size (a cheap check, not a hash)."""
        return all((self.directory / f.name).is_file()
                   and (self.directory / f.name).stat().st_size == f.size for f in self.files)


# --- reading and canonicalising ---------------------------------------------------------------

def read_quads(source: KnowledgeGraph | Store, base_uri: str) -> list[ox.Quad]:
    """Every statement of the three named graphs, as pyoxigraph quads.

    From a loaded graph, the statements pass through a pyoxigraph store, as when serving.
    From a Store, each graph is fetched with a CONSTRUCT and its size checked against a COUNT,
    so that a store that caps results can never produce a silently truncated dump.
    """
    if isinstance(source, KnowledgeGraph):
        # Through a pyoxigraph store, as the server publishes it: the store keeps typed literals
        # in canonical form ("4400000.0"^^xsd:decimal is served as "4400000"), and the dumps
        # must be byte-identical whichever way they are made.
        normaliser = ox.Store()
        normaliser.bulk_extend(ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o),
                                       to_oxigraph(g)) for s, p, o, g in iter_quads(source))
        return list(normaliser)
    quads = []
    for name in GRAPH_NAMES:
        g = graph_iri(base_uri, name)
        graph = source.construct(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{g}> {{ ?s ?p ?o }} }}")
        rows = source.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{g}> {{ ?s ?p ?o }} }}")
        expected = int(rows[0]["n"]) if rows else 0
        if len(graph) != expected:
            raise DataError(f"the store returned {len(graph)} of the {expected} triples of <{g}>; "
                            "refusing to write a truncated dump")
        graph_name = ox.NamedNode(str(g))
        quads.extend(ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o), graph_name)
                     for s, p, o in graph)
    return quads


def _key(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.DefaultGraph) -> str:
    return str(term)


def _predicate_key(term: ox.NamedNode) -> tuple[bool, str]:
    """rdf:type first (Turtle's `a`), then the other predicates by IRI."""
    return term.value != RDF_TYPE, term.value


def canonical_quads(quads: Iterable[ox.Quad], base_uri: str) -> list[ox.Quad]:
    """The quads with RDFC-1.0 blank-node labels, sorted by graph (ontology, shapes, data),
    subject, predicate, object: the same graph always gives the same list."""
    dataset = ox.Dataset(quads)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    order = {str(graph_iri(base_uri, name)): i for i, name in enumerate(GRAPH_NAMES)}
    return sorted(dataset, key=lambda q: (order.get(q.graph_name.value, len(order))
                                          if isinstance(q.graph_name, ox.NamedNode) else -1,
                                          _key(q.graph_name), _key(q.subject),
                                          _predicate_key(q.predicate), _key(q.object)))


def union_triples(quads: Sequence[ox.Quad]) -> list[ox.Triple]:
    """The union of the graphs: each triple once, sorted by subject, predicate, object."""
    unique = {q.triple for q in quads}
    return sorted(unique, key=_triple_key)


def _triple_key(t: ox.Triple) -> tuple:
    return _key(t.subject), _predicate_key(t.predicate), _key(t.object)


# --- serialising ------------------------------------------------------------------------------

def _prefix_block(prefix_map: dict[str, str]) -> bytes:
    return "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in sorted(prefix_map.items())).encode()


def _with_sorted_prefixes(body: bytes, prefix_map: dict[str, str]) -> bytes:
    """Replace the serialiser's @prefix lines (its order is its own) with a sorted block."""
    lines = body.split(b"\n")
    start = 0
    while start < len(lines) and lines[start].startswith(b"@prefix "):
        start += 1
    return _prefix_block(prefix_map) + b"\n" + b"\n".join(lines[start:])


def turtle_prefixes(statements: Iterable[ox.Triple | ox.Quad], base_uri: str) -> dict[str, str]:
    """The standard prefixes, plus one per entity type (`province:` for `id/province/`, as the
    curated files have it) where every local name under it needs no escaping; never `id:`."""
    result = {p: ns for p, ns in prefixes(base_uri).items() if p != "id"}
    entity_space = f"{base_uri}id/"
    clean: dict[str, bool] = {}
    for st in statements:
        for term in (st.subject, st.object):
            if isinstance(term, ox.NamedNode) and term.value.startswith(entity_space):
                segment, _, local = term.value[len(entity_space):].partition("/")
                ok = bool(re.fullmatch(r"[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_-])?", local))
                clean[segment] = clean.get(segment, True) and ok
    for segment, ok in clean.items():
        if ok and re.fullmatch(r"[a-z][a-z0-9-]*[a-z0-9]", segment) and segment not in result:
            result[segment] = f"{entity_space}{segment}/"
    return result


def serialize(statements: Sequence[ox.Triple] | Sequence[ox.Quad], rdf_format: ox.RdfFormat,
              base_uri: str) -> bytes:
    """Serialise already sorted statements deterministically in a pyoxigraph format."""
    prefix_map = turtle_prefixes(statements, base_uri)
    if rdf_format in (ox.RdfFormat.N_TRIPLES, ox.RdfFormat.N_QUADS):
        return ox.serialize(statements, format=rdf_format)
    body = ox.serialize(statements, format=rdf_format, prefixes=prefix_map)
    if rdf_format in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG):
        return _with_sorted_prefixes(body, prefix_map)
    if rdf_format == ox.RdfFormat.RDF_XML:
        return keep_carriage_returns(body)
    return body


def jsonld_context(base_uri: str) -> dict:
    """The published JSON-LD context: one term per prefix ikmkg binds."""
    return {"@context": dict(sorted(prefixes(base_uri).items()))}


class Compactor:
    """Compact IRIs with the longest matching prefix (only where the local part is not empty)."""

    def __init__(self, base_uri: str):
        self.prefixes = sorted(prefixes(base_uri).items(), key=lambda kv: -len(kv[1]))

    def iri(self, iri: str) -> str:
        for prefix, ns in self.prefixes:
            if iri.startswith(ns) and len(iri) > len(ns) and not iri[len(ns):].startswith("//"):
                return f"{prefix}:{iri[len(ns):]}"
        return iri

    def node_id(self, term: ox.NamedNode | ox.BlankNode) -> str:
        return self.iri(term.value) if isinstance(term, ox.NamedNode) else f"_:{term.value}"

    def value(self, term: ox.NamedNode | ox.BlankNode | ox.Literal) -> object:
        if not isinstance(term, ox.Literal):
            return {"@id": self.node_id(term)}
        if term.language:
            return {"@language": term.language, "@value": term.value}
        if term.datatype.value == XSD_STRING:
            return term.value
        return {"@type": self.iri(term.datatype.value), "@value": term.value}


def jsonld_document(triples: Sequence[ox.Triple], base_uri: str) -> dict:
    """Compacted JSON-LD (flat: one node object per subject) with the context inlined.

    The context is inlined rather than referenced by URL so that the file parses offline and a
    JSON-LD processor never has to fetch anything; `context.jsonld` publishes the same context.
    """
    compact = Compactor(base_uri)
    nodes: dict[str, dict[str, list]] = {}
    for t in triples:
        node = nodes.setdefault(_key(t.subject), {"@id": [compact.node_id(t.subject)]})
        if t.predicate.value == RDF_TYPE and isinstance(t.object, ox.NamedNode):
            node.setdefault("@type", []).append(compact.iri(t.object.value))
        else:
            node.setdefault(compact.iri(t.predicate.value), []).append(compact.value(t.object))
    graph = []
    for key in sorted(nodes):
        graph.append({k: v[0] if len(v) == 1 else v for k, v in nodes[key].items()})
    return {**jsonld_context(base_uri), "@graph": graph}


def json_bytes(payload: object) -> bytes:
    return (json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def _gzip(data: bytes) -> bytes:
    """gzip without a timestamp or file name in the header: the same input, the same bytes."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as gz:
        gz.write(data)
    return buffer.getvalue()


# --- CSV --------------------------------------------------------------------------------------

def _cell(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> str:
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    return term.value


def _labels(triples: Iterable[ox.Triple]) -> dict[str, str]:
    """Subject key -> its best label: by property preference, then English, Indonesian, none."""
    found: dict[str, dict[tuple[int, int], list[str]]] = defaultdict(lambda: defaultdict(list))
    for t in triples:
        if t.predicate.value in LABEL_PROPERTIES and isinstance(t.object, ox.Literal):
            lang = t.object.language or ""
            if lang in LABEL_LANGUAGES:
                rank = (LABEL_PROPERTIES.index(t.predicate.value), LABEL_LANGUAGES.index(lang))
                found[_key(t.subject)][rank].append(t.object.value)
    return {s: sorted(ranks[min(ranks)])[0] for s, ranks in found.items()}


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.") or "x"


def csv_file_name(class_iri: str, base_uri: str) -> str:
    """`csv/<prefix>-<Local>.csv` for a class under a known prefix, else a slug and a hash."""
    compact = Compactor(base_uri).iri(class_iri)
    if compact != class_iri:
        return f"csv/{slug(compact.replace(':', '-', 1))}.csv"
    local = re.split(r"[/#]", class_iri.rstrip("/#"))[-1]
    return f"csv/{slug(local)}-{hashlib.sha256(class_iri.encode()).hexdigest()[:8]}.csv"


Table = tuple[list[str], list[list[str]]]


def class_tables(quads: Sequence[ox.Quad], base_uri: str) -> dict[str, Table]:
    """Class IRI -> (header, rows): one row per subject of the data graph typed with the class.

    Columns: `iri`, `label@id`, `label@en`, then one per property (and language, for
    language-tagged values), sorted by compact name; a property with resource values gets a
    second column `<property> label` with their labels. Several values are joined by " | ".
    """
    data_graph = str(graph_iri(base_uri, "data"))
    labels = _labels(q.triple for q in quads)
    compact = Compactor(base_uri)
    by_subject: dict[str, list[ox.Triple]] = defaultdict(list)
    subjects: dict[str, ox.NamedNode | ox.BlankNode] = {}
    members: dict[str, set[str]] = defaultdict(set)
    for q in quads:
        if not isinstance(q.graph_name, ox.NamedNode) or q.graph_name.value != data_graph:
            continue
        key = _key(q.subject)
        by_subject[key].append(q.triple)
        subjects[key] = q.subject
        if q.predicate.value == RDF_TYPE and isinstance(q.object, ox.NamedNode):
            members[q.object.value].add(key)
    tables = {}
    for class_iri in sorted(members):
        rows_cells: list[dict[str, list[str]]] = []
        columns: set[tuple[str, str, bool]] = set()  # (compact property, language, is label col)
        for key in sorted(members[class_iri]):
            cells: dict[str, list[str]] = defaultdict(list)
            cells["iri"].append(_cell(subjects[key]))
            for t in by_subject[key]:
                prop = compact.iri(t.predicate.value)
                lang = t.object.language or "" if isinstance(t.object, ox.Literal) else ""
                if t.predicate.value == RDFS_LABEL and lang in ("id", "en"):
                    cells[f"label@{lang}"].append(t.object.value)
                    continue
                column = f"{prop}@{lang}" if lang else prop
                columns.add((prop, lang, False))
                cells[column].append(_cell(t.object))
                if not isinstance(t.object, ox.Literal):
                    columns.add((prop, "", True))
                    cells[f"{prop} label"].append(labels.get(_key(t.object), ""))
            rows_cells.append(cells)
        header = ["iri", "label@id", "label@en"]
        for prop, lang, is_label in sorted(columns):
            header.append(f"{prop} label" if is_label else f"{prop}@{lang}" if lang else prop)
        rows = [[CSV_SEPARATOR.join(sorted(cells.get(c, []))) if c != "iri" else cells["iri"][0]
                 for c in header] for cells in rows_cells]
        tables[class_iri] = (header, rows)
    return tables


def _csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


# --- writing ----------------------------------------------------------------------------------

def _write(folder: Path, name: str, data: bytes) -> tuple[int, str]:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return len(data), hashlib.sha256(data).hexdigest()


def _check_replaceable(out_dir: Path) -> None:
    """Refuse to replace a folder that is neither empty nor an earlier dump (e.g. `--out .`)."""
    if out_dir.is_symlink() or (out_dir.exists() and not out_dir.is_dir()):
        raise DataError(f"{out_dir}: exists and is not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / CHECKSUM_FILE).is_file():
        raise DataError(f"{out_dir}: not empty and not an earlier ikmkg dump (no {CHECKSUM_FILE});"
                        " refusing to replace it")


def _swap_into_place(tmp: Path, out_dir: Path, replace: bool) -> bool:
    """Move the finished `tmp` to `out_dir`; keep the old one until the new one is there.

    Returns False (and leaves `out_dir` alone) when `replace` is False and `out_dir` exists.
    """
    if not out_dir.exists():
        try:
            os.rename(tmp, out_dir)
            return True
        except OSError:
            if not out_dir.exists():
                raise  # something else went wrong; someone else creating it is fine
    if not replace:
        return False
    old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".old", dir=out_dir.parent))
    os.rmdir(old)
    os.rename(out_dir, old)
    try:
        os.rename(tmp, out_dir)
    except BaseException:
        os.rename(old, out_dir)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return True


def write_dumps(source: KnowledgeGraph | Store, out_dir: str | os.PathLike,
                base_uri: str | None = None, *, progress: Progress | None = None, replace: bool = True) -> Manifest:
    """Write every dump of `source` into `out_dir`, atomically; return what was written.

    Args:
        source: the loaded graph, or a Store serving the three named graphs.
        out_dir: the folder to create or replace (refused if it holds anything but a dump).
        base_uri: the base the graph is published under (default: the source's).
        progress: called as progress(step, steps, message) before each step.
        replace: when False and `out_dir` already exists, keep it and return its manifest.
    """
    base_uri = base_uri or source.base_uri
    out_dir = Path(out_dir)
    report = progress or (lambda done, total, message: None)
    _check_replaceable(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    steps = 4 + len(RDF_DUMPS)
    step = 0

    def advance(message: str) -> None:
        nonlocal step
        step += 1
        report(step, steps, message)

    advance("reading the named graphs")
    raw = read_quads(source, base_uri)
    advance(f"canonicalising {len(raw)} statements (RDFC-1.0 blank-node labels, sorted)")
    quads = canonical_quads(raw, base_uri)
    triples = union_triples(quads)
    version = source.content_hash if isinstance(source, KnowledgeGraph) else source.version
    graphs: dict[str, int] = defaultdict(int)
    for q in quads:
        graphs[_key(q.graph_name).strip("<>")] += 1

    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        os.chmod(tmp, 0o755)
        files = []
        for kind in RDF_DUMPS:
            advance(f"writing {kind.name} ({kind.label})")
            statements = quads if kind.quads else triples
            if kind.oxigraph is None:
                data = json_bytes(jsonld_document(triples, base_uri))
            else:
                data = serialize(statements, kind.oxigraph, base_uri)
            if kind.gzip:
                data = _gzip(data)
            size, digest = _write(tmp, kind.name, data)
            files.append(DumpFile(kind.name, kind.label, kind.media_type,
                                  "gzip" if kind.gzip else "", "named graphs" if kind.quads
                                  else "union", size, digest, rdf=True))
        tables = class_tables(quads, base_uri)
        advance(f"writing {len(tables)} CSV files, one per class of the data graph")
        named = sorted((csv_file_name(c, base_uri), c) for c in tables)
        for name, class_iri in named:
            header, rows = tables[class_iri]
            size, digest = _write(tmp, name, _csv_bytes(header, rows))
            files.append(DumpFile(name, "CSV", "text/csv", "", "data graph", size, digest,
                                  rdf=False, class_iri=class_iri, rows=len(rows)))
        advance("writing context, manifest and checksums")
        _write(tmp, CONTEXT_FILE, json_bytes(jsonld_context(base_uri)))
        manifest = Manifest(out_dir, base_uri, version, len(triples), dict(sorted(graphs.items())),
                            files)
        _, manifest_digest = _write(tmp, MANIFEST_FILE, json_bytes(manifest.to_json()))
        sums = {f.name: f.sha256 for f in files}
        sums[CONTEXT_FILE] = hashlib.sha256((tmp / CONTEXT_FILE).read_bytes()).hexdigest()
        sums[MANIFEST_FILE] = manifest_digest
        _write(tmp, CHECKSUM_FILE, "".join(f"{d}  {n}\n" for n, d in sorted(sums.items())).encode())
        if not _swap_into_place(tmp, out_dir, replace):
            shutil.rmtree(tmp, ignore_errors=True)
            return Manifest.load(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


# --- built once, cached by graph version ------------------------------------------------------

_BUILT: dict[Path, Manifest] = {}
_BUILD_LOCK = threading.Lock()


def cache_folder(settings: Settings) -> Path:
    """`<cache_dir>/dumps`, or a per-user folder in the system temporary directory."""
    if settings.cache_dir:
        root = Path(settings.cache_dir)
    else:
        root = Path(tempfile.gettempdir()) / f"ikmkg-{os.getuid()}"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    if root.stat().st_uid != os.getuid():
        raise DataError(f"{root}: cache folder belongs to another user")
    return root / "dumps"


def dump_key(store: Store, base_uri: str) -> str:
    text = f"{LAYOUT_VERSION}\n{base_uri}\n{store.version}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def ensure_dumps(store: Store, settings: Settings, *, progress: Progress | None = None) -> Manifest:
    """The dumps of the published graph, built once per graph version and base, then reused.

    Built dumps live in `cache_folder(settings)/<key>` where the key hashes the store's version
    and the base: several worker processes may build at once, the first to finish wins and the
    others adopt its folder. Requests never re-serialise the graph.
    """
    directory = cache_folder(settings) / dump_key(store, settings.base_uri)
    with _BUILD_LOCK:
        manifest = _BUILT.get(directory)
        if manifest is not None:
            return manifest
        if store.version and (directory / MANIFEST_FILE).is_file():
            manifest = Manifest.load(directory)
            if not manifest.is_intact():
                manifest = None
        if manifest is None:
            manifest = write_dumps(store, directory, settings.base_uri, progress=progress,
                                   replace=not store.version or directory.exists())
        _BUILT[directory] = manifest
        return manifest


def forget_built() -> None:
    """Drop the in-process memo of built dumps (tests)."""
    with _BUILD_LOCK:
        _BUILT.clear()


def graph_to_triples(graph: Graph) -> list[ox.Triple]:
    """An rdflib graph as sorted pyoxigraph triples (for deterministic serialisation)."""
    triples = {ox.Triple(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o)) for s, p, o in graph}
    return sorted(triples, key=_triple_key)


def serialize_graph(graph: Graph, media_type: str, base_uri: str) -> bytes:
    """A small rdflib graph (VoID, DCAT) serialised deterministically in `media_type`."""
    triples = graph_to_triples(graph)
    if media_type == "application/ld+json":
        return json_bytes(jsonld_document(triples, base_uri))
    for kind in RDF_DUMPS:
        if kind.media_type == media_type and not kind.quads and kind.oxigraph is not None:
            return serialize(triples, kind.oxigraph, base_uri)
    raise ValueError(f"no graph serialiser for {media_type}")
