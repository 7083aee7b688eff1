"""The CSV dumps: one table per class of the data graph, one row per entity, for spreadsheets.

This module knows nothing about HTTP.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence

import pyoxigraph as ox

from ikmkg.dumps.rdf import RDF_TYPE, Compactor, term_key
from ikmkg.kg import graph_iri

RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
#: Properties whose values name a resource, in order of preference, for CSV label columns.
LABEL_PROPERTIES = (RDFS_LABEL, "http://www.w3.org/2004/02/skos/core#prefLabel",
                    "http://xmlns.com/foaf/0.1/name", "http://purl.org/dc/terms/title")
LABEL_LANGUAGES = ("en", "id", "")
CSV_SEPARATOR = " | "


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
                found[term_key(t.subject)][rank].append(t.object.value)
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
        key = term_key(q.subject)
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
                    cells[f"{prop} label"].append(labels.get(term_key(t.object), ""))
            rows_cells.append(cells)
        header = ["iri", "label@id", "label@en"]
        for prop, lang, is_label in sorted(columns):
            header.append(f"{prop} label" if is_label else f"{prop}@{lang}" if lang else prop)
        rows = [[CSV_SEPARATOR.join(sorted(cells.get(c, []))) if c != "iri" else cells["iri"][0]
                 for c in header] for cells in rows_cells]
        tables[class_iri] = (header, rows)
    return tables


def csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")
