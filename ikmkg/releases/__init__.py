"""Releases: citable, reproducible versions of the validated graph, their changelogs and bundles.

`ikmkg release VERSION` records a release in `releases/VERSION/` (ikmkg.releases.recording).
Everything else about a release (its dumps, VoID/DCAT description, changelog, citation, research
bundle) is rebuilt from those files, byte for byte (ikmkg.releases.bundle): a release is
reproducible from a git tag.

| module | owns |
|---|---|
| `records` | reading recorded releases, their snapshots, their graph in a small store |
| `recording` | writing a release folder (`record_release`) |
| `report` | the release's SHACL report: canonical Turtle, plain data, HTML page |
| `changes` | what changed between two releases, entity by entity, and as RDF |
| `catalogue` | releases in VoID/DCAT (the catalogue; one release's VoID) |
| `citation` | citations (text, BibTeX, CSL-JSON, RIS) and CITATION.cff |
| `bundle` | building a release's dumps and research bundle (RO-Crate zip) |

The names below are the package's API, used by the CLI and the web layer; the modules import
one another directly. Nothing here knows about HTTP.
"""

from __future__ import annotations

from ikmkg.releases import bundle, changes, records
from ikmkg.releases.bundle import ReleaseBuild, build_release, ensure_release_build
from ikmkg.releases.catalogue import catalogue_graph
from ikmkg.releases.changes import (CS, Changelog, EntityChange, changelog, changelog_graph, diff,
                                      entity_history, ontology_changed, served_term)
from ikmkg.releases.citation import (CITATION_FORMATS, Citation, citation_cff, citation_cff_data,
                                     format_citation, make_citation)
from ikmkg.releases.recording import record_release
from ikmkg.releases.records import (VALIDATION_FILE, VERSION_PATTERN, Release, check_version,
                                    get_release, knowledge_graph, latest_release, list_releases,
                                    release_graph, release_store, snapshot_quads, version_iri)
from ikmkg.releases.report import validation_report_html, validation_summary


def forget() -> None:
    """Drop every in-process memo of releases, changelogs and builds (tests)."""
    records.forget()
    changes.forget()
    bundle.forget()


__all__ = ["CITATION_FORMATS", "CS", "Changelog", "Citation", "EntityChange", "Release",
           "ReleaseBuild", "VALIDATION_FILE", "VERSION_PATTERN", "build_release",
           "catalogue_graph", "changelog", "changelog_graph", "check_version", "citation_cff",
           "citation_cff_data", "diff", "ensure_release_build", "entity_history", "forget",
           "format_citation", "get_release", "knowledge_graph", "latest_release",
           "list_releases", "make_citation", "ontology_changed", "record_release",
           "release_graph", "release_store", "served_term", "snapshot_quads",
           "validation_report_html", "validation_summary", "version_iri"]
