"""What a dump folder holds: `manifest.json` (each file, its size and SHA-256) and the support
files beside the dumps. This module knows nothing about HTTP.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

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


def sha256sums(digests: dict[str, str]) -> bytes:
    """`SHA256SUMS` for `digests` (file name -> hex SHA-256), sorted by name, as `sha256sum -c`
    reads it."""
    return "".join(f"{digest}  {name}\n" for name, digest in sorted(digests.items())).encode()
