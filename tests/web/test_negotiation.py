"""ikmkg.web.negotiation: the one `negotiate()` of every route, `format=` names, and the rule
that no other module reads `Accept` or `If-None-Match` (issue #14)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ikmkg.formats import HTML, JSON, QUAD_FORMATS, RDF_FORMATS, RESULT_FORMATS, TEXT
from ikmkg.web import negotiation
from ikmkg.web.negotiation import format_named, negotiate

PACKAGE = Path(negotiation.__file__).resolve().parent.parent

SRJ, SRX = "application/sparql-results+json", "application/sparql-results+xml"
TTL, NT, JSONLD, RDFXML = "text/turtle", "application/n-triples", "application/ld+json", \
    "application/rdf+xml"
RESULTS = [f.media_type for f in RESULT_FORMATS]
GRAPH = [f.media_type for f in (*RDF_FORMATS, *QUAD_FORMATS)]
DOCUMENT = ["text/html", TTL, NT, JSONLD, RDFXML]
ERROR = ["text/html", "application/json", "text/plain"]
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize("accept,offered,expected", [
    # nothing said: the default (first offered)
    (None, RESULTS, SRJ),
    ("", DOCUMENT, "text/html"),
    ("*/*", GRAPH, TTL),
    # exact types and qualities
    (SRX, RESULTS, SRX),
    ("text/csv;q=0.5, application/sparql-results+xml;q=0.9", RESULTS, SRX),
    ("text/csv;q=0.9, */*;q=0.1", RESULTS, "text/csv"),
    ("application/rdf+xml;q=0.5, text/turtle;q=0.8", DOCUMENT, TTL),
    ("text/*", DOCUMENT, "text/html"),
    ("text/turtle;q=0, */*;q=0.1", DOCUMENT, "text/html"),
    ("application/ld+json;q=1.0, text/html;q=0.99", DOCUMENT, JSONLD),
    # ties go to the order offered
    (f"{TTL}, {NT}", GRAPH, TTL),
    (f"{NT}, {TTL}", GRAPH, TTL),
    # aliases stand for what the route offers, and count after every offered type
    ("application/json", RESULTS, SRJ),
    ("application/json", GRAPH, JSONLD),
    ("application/json", DOCUMENT, JSONLD),
    ("application/json", ERROR, "application/json"),
    ("application/xml", RESULTS, SRX),
    ("application/xml", GRAPH, RDFXML),
    (f"application/json, {TTL}", GRAPH, TTL),
    (BROWSER, [*RESULTS, "text/html"], "text/html"),
    (BROWSER, DOCUMENT, "text/html"),
    # what SPARQLWrapper sends
    ("application/ld+json,application/x-json+ld", GRAPH, JSONLD),
    ("application/turtle,text/turtle,text/rdf+n3,application/n-triples,application/n3,text/n3",
     GRAPH, TTL),
    (",".join([SRJ, "application/json", "text/javascript", "application/javascript"]),
     RESULTS, SRJ),
    # nothing fits: None (the route answers 406, or its fallback)
    (TTL, RESULTS, None),
    (SRJ, GRAPH, None),
    ("image/png", DOCUMENT, None),
    ("application/xml", ERROR, None),
])
def test_negotiate(accept, offered, expected):
    assert negotiate(accept, offered) == expected


@pytest.mark.parametrize("value,offered,expected", [
    ("csv", RESULT_FORMATS, "text/csv"),
    ("json", RESULT_FORMATS, SRJ),
    ("json", (*RDF_FORMATS, *QUAD_FORMATS), JSONLD),
    ("json", (HTML, JSON), "application/json"),
    ("xml", (*RDF_FORMATS, *QUAD_FORMATS), RDFXML),
    ("srj", (*RDF_FORMATS, *QUAD_FORMATS), JSONLD),
    ("TTL ", RDF_FORMATS, TTL),
    ("n3", RDF_FORMATS, TTL),
    ("turtle", RDF_FORMATS, TTL),
    ("json-ld", RDF_FORMATS, JSONLD),
    ("rdf+xml", RDF_FORMATS, RDFXML),
    ("rdf", RDF_FORMATS, RDFXML),
    ("text/csv", RESULT_FORMATS, "text/csv"),
    ("application/json", RDF_FORMATS, JSONLD),
    # SPARQLWrapper 2: the repeated parameter, joined, and a comma-separated list
    ("json-ld,application/ld+json,application/x-json+ld", RDF_FORMATS, JSONLD),
    ("rdf+xml,application/rdf+xml", RDF_FORMATS, RDFXML),
    ("tsv,text/tab-separated-values", RESULT_FORMATS, "text/tab-separated-values"),
    ("nonsense,text/csv", RESULT_FORMATS, "text/csv"),
    ("html", (*RESULT_FORMATS, HTML), "text/html"),
    ("ttl", RESULT_FORMATS, None),
    ("xlsx", RESULT_FORMATS, None),
    ("", RESULT_FORMATS, None),
    ("txt", (HTML, JSON, TEXT), "text/plain"),
])
def test_format_names(value, offered, expected):
    found = format_named(value, offered)
    assert (found.media_type if found else None) == expected


def test_long_accept_headers_are_not_remembered():
    """Accept headers are the client's: a long one is matched but never kept, and what is kept
    stays within its byte bound however many distinct headers arrive."""
    cache = negotiation._matches
    huge = "text/turtle;q=0.5, " + ",".join(f"x/y{i}" for i in range(20_000))
    before = len(cache)
    assert negotiate(huge, GRAPH) == TTL
    assert all(len(key[0]) <= negotiation.CACHED_ACCEPT_CHARS for key in cache._items)
    assert len(cache) == before
    for i in range(3000):
        negotiate(f"text/turtle, x/{i:0900d}", GRAPH)
    assert cache.bytes <= cache.max_bytes
    assert len(cache) <= cache.max_entries


#: What reads Accept or conditional headers itself (Accept-Language is not negotiation's).
READS_NEGOTIATION = re.compile(
    r"accept_mimetypes|parse_accept_header|MIMEAccept|if_none_match|If-None-Match"
    r"|if_modified_since|If-Modified-Since|make_conditional|headers(?:\.get\(|\[)[\"']Accept[\"']")


def test_only_the_negotiation_module_reads_accept_and_validators():
    readers = sorted(str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
                     if READS_NEGOTIATION.search(path.read_text(encoding="utf-8")))
    assert readers == ["web/negotiation.py"]
