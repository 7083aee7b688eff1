"""The home page (issue #17 item 12): what a visitor came for first (search, the example
questions, the map), then the browse list; one list of types, not two near-duplicate ones."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest


@pytest.mark.parametrize("lang", ["en", "id"])
def test_home_leads_with_search_questions_and_map(client, lang):
    text = client.get(f"/?lang={lang}").get_data(as_text=True)
    main = text[text.index('<main'):]
    search = main.find('role="search"')
    questions = main.find('id="questions-title"')
    province_map = main.find('<svg class="province-map"')
    browse = main.find('id="browse-title"')
    assert -1 not in (search, questions, province_map, browse)
    assert max(search, questions, province_map) < browse
    questions = re.findall(r'href="(/sparql\?query=[^"]+)"', main)
    assert len(questions) >= 3  # the example questions run as queries
    for href in questions:  # in the reader's language, with the prefixes they use only
        query = parse_qs(urlsplit(html.unescape(href)).query)
        assert query["lang"] == [lang]
        assert query["query"][0].count("PREFIX") <= 4


def test_home_lists_each_type_once(client):
    text = client.get("/").get_data(as_text=True)
    listed = re.findall(r'href="/list/([^"?]+)', text)
    assert len(listed) > 20
    assert len(listed) == len(set(listed)), "a type listed twice"
    assert 'class="counts"' not in text  # the per-class table that repeated the browse list
    rows = re.findall(r"<li>|<tr>", text)
    assert len(rows) < 100, f"{len(rows)} list items and rows"
