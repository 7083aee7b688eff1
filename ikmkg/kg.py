"""The knowledge graph as files: load ontology, shapes and data, check syntax, rebase IRIs.

The curated Turtle is written under the canonical base (`settings.CANONICAL_BASE`); publishing
under another base (`--base-uri`) rewrites every IRI that starts with it, so that the same
files can be served from any host. This module knows nothing about HTTP.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.term import Node

from ikmkg.errors import DataError
from ikmkg.namespaces import bind_prefixes
from ikmkg.settings import CANONICAL_BASE, Settings

ONTOLOGY_FILE = "ikm.ttl"
SHAPES_FILE = "shapes.ttl"
GRAPH_NAMES = ("ontology", "shapes", "data")


class TurtleSyntaxError(DataError):
    """A Turtle file does not parse; carries the file, line and column."""

    def __init__(self, path: Path, line: int | None, column: int | None, detail: str):
        where = f"{path}:{line}:{column}" if line else str(path)
        super().__init__(f"{where}: Turtle syntax error: {detail}")
        self.path, self.line, self.column, self.detail = path, line, column, detail


def graph_iri(base_uri: str, name: str) -> URIRef:
    """IRI of the named graph `name` (one of GRAPH_NAMES) under `base_uri`."""
    return URIRef(f"{base_uri}graph/{name}")


def dataset_iri(base_uri: str) -> URIRef:
    """IRI of the dataset itself (described by VoID/DCAT)."""
    return URIRef(f"{base_uri}id/dataset/ikmkg")


@dataclasses.dataclass
class KnowledgeGraph:
    """The three published graphs and where each data subject was written."""

    ontology: Graph
    shapes: Graph
    data: Graph
    base_uri: str = CANONICAL_BASE
    #: data subject -> the file that states it (for reports a person can act on)
    subject_files: dict[Node, Path] = dataclasses.field(default_factory=dict)
    #: SHA-256 over every source file, in order: the identity of this version of the graph
    content_hash: str = ""

    def graphs(self) -> dict[str, Graph]:
        return {"ontology": self.ontology, "shapes": self.shapes, "data": self.data}

    def to_dataset(self) -> Dataset:
        """The graphs as one rdflib Dataset with a named graph each."""
        ds = Dataset()
        bind_prefixes(ds, self.base_uri)
        for name, graph in self.graphs().items():
            named = ds.graph(graph_iri(self.base_uri, name))
            for triple in graph:
                named.add(triple)
        return ds

    def __len__(self) -> int:
        return sum(len(g) for g in self.graphs().values())


def check_syntax(path: Path) -> None:
    """Raise TurtleSyntaxError with line and column if `path` is not valid Turtle.

    pyoxigraph's parser is used for the check because it reports precise positions.
    """
    try:
        for _ in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE):
            pass
    except SyntaxError as exc:
        raise TurtleSyntaxError(path, exc.lineno, exc.offset, exc.msg) from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None


def parse_turtle(path: Path, base_uri: str = CANONICAL_BASE) -> Graph:
    """Check the syntax of `path`, then parse it with rdflib."""
    check_syntax(path)
    graph = Graph()
    bind_prefixes(graph, base_uri)
    graph.parse(path, format="turtle")
    return graph


def data_files(settings: Settings) -> list[Path]:
    """The shipped data files, sorted so that loading is deterministic."""
    return sorted(settings.data_dir.glob("*.ttl"))


def _sources(settings: Settings, files: Sequence[Path] | None) -> tuple[Path, Path, list[Path]]:
    paths = [Path(p) for p in files] if files else data_files(settings)
    if not paths:
        raise DataError(f"no data files found in {settings.data_dir}")
    return settings.ontology_dir / ONTOLOGY_FILE, settings.ontology_dir / SHAPES_FILE, paths


def _digest(paths: Iterable[Path], each: Callable[[Path, bytes], None] | None = None) -> str:
    """SHA-256 over the names and bytes of `paths` (`each` also sees every file's bytes)."""
    digest = hashlib.sha256()
    for path in paths:
        if not Path(path).is_file():
            raise DataError(f"{path}: no such file")
        data = Path(path).read_bytes()
        digest.update(str(Path(path).name).encode())
        digest.update(data)
        if each is not None:
            each(Path(path), data)
    return digest.hexdigest()


def load(settings: Settings, files: Sequence[Path] | None = None) -> KnowledgeGraph:
    """Load ontology, shapes and data (the given files, or the shipped ones), then rebase.

    Raises:
        TurtleSyntaxError: a file does not parse.
        DataError: a file is missing or unreadable.
    """
    ontology_path, shapes_path, paths = _sources(settings, files)
    content_hash = _digest([ontology_path, shapes_path, *paths])
    kg = KnowledgeGraph(parse_turtle(ontology_path), parse_turtle(shapes_path), Graph())
    bind_prefixes(kg.data, CANONICAL_BASE)
    for path in paths:
        part = parse_turtle(Path(path))
        for s in part.subjects(unique=True):
            kg.subject_files.setdefault(s, Path(path))
        for triple in part:
            kg.data.add(triple)
    kg.content_hash = content_hash
    if settings.base_uri != CANONICAL_BASE:
        kg = rebase(kg, settings.base_uri)
    return kg


# --- the same files parsed by pyoxigraph (the fast path of a cold start, issue #3) ----------

#: Turtle that rdflib reads differently from pyoxigraph: an explicit ^^xsd:string (rdflib keeps
#: "a"^^xsd:string apart from "a", RDF 1.1 and pyoxigraph do not) and language tags with capital
#: letters (rdflib keeps the case, pyoxigraph lowers it). A match may be a false alarm (inside a
#: string): it only sends validation back to rdflib and pySHACL.
_RDFLIB_DIFFERS = (
    (re.compile(rb"\^\^\s*(?:<http://www\.w3\.org/2001/XMLSchema#string>|[A-Za-z_][\w.-]*:string\b)"),
     "an explicit ^^xsd:string literal"),
    (re.compile(rb"[\"']@[a-z0-9-]*[A-Z]"), "a language tag with capital letters"),
)


@dataclasses.dataclass
class OxigraphGraph:
    """The three graphs parsed by pyoxigraph into one in-memory store, one named graph each.

    What a cold start publishes when the fast conformance check passes (ikmkg.publish): no rdflib
    term is ever made for the data. Files are read under the canonical base; `rebased` moves
    them to the published one.
    """

    store: ox.Store
    base_uri: str
    content_hash: str
    shapes_path: Path
    #: why rdflib (hence pySHACL) could see these files differently, if it could
    doubts: list[str] = dataclasses.field(default_factory=list)

    def graph(self, name: str) -> ox.NamedNode:
        return ox.NamedNode(str(graph_iri(self.base_uri, name)))

    def data_triples(self) -> int:
        rows = self.store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH {self.graph('data')} "
                                "{ ?s ?p ?o } }")
        return int(next(iter(rows))["n"].value)

    def __len__(self) -> int:
        return len(self.store)

    def rebased(self, new_base: str) -> OxigraphGraph:
        """A copy published under `new_base` (every term rewritten as `rebase_term` does)."""
        old = self.base_uri

        def move(term):
            if isinstance(term, ox.NamedNode) and term.value.startswith(old):
                return ox.NamedNode(new_base + term.value[len(old):])
            if isinstance(term, ox.Literal) and not term.language and \
                    term.datatype.value.startswith(old):
                return ox.Literal(term.value, datatype=ox.NamedNode(
                    new_base + term.datatype.value[len(old):]))
            return term

        store = ox.Store()
        store.extend(ox.Quad(move(q.subject), move(q.predicate), move(q.object),
                             move(q.graph_name)) for q in self.store)
        return dataclasses.replace(self, store=store, base_uri=new_base)

    def write_to(self, store: ox.Store, dump: Path | None = None) -> None:
        """Add every quad to `store` (an empty on-disk store) and, meanwhile, write them as
        N-Quads to `dump`: pyoxigraph releases the GIL while dumping, so the two overlap.
        Blank node labels are kept, so the dump and the store hold the same quads."""
        writer = None
        if dump is not None:
            writer = threading.Thread(target=self.store.dump, args=(str(dump),),
                                      kwargs={"format": ox.RdfFormat.N_QUADS})
            writer.start()
        try:
            store.bulk_extend(self.store)
        finally:
            if writer is not None:
                writer.join()


def load_oxigraph(settings: Settings, files: Sequence[Path] | None = None) -> OxigraphGraph:
    """Parse ontology, shapes and data with pyoxigraph into one in-memory store, under the
    canonical base (the base validation runs under; see `OxigraphGraph.rebased`).

    Each file is read once (its bytes are hashed, scanned and parsed), and `doubts` lists what
    rdflib would read differently (see `_RDFLIB_DIFFERS`, `_typed_literal_doubts`).

    Raises:
        TurtleSyntaxError: a file does not parse (with its line and column).
        DataError: a file is missing or unreadable.
    """
    ontology_path, shapes_path, paths = _sources(settings, files)
    doubts: list[str] = []
    contents: list[tuple[Path, bytes]] = []

    def scan(path: Path, data: bytes) -> None:
        contents.append((path, data))
        for pattern, what in _RDFLIB_DIFFERS:
            if pattern.search(data):
                doubts.append(f"{path}: {what}")

    content_hash = _digest([ontology_path, shapes_path, *paths], scan)
    store = ox.Store()
    typed: set[tuple[str, str]] = set()
    with ThreadPoolExecutor(1) as pool:
        for path, data in contents:
            name = ("ontology" if path == ontology_path else
                    "shapes" if path == shapes_path else "data")
            # Store.load gives each file's blank nodes fresh labels, as rdflib does; it runs
            # natively (without the GIL) while this thread lists the typed literals as written
            loading = pool.submit(store.load, input=data, format=ox.RdfFormat.TURTLE,
                                  to_graph=ox.NamedNode(str(graph_iri(CANONICAL_BASE, name))))
            try:
                try:
                    typed |= _typed_literals(data)
                finally:
                    loading.result()
            except SyntaxError as exc:
                raise TurtleSyntaxError(path, exc.lineno, exc.offset, exc.msg) from None
    doubts += _typed_literal_doubts(typed)
    return OxigraphGraph(store, CANONICAL_BASE, content_hash, shapes_path, doubts)


_PLAIN = {"http://www.w3.org/2001/XMLSchema#string",
          "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"}


def _typed_literals(data: bytes) -> set[tuple[str, str]]:
    """(lexical form as written, datatype IRI) of every literal of a type other than the two
    string types in the Turtle `data`."""
    found = set()
    literal = ox.Literal
    for quad in ox.parse(input=data, format=ox.RdfFormat.TURTLE):
        term = quad.object
        if type(term) is literal:
            datatype = term.datatype.value
            if datatype not in _PLAIN:
                found.add((term.value, datatype))
    return found


def _typed_literal_doubts(typed: set[tuple[str, str]]) -> list[str]:
    """The typed literals that rdflib and a pyoxigraph store hold in different lexical forms.

    Both normalise some lexical forms, differently ("1.50"^^xsd:decimal stays "1.50" in
    rdflib and becomes "1.5" in the store): then a pattern, sh:in or a SPARQL STR() could see
    another string in pySHACL than in the store, and only pySHACL can say what it reports.
    """
    items = sorted(typed)
    probe = ox.Store()
    predicate = ox.NamedNode("urn:ikmkg:probe")
    probe.extend(ox.Quad(ox.NamedNode(f"urn:ikmkg:{n}"), predicate,
                         ox.Literal(lexical, datatype=ox.NamedNode(datatype)))
                 for n, (lexical, datatype) in enumerate(items))
    stored = {int(q.subject.value.rsplit(":", 1)[1]): q.object.value for q in probe}
    doubts = []
    # rdflib logs a traceback for each ill-typed literal it is given; its own parse of the
    # files (when pySHACL runs) logs them already
    rdflib_log = logging.getLogger("rdflib.term")
    disabled, rdflib_log.disabled = rdflib_log.disabled, True
    try:
        for n, (lexical, datatype) in enumerate(items):
            seen = str(Literal(lexical, datatype=URIRef(datatype)))
            if seen != stored[n]:
                doubts.append(f'"{lexical}"^^<{datatype}> is "{stored[n]}" in the store but '
                              f'"{seen}" in rdflib')
    finally:
        rdflib_log.disabled = disabled
    return doubts


def rebase_term(term: Node, old: str, new: str) -> Node:
    """`term` with the prefix `old` replaced by `new` (IRIs and IRI-valued literals only)."""
    if isinstance(term, URIRef) and term.startswith(old):
        return URIRef(new + term[len(old):])
    if isinstance(term, Literal) and term.datatype is not None and str(term.datatype).startswith(old):
        return Literal(term, lang=term.language, datatype=URIRef(new + term.datatype[len(old):]))
    return term


def rebase_graph(graph: Graph, old: str, new: str) -> Graph:
    out = Graph()
    bind_prefixes(out, new)
    for s, p, o in graph:
        out.add((rebase_term(s, old, new), rebase_term(p, old, new), rebase_term(o, old, new)))
    return out


def rebase_text(text: str, new: str, old: str = CANONICAL_BASE) -> str:
    """Rewrite the canonical base inside a text (a SPARQL query, a template) to `new`."""
    return text.replace(old, new) if new != old else text


def rebase(kg: KnowledgeGraph, new_base: str) -> KnowledgeGraph:
    """A copy of `kg` published under `new_base` instead of its current base."""
    old = kg.base_uri
    return KnowledgeGraph(
        ontology=rebase_graph(kg.ontology, old, new_base),
        shapes=rebase_graph(kg.shapes, old, new_base),
        data=rebase_graph(kg.data, old, new_base),
        base_uri=new_base,
        subject_files={rebase_term(s, old, new_base): f for s, f in kg.subject_files.items()},
        content_hash=kg.content_hash,
    )


def iter_quads(kg: KnowledgeGraph) -> Iterable[tuple[Node, Node, Node, URIRef]]:
    """Every triple of the three graphs with the IRI of the named graph it belongs to."""
    for name, graph in kg.graphs().items():
        g = graph_iri(kg.base_uri, name)
        for s, p, o in graph:
            yield s, p, o, g


__all__ = [
    "GRAPH_NAMES",
    "BNode",
    "KnowledgeGraph",
    "OxigraphGraph",
    "TurtleSyntaxError",
    "check_syntax",
    "data_files",
    "dataset_iri",
    "graph_iri",
    "iter_quads",
    "load",
    "load_oxigraph",
    "parse_turtle",
    "rebase",
    "rebase_text",
]
