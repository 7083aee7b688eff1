"""One table of interface text: every key a template or a view asks for is there, in both
languages, and the reader's language is chosen the same way on every page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import ikmkg
from ikmkg.web import i18n

PACKAGE = Path(ikmkg.__file__).parent
#: `t('key')` in templates, `text("key", lang)` in views.
_ASKED = re.compile(r"""\bt\(\s*['"]([a-z0-9_]+)['"]\s*\)|\btext\(\s*['"]([a-z0-9_]+)['"]\s*,""")


def _asked_keys() -> set[str]:
    found = set()
    for path in [*PACKAGE.glob("templates/**/*.html"), *PACKAGE.glob("web/*.py")]:
        if path.name == "i18n.py":  # its docstring shows the calls
            continue
        for match in _ASKED.finditer(path.read_text(encoding="utf-8")):
            found.add(match.group(1) or match.group(2))
    return found


def test_every_asked_key_is_in_the_table_in_both_languages():
    asked = _asked_keys()
    assert len(asked) > 80, "the scan of templates and views found too few keys"
    missing = sorted(key for key in asked if key not in i18n.UI)
    assert not missing
    one_language = sorted(key for key, entry in i18n.UI.items() if set(entry) != {"en", "id"})
    assert not one_language


def test_text_falls_back_to_english_then_to_the_key(monkeypatch):
    monkeypatch.setitem(i18n.UI, "only_en", {"en": "English only"})
    assert i18n.text("only_en", "id") == "English only"
    assert i18n.text("no such key", "id") == "no such key"


@pytest.mark.parametrize("path", ["/", "/map", "/search?q=jawa", "/ontology", "/releases/"])
def test_pages_follow_an_explicit_language_choice(client, path):
    """The shared strings come from the one table whatever blueprint renders the page."""
    for lang in ("en", "id"):
        response = client.get(path + ("&" if "?" in path else "?") + f"lang={lang}",
                              headers={"Accept": "text/html"})
        assert response.status_code == 200, path
        assert i18n.text("home", lang) in response.get_data(as_text=True)


def test_no_module_changes_the_table_at_import():
    """Importing every blueprint leaves the table as i18n defines it (no merge from elsewhere)."""
    before = {key: dict(entry) for key, entry in i18n.UI.items()}
    from ikmkg.web import dumps, fragments, maps, pages, reconcile, releases, search, sparql  # noqa: F401

    assert i18n.UI == before


@pytest.mark.parametrize("n,lang,expected", [
    (0, "en", "0 bytes"), (1, "en", "1 byte"), (812, "en", "812 bytes"), (812, "id", "812 bita"),
    (27600, "en", "27.6 kB"), (27600, "id", "27,6 kB"), (999_960, "en", "1.0 MB"),
    (1_234_567, "id", "1,2 MB"), (3_000_000_000, "en", "3.0 GB")])
def test_file_sizes_read_at_a_glance(n, lang, expected):
    assert i18n.file_size(n, lang) == expected


@pytest.mark.parametrize("n,lang,expected", [
    (1, "en", "1 row of X"), (2, "en", "2 rows of X"), (1, "id", "1 baris X"),
    (27600, "en", "27,600 rows of X"), (27600, "id", "27.600 baris X")])
def test_counts_agree_with_their_number(n, lang, expected):
    assert i18n.count(n, "rows_of", lang, what="X") == expected
