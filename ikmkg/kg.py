"""The knowledge graph as files: load ontology, shapes and data, check syntax, rebase IRIs.

The curated Turtle is written under the canonical base (`settings.CANONICAL_BASE`); publishing
under another base (`--base-uri`) rewrites every IRI that starts with it, so that the same
files can be served from any host. This module knows nothing about HTTP.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import pyoxigraph
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
        for _ in pyoxigraph.parse(path=str(path), format=pyoxigraph.RdfFormat.TURTLE):
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


def load(settings: Settings, files: Sequence[Path] | None = None) -> KnowledgeGraph:
    """Load ontology, shapes and data (the given files, or the shipped ones), then rebase.

    Raises:
        TurtleSyntaxError: a file does not parse.
        DataError: a file is missing or unreadable.
    """
    ontology_path = settings.ontology_dir / ONTOLOGY_FILE
    shapes_path = settings.ontology_dir / SHAPES_FILE
    paths = list(files) if files else data_files(settings)
    if not paths:
        raise DataError(f"no data files found in {settings.data_dir}")
    digest = hashlib.sha256()
    for path in [ontology_path, shapes_path, *paths]:
        if not Path(path).is_file():
            raise DataError(f"{path}: no such file")
        digest.update(str(Path(path).name).encode())
        digest.update(Path(path).read_bytes())
    kg = KnowledgeGraph(parse_turtle(ontology_path), parse_turtle(shapes_path), Graph())
    bind_prefixes(kg.data, CANONICAL_BASE)
    for path in paths:
        part = parse_turtle(Path(path))
        for s in part.subjects(unique=True):
            kg.subject_files.setdefault(s, Path(path))
        for triple in part:
            kg.data.add(triple)
    kg.content_hash = digest.hexdigest()
    if settings.base_uri != CANONICAL_BASE:
        kg = rebase(kg, settings.base_uri)
    return kg


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
    "BNode", "GRAPH_NAMES", "KnowledgeGraph", "TurtleSyntaxError", "check_syntax", "data_files",
    "dataset_iri", "graph_iri", "iter_quads", "load", "parse_turtle", "rebase", "rebase_text",
]
