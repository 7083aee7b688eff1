"""Recording a release: `record_release` (`ikmkg release VERSION`) writes into the repository

| file | content |
|---|---|
| `releases/VERSION/release.ttl` | the release's metadata (DCAT/VoID/PROV): version IRI, date, previous version, checksums |
| `releases/VERSION/snapshot.nq` | the three named graphs as canonical N-Quads (RDFC-1.0 blank-node labels, sorted) |
| `releases/VERSION/validation.ttl` | the SHACL validation report of the released graph |
| `releases/VERSION/queries/*.rq` | the named queries as they were, so that their results can be rebuilt |

and regenerates `CITATION.cff` from the newest release. A release folder is never replaced.
This module knows nothing about HTTP.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, RDFS, VOID, XSD

from ikmkg import dumps
from ikmkg.dataset import DATA_LICENSE, IANA, TITLE
from ikmkg.errors import DataError
from ikmkg.kg import KnowledgeGraph, dataset_iri, rebase
from ikmkg.namespaces import DCAT, SPDX, bind_prefixes
from ikmkg.publish import Publication
from ikmkg.releases.citation import write_citation_cff
from ikmkg.releases.records import (QUERIES_DIR, RELEASE_FILE, RELEASES_DIR, SNAPSHOT_FILE,
                                    VALIDATION_FILE, Release, check_version, get_release,
                                    latest_release, releases_dir, version_iri)
from ikmkg.releases.report import report_turtle
from ikmkg.settings import CANONICAL_BASE, Settings


def _canonical(kg: KnowledgeGraph) -> KnowledgeGraph:
    return rebase(kg, CANONICAL_BASE) if kg.base_uri != CANONICAL_BASE else kg


def _ontology_version(quads: Iterable[ox.Quad]) -> str | None:
    ontology = f"{CANONICAL_BASE}ontology"
    for q in quads:
        if q.subject == ox.NamedNode(ontology) and q.predicate.value == str(OWL.versionIRI):
            return q.object.value
    return None


def release_metadata(version: str, date: dt.date, previous: Release | None, *, triples: int,
                     snapshot_sha256: str, source_hash: str, ontology_version: str | None,
                     conforms: bool) -> Graph:
    """The triples of `release.ttl` (canonical base)."""
    base = CANONICAL_BASE
    g = bind_prefixes(Graph(), base)
    v, d = version_iri(base, version), dataset_iri(base)
    for cls in (DCAT.Dataset, VOID.Dataset, PROV.Entity):
        g.add((v, RDF.type, cls))
    g.add((v, DCTERMS.title, Literal(f"{TITLE}, release {version}", lang="en")))
    g.add((v, RDFS.label, Literal(f"ikmkg {version}", lang="en")))
    g.add((v, DCTERMS.isVersionOf, d))
    g.add((v, DCAT.version, Literal(version)))
    g.add((v, OWL.versionInfo, Literal(version)))
    g.add((v, DCTERMS.issued, Literal(date.isoformat(), datatype=XSD.date)))
    g.add((v, DCTERMS.license, DATA_LICENSE))
    g.add((v, DCTERMS.creator, URIRef(f"{d}#publisher")))
    g.add((v, VOID.triples, Literal(triples, datatype=XSD.integer)))
    if previous is not None:
        p = version_iri(base, previous.version)
        g.add((v, DCAT.previousVersion, p))
        g.add((v, PROV.wasRevisionOf, p))
    if ontology_version:
        g.add((v, DCTERMS.conformsTo, URIRef(ontology_version)))
    if conforms:
        g.add((v, DCTERMS.conformsTo, URIRef(f"{base}shapes")))
    checksum = URIRef(f"{v}#snapshot-sha256")
    g.add((v, SPDX.checksum, checksum))
    g.add((checksum, RDF.type, SPDX.Checksum))
    g.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
    g.add((checksum, SPDX.checksumValue, Literal(snapshot_sha256, datatype=XSD.hexBinary)))
    g.add((checksum, RDFS.comment, Literal(
        f"SHA-256 of {RELEASES_DIR}/{version}/{SNAPSHOT_FILE}: the three named graphs as "
        "N-Quads with RDFC-1.0 blank-node labels, sorted (ikmkg.nq.gz, uncompressed)", lang="en")))
    sources = URIRef(f"{v}#sources")
    g.add((v, PROV.wasDerivedFrom, sources))
    g.add((sources, RDF.type, PROV.Entity))
    g.add((sources, RDFS.comment, Literal(
        "The ontology, shapes and data files the release was made from (SHA-256 over their "
        "names and bytes in load order, the store version ikmkg reports)", lang="en")))
    g.add((sources, SPDX.checksum, URIRef(f"{v}#sources-sha256")))
    g.add((URIRef(f"{v}#sources-sha256"), RDF.type, SPDX.Checksum))
    g.add((URIRef(f"{v}#sources-sha256"), SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
    g.add((URIRef(f"{v}#sources-sha256"), SPDX.checksumValue,
           Literal(source_hash, datatype=XSD.hexBinary)))
    report = URIRef(f"{base}releases/{version}/validation")
    g.add((v, RDFS.seeAlso, report))
    g.add((report, DCTERMS.title, Literal(f"SHACL validation report of release {version}",
                                          lang="en")))
    bundle = URIRef(f"{v}#bundle")
    g.add((v, DCAT.distribution, bundle))
    g.add((bundle, RDF.type, DCAT.Distribution))
    g.add((bundle, DCTERMS.title, Literal(f"Research bundle of release {version} (RO-Crate)",
                                          lang="en")))
    url = URIRef(f"{base}dumps/{version}/ikmkg-{version}-bundle.zip")
    g.add((bundle, DCAT.downloadURL, url))
    g.add((bundle, DCAT.mediaType, URIRef(IANA + "application/zip")))
    g.add((bundle, DCTERMS.license, DATA_LICENSE))
    return g



def record_release(settings: Settings, version: str, publication: Publication, *,
                   date: dt.date | None = None) -> Release:
    """Write `releases/VERSION/` for the validated graph and regenerate CITATION.cff.

    Args:
        settings: where the project is (`project_dir`).
        version: the new version (see `check_version`); an existing one is never replaced.
        publication: the graph as `ikmkg.publish.publish` gives it (any base), with its report.
        date: the release date (default: today, UTC); stored, so rebuilding is deterministic.

    Raises:
        DataError: bad or existing version, a date before the previous release's.
    """
    check_version(version)
    date = date or dt.datetime.now(dt.timezone.utc).date()
    folder = releases_dir(settings)
    target = folder / version
    if target.exists():
        raise DataError(f"{target}: release {version} exists; a release is never replaced")
    previous = latest_release(settings)
    if previous is not None and date < previous.date:
        raise DataError(f"release date {date} is before the newest release ({previous.version}, "
                        f"{previous.date})")
    kg = _canonical(publication.graph)
    quads = dumps.canonical_quads(dumps.read_quads(kg, CANONICAL_BASE), CANONICAL_BASE)
    snapshot = dumps.serialize(quads, ox.RdfFormat.N_QUADS, CANONICAL_BASE)
    digest = hashlib.sha256(snapshot).hexdigest()
    metadata = release_metadata(
        version, date, previous, triples=len(dumps.union_triples(quads)), snapshot_sha256=digest,
        source_hash=kg.content_hash, ontology_version=_ontology_version(quads),
        conforms=publication.report.conforms)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{version}.", suffix=".tmp", dir=folder))
    try:
        os.chmod(tmp, 0o755)
        (tmp / SNAPSHOT_FILE).write_bytes(snapshot)
        (tmp / RELEASE_FILE).write_bytes(dumps.serialize_graph(metadata, "text/turtle",
                                                               CANONICAL_BASE))
        (tmp / VALIDATION_FILE).write_bytes(report_turtle(publication.report.graph))
        (tmp / QUERIES_DIR).mkdir()
        for path in sorted(settings.queries_dir.glob("*.rq")):
            shutil.copyfile(path, tmp / QUERIES_DIR / path.name)
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    release = get_release(settings, version)
    write_citation_cff(settings)
    return release
