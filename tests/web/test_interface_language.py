"""Every page of the interface in the reader's language (issue #17 item 7): a walk over every
HTML route in Indonesian finds no English interface text, and in English no Indonesian.

Interface text is what the templates write; what the graph says is left out: links (labels of
resources), code, preformatted text, the query editor, anything marked with a language of its
own (`lang=`), and untagged literals (`class="literal"`, written by the value macro). What is
left must hold no word that belongs only to the other language.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

#: Words of one language that the other never uses (short function words and the words the
#: interface is made of).
ENGLISH = {"the", "of", "and", "with", "this", "is", "are", "for", "from", "no", "not", "has",
           "or", "an", "its", "which", "that", "to", "be", "was", "been", "released", "release",
           "releases", "previous", "newest", "downloads", "changes", "statement", "statements",
           "triples", "bytes", "query", "queries", "results", "page", "found", "accessed",
           "retrieved", "version", "file", "files", "run", "download", "search", "home",
           "license", "removed", "added", "entity", "entities", "report", "shapes",
           "conforms", "immutable", "never", "change", "these", "what", "here", "see", "all",
           "any", "on", "at", "by", "in", "as", "it", "graph", "error"}
INDONESIAN = {"yang", "dan", "dari", "untuk", "dengan", "ini", "tidak", "halaman", "kueri",
              "rilis", "unduh", "unduhan", "beranda", "cari", "sebagai", "pada", "atau", "graf",
              "berkas", "bahasa", "semua", "menurut", "jalankan", "hasil", "baris", "diakses"}
#: Names, the same in both languages: each language in itself (the toggle), formats.
NAMES = re.compile(r"Bahasa Indonesia|English|N-Triples|N-Quads")

#: One URL of every route that answers HTML.
ROUTES = [
    "/", "/doc/province/jawa-timur", "/doc/engagement/2013-2016--jawa-timur",
    "/list/province", "/ontology", "/shapes", "/doc/dataset/ikmkg",
    "/map", "/timeline", "/search?q=jawa", "/sparql", "/queries/",
    "/queries/cq01-first-phase-provinces", "/dumps/", "/releases/", "/releases/0.1.0",
    "/releases/0.1.0/validation", "/fragments", "/reconcile/preview?id=province/jawa-timur",
    "/doc/province/no-such-province",
]

_SKIPPED = {"a", "code", "pre", "textarea", "script", "style", "title", "time", "data"}


class _InterfaceText(HTMLParser):
    def __init__(self, lang: str) -> None:
        super().__init__(convert_charrefs=True)
        self.lang, self.stack, self.texts = lang, [], []

    def handle_starttag(self, tag, attrs):
        if tag in ("br", "img", "input", "meta", "link", "hr", "wbr", "source", "col",
                   "path", "rect", "line", "circle", "stop", "use"):
            return
        attributes = dict(attrs)
        skip = (tag in _SKIPPED or "literal" in (attributes.get("class") or "").split()
                or attributes.get("lang", self.lang) != self.lang
                or attributes.get("aria-hidden") == "true")
        self.stack.append((tag, skip))

    def handle_startendtag(self, tag, attrs):
        pass  # <rect/>, <path/>: nothing to read, nothing to close

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if not any(skip for _, skip in self.stack) and data.strip():
            self.texts.append(" ".join(data.split()))


def _foreign_words(html: str, lang: str) -> list[str]:
    parser = _InterfaceText(lang)
    parser.feed(html)
    foreign = ENGLISH if lang == "id" else INDONESIAN
    found = []
    for text in parser.texts:
        words = set(re.findall(r"[a-z]+", NAMES.sub("", text).lower()))
        if words & foreign:
            found.append(f"{text!r} ({', '.join(sorted(words & foreign))})")
    return found


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize("path", ROUTES)
def test_every_page_speaks_the_readers_language(client, path, lang):
    response = client.get(path + ("&" if "?" in path else "?") + f"lang={lang}",
                          headers={"Accept": "text/html"})
    assert response.status_code == (404 if "no-such" in path else 200), path
    assert response.mimetype == "text/html", path
    foreign = _foreign_words(response.get_data(as_text=True), lang)
    assert not foreign, f"{path} in {lang}:\n" + "\n".join(foreign)
