"""Writing a dump folder: every RDF and CSV dump, the context, the manifest and SHA256SUMS,
into a temporary sibling folder that replaces the target only once everything is written (a
failure leaves the previous dump as it was). This module knows nothing about HTTP.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from ikmkg.dumps.manifest import (CHECKSUM_FILE, CONTEXT_FILE, MANIFEST_FILE, DumpFile,
                                  Manifest, sha256sums)
from ikmkg.dumps.rdf import (RDF_DUMPS, canonical_quads, gzip_bytes, json_bytes,
                             jsonld_context, jsonld_document, read_quads, serialize, term_key,
                             union_triples)
from ikmkg.dumps.tables import class_tables, csv_bytes, csv_file_name
from ikmkg.errors import DataError
from ikmkg.kg import KnowledgeGraph
from ikmkg.store import Store

#: Bump when the set of files, their layout or their bytes for one graph change (2: RDF/XML
#: writes CR as &#13;): part of the cache key of built dumps.
LAYOUT_VERSION = "2"

Progress = Callable[[int, int, str], None]


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
        graphs[term_key(q.graph_name).strip("<>")] += 1

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
                data = gzip_bytes(data)
            size, digest = _write(tmp, kind.name, data)
            files.append(DumpFile(kind.name, kind.label, kind.media_type,
                                  "gzip" if kind.gzip else "", "named graphs" if kind.quads
                                  else "union", size, digest, rdf=True))
        tables = class_tables(quads, base_uri)
        advance(f"writing {len(tables)} CSV files, one per class of the data graph")
        named = sorted((csv_file_name(c, base_uri), c) for c in tables)
        for name, class_iri in named:
            header, rows = tables[class_iri]
            size, digest = _write(tmp, name, csv_bytes(header, rows))
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
        _write(tmp, CHECKSUM_FILE, sha256sums(sums))
        if not _swap_into_place(tmp, out_dir, replace):
            shutil.rmtree(tmp, ignore_errors=True)
            return Manifest.load(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest
