"""SPARQL results carry the same values in every format (issue #16), read by independent parsers.

Each format is read with the standard library by the rules of its own standard, never by the
project's writers: JSON with `json` (SPARQL 1.1 Query Results JSON Format), XML with
`xml.etree` (SPARQL Query Results XML Format; an XML parser turns a raw carriage return into a
line feed, XML 1.0 §2.11), CSV with `csv` (RFC 4180; SPARQL 1.1 CSV gives lexical forms only)
and TSV by the Turtle term syntax the SPARQL 1.1 TSV format uses (`tsv_term` below).
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET

import pytest
from conftest import make_app

XSD = "http://www.w3.org/2001/XMLSchema#"
SR = "{http://www.w3.org/2005/sparql-results#}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

#: Literals that each format must carry unchanged: CR, tab, DEL, astral, spaces, quotes,
#: separators, language tags, typed literals; plus an IRI and a blank node per row.
VALUES_QUERY = r"""
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
SELECT ?x ?b WHERE {
  VALUES ?x { "a\r\nb" "cr\ronly" "tab\there" "del\u007Fchar" "astral \U0001D11E clef"
              "  lead and trail  " "hi"@de-AT "hello"@en "1.50"^^xsd:decimal "42"^^xsd:integer
              "2020-01-01"^^xsd:date "quote \" and \\ backslash" "comma, here" "line\nfeed"
              "\u00A0nbsp" <https://example.org/iri?a=1&b=2> }
  BIND(BNODE() AS ?b)
}
ORDER BY STR(?x)
"""


@pytest.fixture(scope="module")
def client(server_store):
    app = make_app(server_store, project_dir="tests/data/sparql", max_results=100,
                   query_timeout=5)
    app.config["TESTING"] = True
    return app.test_client()


def fetch(client, query: str, fmt: str) -> bytes:
    response = client.post("/sparql", data={"query": query},
                           query_string={"format": fmt})
    assert response.status_code == 200, response.data[:400]
    return response.data


# --- independent readers: (kind, value, language, datatype) per cell ---------------------------

def from_json(body: bytes) -> list[list[tuple]]:
    data = json.loads(body)
    names = data["head"]["vars"]
    rows = []
    for binding in data["results"]["bindings"]:
        row = []
        for name in names:
            term = binding.get(name)
            kind = {"uri": "iri", "bnode": "bnode", "literal": "literal",
                    "typed-literal": "literal"}[term["type"]]
            row.append((kind, term["value"], term.get("xml:lang"),
                        term.get("datatype") if kind == "literal" and "xml:lang" not in term
                        else None))
        rows.append(row)
    return rows


def from_xml(body: bytes) -> list[list[tuple]]:
    root = ET.fromstring(body)
    names = [v.get("name") for v in root.iter(f"{SR}variable")]
    rows = []
    for result in root.iter(f"{SR}result"):
        cells = {}
        for binding in result.findall(f"{SR}binding"):
            term = binding[0]
            kind = {"uri": "iri", "bnode": "bnode", "literal": "literal"}[term.tag[len(SR):]]
            cells[binding.get("name")] = (kind, term.text or "", term.get(XML_LANG),
                                          term.get("datatype"))
        rows.append([cells[name] for name in names])
    return rows


def from_csv(body: bytes) -> list[list[str]]:
    reader = csv.reader(io.StringIO(body.decode("utf-8"), newline=""))
    return list(reader)[1:]


_ECHAR = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_TSV_LITERAL = re.compile(r'^"((?:[^"\\]|\\.)*)"(?:@([A-Za-z0-9-]+)|\^\^<([^>]*)>)?$', re.S)


def tsv_term(text: str) -> tuple:
    """One TSV cell by the Turtle term rules (SPARQL 1.1 TSV §3)."""
    if text.startswith("<") and text.endswith(">"):
        return ("iri", text[1:-1], None, None)
    if text.startswith("_:"):
        return ("bnode", text[2:], None, None)
    match = _TSV_LITERAL.match(text)
    if match:
        value = re.sub(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)",
                       lambda m: chr(int(m.group(1)[1:], 16)) if len(m.group(1)) > 1
                       else _ECHAR[m.group(1)], match.group(1))
        lang, datatype = match.group(2), match.group(3)
        return ("literal", value, lang, datatype or (None if lang else XSD + "string"))
    if re.fullmatch(r"[+-]?\d+", text):  # Turtle's abbreviated numbers and booleans
        return ("literal", text, None, XSD + "integer")
    if re.fullmatch(r"[+-]?\d*\.\d+", text):
        return ("literal", text, None, XSD + "decimal")
    if re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+", text):
        return ("literal", text, None, XSD + "double")
    if text in ("true", "false"):
        return ("literal", text, None, XSD + "boolean")
    raise AssertionError(f"not a TSV term: {text!r}")


def from_tsv(body: bytes) -> list[list[tuple]]:
    lines = body.decode("utf-8").split("\n")
    assert lines[-1] == ""  # every row ends with a line feed; no other line break is raw
    return [[tsv_term(cell) for cell in line.split("\t")] for line in lines[1:-1]]


def canonical(rows: list[list[tuple]]) -> list[list[tuple]]:
    """Rows with xsd:string made explicit and blank node labels numbered in order of first use
    (labels are the store's choice per response, SPARQL 1.1 Results §3.3.2)."""
    labels: dict[str, str] = {}
    out = []
    for row in rows:
        cells = []
        for kind, value, lang, datatype in row:
            if kind == "bnode":
                value = labels.setdefault(value, f"b{len(labels)}")
            if kind == "literal" and lang is None and datatype is None:
                datatype = XSD + "string"
            cells.append((kind, value, lang.lower() if lang else None, datatype))
        out.append(cells)
    return out


def test_every_format_gives_the_same_values(client):
    json_rows = canonical(from_json(fetch(client, VALUES_QUERY, "json")))
    assert len(json_rows) == 16
    literals = {cell[1] for row in json_rows for cell in row if cell[0] == "literal"}
    assert {"a\r\nb", "cr\ronly", "tab\there", "del\x7fchar", "astral \U0001D11E clef",
            "  lead and trail  ", "quote \" and \\ backslash", "line\nfeed"} <= literals
    assert canonical(from_xml(fetch(client, VALUES_QUERY, "xml"))) == json_rows
    assert canonical(from_tsv(fetch(client, VALUES_QUERY, "tsv"))) == json_rows
    # CSV carries lexical forms only (IRIs bare, blank nodes as _:label): those must agree.
    csv_rows = from_csv(fetch(client, VALUES_QUERY, "csv"))
    assert [[cell if not cell.startswith("_:") else "bnode" for cell in row]
            for row in csv_rows] == [[value if kind != "bnode" else "bnode"
                                      for kind, value, _, _ in row] for row in json_rows]


def test_xml_results_keep_carriage_returns(client):
    """Issue #16: `"a\\r\\nb"` came back as `a\\nb` from an XML parser."""
    body = fetch(client, 'SELECT ?x WHERE { BIND("a\\r\\nb" AS ?x) }', "xml")
    assert b"\r" not in body and b"&#13;" in body
    assert from_xml(body) == [[("literal", "a\r\nb", None, None)]]


def test_characters_xml_cannot_carry_are_refused_in_xml_and_kept_elsewhere(client):
    query = 'SELECT ?x WHERE { BIND("bell\\u0007 and \\u0001" AS ?x) }'
    response = client.post("/sparql", data={"query": query}, query_string={"format": "xml"})
    assert response.status_code == 400 and b"U+0007" in response.data
    assert from_json(fetch(client, query, "json"))[0][0][1] == "bell\x07 and \x01"
    assert from_tsv(fetch(client, query, "tsv"))[0][0][1] == "bell\x07 and \x01"
    assert from_csv(fetch(client, query, "csv")) == [["bell\x07 and \x01"]]
