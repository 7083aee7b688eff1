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
gzip without timestamp or file name), so releases can be diffed, and the command, the server
and a release publish the same bytes (they read the graph through ikmkg.publish). Files are
written into a temporary sibling folder that replaces the target only once everything is
written: a failure leaves the previous dump as it was. This package knows nothing about HTTP.

| module | owns |
|---|---|
| `rdf` | reading the named graphs, RDFC-1.0 canonical order, the RDF serialisations, JSON-LD |
| `tables` | the CSV file of each class |
| `manifest` | `manifest.json` and the support files: what a dump folder holds |
| `writer` | `write_dumps`: every file, checksums, the atomic swap into place |
| `built` | the server's dumps, built once per graph version and reused |

The names below are the package's API.
"""

from __future__ import annotations

from ikmkg.dumps.built import cache_folder, dump_key, ensure_dumps, forget_built
from ikmkg.dumps.manifest import (CHECKSUM_FILE, CONTEXT_FILE, MANIFEST_FILE, SUPPORT_FILES,
                                  DumpFile, Manifest, sha256sums)
from ikmkg.dumps.rdf import (RDF_DUMPS, Compactor, DumpKind, canonical_quads, graph_to_triples,
                             json_bytes, jsonld_context, jsonld_document, read_quads, serialize,
                             serialize_graph, turtle_prefixes, union_triples)
from ikmkg.dumps.tables import class_tables, csv_file_name, slug
from ikmkg.dumps.writer import LAYOUT_VERSION, Progress, write_dumps

__all__ = ["CHECKSUM_FILE", "CONTEXT_FILE", "LAYOUT_VERSION", "MANIFEST_FILE", "RDF_DUMPS",
           "SUPPORT_FILES", "Compactor", "DumpFile", "DumpKind", "Manifest", "Progress",
           "cache_folder", "canonical_quads", "class_tables", "csv_file_name", "dump_key",
           "ensure_dumps", "forget_built", "graph_to_triples", "json_bytes", "jsonld_context",
           "jsonld_document", "read_quads", "serialize", "serialize_graph", "sha256sums", "slug",
           "turtle_prefixes", "union_triples", "write_dumps"]
