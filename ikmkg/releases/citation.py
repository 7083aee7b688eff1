"""Citations of the dataset or of one resource in it (text, BibTeX, CSL-JSON, RIS), and
CITATION.cff, generated from the newest release. Knows nothing about HTTP.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import textwrap
from pathlib import Path

# Citations name the dataset's publisher as its author.
from ikmkg.dataset import PUBLISHER_NAME as AUTHOR
from ikmkg.dataset import TITLE
from ikmkg.kg import dataset_iri
from ikmkg.releases.records import Release, latest_release
from ikmkg.settings import CANONICAL_BASE, Settings

CITATION_FORMATS = {
    "text": "text/plain",
    "bibtex": "application/x-bibtex",
    "csl-json": "application/vnd.citationstyles.csl+json",
    "ris": "application/x-research-info-systems",
}


@dataclasses.dataclass(frozen=True)
class Citation:
    """What a citation of the dataset, or of one resource in it, names."""

    title: str  # the resource's label, or the dataset's title
    iri: str  # the resource cited (the dataset IRI for the dataset)
    version: str | None
    version_iri: str | None
    released: dt.date | None
    accessed: dt.date
    container: str | None  # the dataset's title when a resource is cited

    @property
    def key(self) -> str:
        tail = re.sub(r"[^A-Za-z0-9]+", "_", self.iri.rsplit("/", 1)[-1]).strip("_")
        version = re.sub(r"[^A-Za-z0-9]+", "_", self.version or "unreleased")
        return f"ikmkg_{version}" + (f"_{tail}" if self.container else "")


def make_citation(iri: str, title: str | None, release: Release | None, base_uri: str,
                  accessed: dt.date | None = None) -> Citation:
    """A citation of `iri` (the dataset IRI: the dataset itself) as of `release`."""
    is_dataset = iri == str(dataset_iri(base_uri))
    return Citation(
        title=TITLE if is_dataset or not title else title,
        iri=iri,
        version=release.version if release else None,
        version_iri=str(release.iri(base_uri)) if release else None,
        released=release.date if release else None,
        accessed=accessed or dt.datetime.now(dt.timezone.utc).date(),
        container=None if is_dataset else TITLE,
    )


_TEX_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "%": r"\%", "&": r"\&",
                "#": r"\#", "$": r"\$", "_": r"\_", "^": r"\^{}", "~": r"\~{}"}


def _tex(text: str) -> str:
    return "".join(_TEX_SPECIAL.get(ch, ch) for ch in text)


def _parts(day: dt.date) -> list[list[int]]:
    return [[day.year, day.month, day.day]]


def format_citation(c: Citation, fmt: str) -> str:
    """The citation as plain text, BibTeX, CSL-JSON or RIS (`CITATION_FORMATS`)."""
    version = f"version {c.version}" if c.version else "unreleased version"
    if fmt == "text":
        year = f" ({c.released.year})" if c.released else ""
        where = f" In: {c.container}." if c.container else ""
        release = f" Release {c.version_iri}" if c.version_iri else ""
        released = f", released {c.released.isoformat()}" if c.released else ""
        return (f"{AUTHOR}{year}. {c.title} ({version}{released}).{where} {c.iri}."
                f"{release + '.' if release else ''} Accessed {c.accessed.isoformat()}.\n")
    if fmt == "bibtex":
        fields = [("author", "{" + _tex(AUTHOR) + "}"), ("title", _tex(c.title))]
        if c.container:
            fields.append(("booktitle", _tex(c.container)))
        if c.released:
            fields += [("year", str(c.released.year)), ("month", str(c.released.month)),
                       ("date", c.released.isoformat())]
        fields += [("version", _tex(c.version or "unreleased")), ("url", c.iri),
                   ("howpublished", r"\url{" + c.iri + "}"),
                   ("urldate", c.accessed.isoformat()), ("publisher", _tex(AUTHOR))]
        if c.version_iri:
            fields.append(("note", _tex(f"Release {c.version}: {c.version_iri}")))
        body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields)
        return f"@misc{{{c.key},\n{body}\n}}\n"
    if fmt == "csl-json":
        item: dict = {"id": c.key, "type": "dataset", "title": c.title,
                      "author": [{"literal": AUTHOR}], "publisher": AUTHOR, "URL": c.iri,
                      "version": c.version or "unreleased",
                      "accessed": {"date-parts": _parts(c.accessed)}}
        if c.container:
            item["container-title"] = c.container
        if c.released:
            item["issued"] = {"date-parts": _parts(c.released)}
        if c.version_iri:
            item["note"] = f"Release {c.version}: {c.version_iri}"
        return json.dumps([item], ensure_ascii=False, indent=2) + "\n"
    if fmt == "ris":
        lines = [("TY", "DATA"), ("AU", AUTHOR), ("TI", c.title)]
        if c.container:
            lines.append(("T2", c.container))
        if c.released:
            lines += [("PY", str(c.released.year)), ("DA", c.released.strftime("%Y/%m/%d"))]
        lines += [("ET", c.version or "unreleased"), ("UR", c.iri), ("PB", AUTHOR),
                  ("Y2", c.accessed.strftime("%Y/%m/%d"))]
        if c.version_iri:
            lines.append(("N1", f"Release {c.version}: {c.version_iri}"))
        lines.append(("ER", ""))
        return "".join(f"{tag}  - {value}".rstrip() + "\n" for tag, value in lines)
    raise ValueError(f"unknown citation format {fmt!r}; one of: {', '.join(CITATION_FORMATS)}")



# --- CITATION.cff -------------------------------------------------------------------------------

CFF_MESSAGE = ("If you use the ikmkg knowledge graph or its software, please cite it as below. "
               "The data is licensed CC BY 4.0 and the code MIT; the facts are drawn from the "
               "Republika article cited in the references.")
CFF_ABSTRACT = (
    "Linked data about the small and medium industry (IKM) development programme of Indonesia's "
    "Ministry of Industry (Kemenperin, Ditjen IKM) with JICA: an OWL ontology, SHACL shapes and "
    "curated Turtle data in which every fact is traced to the sentence of its source article or "
    "to a cited reference table, published with a SPARQL endpoint, linked-data pages and dumps.")
CFF_KEYWORDS = ("knowledge graph", "linked data", "Indonesia", "small and medium industry", "IKM",
                "JICA")
#: The source article, as the article prints its names (not split into given and family names).
CFF_REFERENCES = [{
    "type": "newspaper-article",
    "title": "Indonesia dan Jepang Kerja Sama Bidang Industri Kecil",
    "authors": [{"name": "Intan Pratiwi"}],
    "editors": [{"name": "Dwi Murdaningsih"}],
    "publisher": {"name": "Republika"},
    "date-published": "2017-12-26",
    "languages": ["id"],
}]


def citation_cff_data(release: Release | None) -> dict:
    """CITATION.cff's content for the newest release, as plain data (what the file holds)."""
    data: dict = {
        "cff-version": "1.2.0", "message": CFF_MESSAGE, "type": "dataset", "title": TITLE,
        "abstract": CFF_ABSTRACT, "authors": [{"name": AUTHOR}],
        "license": ["CC-BY-4.0", "MIT"], "url": CANONICAL_BASE,
        "identifiers": [{"type": "url", "value": str(dataset_iri(CANONICAL_BASE)),
                         "description": "The dataset IRI (VoID/DCAT description at "
                                        "/.well-known/void)."}],
        "keywords": list(CFF_KEYWORDS),
        "references": CFF_REFERENCES,
    }
    if release is not None:
        data["version"] = release.version
        data["date-released"] = release.date.isoformat()
        data["identifiers"].append({"type": "url", "value": str(release.iri(CANONICAL_BASE)),
                                    "description": f"The persistent IRI of release "
                                                   f"{release.version}."})
    return data


def citation_cff(release: Release | None) -> str:
    """CITATION.cff (YAML; strings written as JSON strings, which YAML reads the same)."""
    data = citation_cff_data(release)

    def s(text: str) -> str:
        return json.dumps(text, ensure_ascii=False)

    def folded(text: str) -> str:  # YAML `>-` joins the lines with single spaces again
        return ">-\n" + "\n".join("  " + line for line in textwrap.wrap(text, 94))

    lines = ["# Citation metadata (https://citation-file-format.github.io/). No DOI has been "
             "minted for ikmkg.",
             "# Generated by `ikmkg release` from the newest release (ikmkg/releases/citation.py); "
             "do not edit by hand.",
             f"cff-version: {data['cff-version']}", f"message: {folded(data['message'])}",
             f"type: {data['type']}", f"title: {s(data['title'])}",
             f"abstract: {folded(data['abstract'])}", "authors:", f"  - name: {s(AUTHOR)}"]
    if "version" in data:
        lines += [f"version: {s(data['version'])}", f"date-released: {data['date-released']}"]
    lines += ["license:", *[f"  - {x}" for x in data["license"]], f"url: {s(data['url'])}",
              "identifiers:"]
    for ident in data["identifiers"]:
        lines += [f"  - type: {ident['type']}", f"    value: {s(ident['value'])}",
                  f"    description: {s(ident['description'])}"]
    lines += ["keywords:", *[f"  - {s(k)}" for k in data["keywords"]], "references:"]
    for ref in data["references"]:
        lines += [f"  - type: {ref['type']}", f"    title: {s(ref['title'])}",
                  "    # Names as the article prints them (not split into given and family names)."]
        for role in ("authors", "editors"):
            lines += [f"    {role}:", *[f"      - name: {s(p['name'])}" for p in ref[role]]]
        lines += ["    publisher:", f"      name: {s(ref['publisher']['name'])}",
                  f"    date-published: {ref['date-published']}", "    languages:",
                  *[f"      - {x}" for x in ref["languages"]]]
    return "\n".join(lines) + "\n"


def write_citation_cff(settings: Settings) -> Path:
    path = Path(settings.project_dir) / "CITATION.cff"
    path.write_text(citation_cff(latest_release(settings)), encoding="utf-8")
    return path

