"""The documentation holds together: README.md stays a front page, the graph sizes it states are
the served graph's, and no link in it or in docs/*.md points at a file or heading that does not
exist.

What the docs must contain is checked next to the code it describes: every command's `--help`
in tests/test_cli.py, every setting in tests/test_ops.py.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).parent.parent
README = PROJECT_DIR / "README.md"
DOCS = [README, *sorted((PROJECT_DIR / "docs").glob("*.md"))]

#: The front page's budget: what does not fit belongs in docs/.
README_MAX_LINES = 300

#: `[text](target)` and `![alt](target)`; a target ends at whitespace or the closing parenthesis.
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_INDENTED_CODE = re.compile(r"^(?: {4}|\t).*$", re.MULTILINE)


def links(text: str) -> list[str]:
    """The link targets of Markdown `text`, outside code blocks and code spans."""
    prose = _INDENTED_CODE.sub("", _FENCE.sub("", text))
    return _LINK.findall(_CODE_SPAN.sub("", prose))


def anchors(text: str) -> set[str]:
    """The anchors GitHub gives the headings of `text`: lower case, punctuation dropped, spaces
    to hyphens, a repeated one suffixed -1, -2, ..."""
    seen: dict[str, int] = {}
    result = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", _FENCE.sub("", text), re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result


def test_readme_is_a_front_page():
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines < README_MAX_LINES, (
        f"README.md has {lines} lines; keep it under {README_MAX_LINES} and move reference "
        "material to docs/")


def section(path: Path, heading: str) -> str:
    """The text of `path` from the heading `heading` to the next heading of the same level."""
    text = path.read_text(encoding="utf-8")
    start = text.index(f"\n{heading}\n")
    end = text.find("\n" + heading.split(" ")[0] + " ", start + 1)
    return text[start:end if end != -1 else None]


def test_documented_graph_sizes_are_the_served_ones(client):
    """The sizes the front page and the data model state are counted on the served graph."""
    query = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
    response = client.get("/sparql", query_string={"query": query},
                          headers={"Accept": "text/csv"})
    assert response.status_code == 200
    sizes = {row["g"].rsplit("/", 1)[-1]: int(row["n"])
             for row in csv.DictReader(io.StringIO(response.get_data(as_text=True)))}
    assert set(sizes) == {"data", "ontology", "shapes"}
    figures = [f"{n:,}" for n in (sum(sizes.values()), *sizes.values())]
    for text in (section(README, "## What is in the graph"),
                 section(PROJECT_DIR / "docs" / "data-model.md", "## Size and named graphs")):
        assert all(figure in text for figure in figures), (
            f"the docs should state the served sizes {sizes} (total {figures[0]})")


def test_the_docs_are_found():
    names = {path.name for path in DOCS}
    assert {"README.md", "cli.md", "settings.md"} <= names


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: str(path.relative_to(PROJECT_DIR)))
def test_relative_links_resolve(doc):
    """Every relative link names an existing file, and its #anchor a heading of that file."""
    broken = []
    for target in links(doc.read_text(encoding="utf-8")):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
            continue  # http:, https:, mailto: ... : not a file of this repository
        path_part, _, anchor = target.partition("#")
        path = (doc.parent / path_part).resolve() if path_part else doc
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in anchors(
                path.read_text(encoding="utf-8")):
            broken.append(f"{target}: no heading with the anchor #{anchor}")
    assert not broken, f"{doc.relative_to(PROJECT_DIR)}: " + "; ".join(broken)


#: A path of the project named in prose or a code span: `ikmkg/...`, `tests/...`, `bench/...`.
_PROJECT_PATH = re.compile(r"`((?:ikmkg|tests|bench|tools|docs|ontology|data|queries)/"
                           r"[A-Za-z0-9_./-]*[A-Za-z0-9_/])`")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_named_project_files_exist(doc: Path):
    """A module or test named in the docs exists (code spans are not links, so a move of
    `tests/test_x.py` or of a module would otherwise leave the docs pointing nowhere)."""
    text = doc.read_text(encoding="utf-8")
    missing = sorted({path for path in _PROJECT_PATH.findall(text)
                      if "{" not in path and "*" not in path
                      and not (PROJECT_DIR / path).exists()})
    assert not missing, f"{doc.name} names files that do not exist: {missing}"
