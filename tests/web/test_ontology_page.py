"""The /ontology and /shapes pages of the shipped graph (issue #17 item 11): a table of contents,
a compact card per term at its anchor, SHACL-SPARQL as code blocks, and a size budget.

Measured on the shipped graph: /ontology was 528,916 bytes in English and 530,375 in Indonesian
(ontology and shapes on one page, every shape's constraints repeated on each term it targets, a
prologue of 20 prefixes in every query link); now about 153 KB and 156 KB, and /shapes 118 KB.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from rdflib.namespace import RDF, SH

from ikmkg.web.i18n import UI
from ikmkg import ontology_docs

#: Bytes the ontology page and the shapes page may weigh in either language.
PAGE_BUDGET = 200_000


class _Page(HTMLParser):
    """Ids, fragment links, cards and the text inside <pre> of one page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.fragment_links: list[str] = []
        self.cards: list[str] = []
        self.toc_links: list[str] = []
        self.code_blocks: list[str] = []
        self._in_pre = 0
        self._in_toc = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "id" in attributes:
            self.ids.add(attributes["id"])
        if tag == "article" and "card" in (attributes.get("class") or "").split():
            self.cards.append(attributes["id"])
        if tag == "nav" and "toc" in (attributes.get("class") or ""):
            self._in_toc += 1
        href = attributes.get("href") or ""
        if tag == "a" and href.startswith("#"):
            self.fragment_links.append(href[1:])
            if self._in_toc:
                self.toc_links.append(href[1:])
        if tag == "pre":
            self._in_pre += 1
            self.code_blocks.append("")

    def handle_endtag(self, tag):
        if tag == "pre":
            self._in_pre -= 1
        if tag == "nav" and self._in_toc:
            self._in_toc -= 1

    def handle_data(self, data):
        if self._in_pre:
            self.code_blocks[-1] += data


def _page(client, path: str) -> tuple[str, _Page]:
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == 200, path
    text = response.get_data(as_text=True)
    parsed = _Page()
    parsed.feed(text)
    return text, parsed


@pytest.mark.parametrize("path", ["/ontology?lang=en", "/ontology?lang=id",
                                  "/shapes?lang=en", "/shapes?lang=id"])
def test_vocabulary_pages_keep_within_their_budget(client, path):
    text, _ = _page(client, path)
    assert len(text.encode()) < PAGE_BUDGET, f"{path}: {len(text.encode()):,} bytes"


def test_every_term_is_a_card_in_the_table_of_contents(client, knowledge_graph):
    _, page = _page(client, "/ontology")
    ontology = knowledge_graph.ontology
    own = {str(s).split("#")[-1] for s in ontology.subjects(RDF.type, None)
           if str(s).startswith("https://w3id.org/ikmkg/ontology#")}
    assert len(own) > 40
    assert own <= set(page.cards)
    assert set(page.cards) <= set(page.toc_links)
    assert not set(page.fragment_links) - page.ids, "a link to an anchor the page lacks"
    assert not [i for i in page.ids if i.endswith("Shape")], "shapes belong on /shapes"


def test_shacl_sparql_is_code_on_the_shapes_page(client, knowledge_graph):
    text, page = _page(client, "/shapes")
    shapes = knowledge_graph.shapes
    selects = [str(o) for o in shapes.objects(None, SH.select)]
    assert len(selects) >= 10
    shown = [" ".join(block.split()) for block in page.code_blocks]
    for select in selects:
        assert " ".join(select.split()) in shown, select[:80]
    outside = re.sub(r"<pre.*?</pre>", "", text, flags=re.S)
    assert "SELECT $this" not in outside and "SELECT" not in re.sub(r"<a [^>]*>", "", outside)
    assert not set(page.fragment_links) - page.ids


def test_term_queries_declare_only_the_prefix_they_use():
    query = ontology_docs.term_query("https://w3id.org/ikmkg/", "https://w3id.org/ikmkg/"
                                     "ontology#Province", True, "id")
    assert query.count("PREFIX") == 1 and "rdfs:" in query


def test_every_constraint_name_is_in_the_table_in_both_languages():
    for name in ontology_docs._SHAPE_KEYS.values():
        assert set(UI[f"shacl_{name}"]) == {"en", "id"}, name
