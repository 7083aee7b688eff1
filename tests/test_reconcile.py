"""Reconciliation API 0.2: manifest, query batches (type and property constraints), suggest,
preview; responses checked against the shapes the protocol prescribes (written out here as JSON
schemas from the specification's text, so the test needs no network)."""

from __future__ import annotations

import json

import jsonschema
import pytest
from bs4 import BeautifulSoup

BASE = "https://w3id.org/ikmkg/"
IKM = BASE + "ontology#"
ORG = "http://www.w3.org/ns/org#"

_TYPE = {"oneOf": [{"type": "string"},
                   {"type": "object", "required": ["id"],
                    "properties": {"id": {"type": "string"}, "name": {"type": "string"}}}]}
_TEMPLATE = {"type": "string", "pattern": r"\{\{id\}\}"}
_SUGGEST_META = {"type": "object", "required": ["service_url", "service_path"],
                 "properties": {"service_url": {"type": "string", "pattern": "^https?://"},
                                "service_path": {"type": "string"}}}
MANIFEST = {
    "type": "object",
    "required": ["versions", "name", "identifierSpace", "schemaSpace"],
    "properties": {
        "versions": {"type": "array", "items": {"type": "string"}, "contains": {"const": "0.2"}},
        "name": {"type": "string", "minLength": 1},
        "identifierSpace": {"type": "string"}, "schemaSpace": {"type": "string"},
        "defaultTypes": {"type": "array", "uniqueItems": True, "items": {
            "type": "object", "required": ["id", "name"]}},
        "view": {"type": "object", "required": ["url"], "properties": {"url": _TEMPLATE}},
        "preview": {"type": "object", "required": ["url", "width", "height"], "properties": {
            "url": _TEMPLATE, "width": {"type": "integer"}, "height": {"type": "integer"}}},
        "suggest": {"type": "object", "properties": {
            "entity": _SUGGEST_META, "type": _SUGGEST_META, "property": _SUGGEST_META}},
        "batchSize": {"type": "integer", "minimum": 1},
    },
}
RESULT_BATCH = {
    "type": "object",
    "additionalProperties": {"type": "object", "required": ["result"], "properties": {
        "result": {"type": "array", "items": {
            "type": "object", "required": ["id", "name", "score"],
            "properties": {
                "id": {"type": "string", "minLength": 1}, "name": {"type": "string"},
                "description": {"type": "string"}, "score": {"type": "number"},
                "match": {"type": "boolean"}, "type": {"type": "array", "items": _TYPE},
                "features": {"type": "array", "items": {
                    "type": "object", "required": ["id", "value"],
                    "properties": {"id": {"type": "string"},
                                   "value": {"type": ["boolean", "number"]}}}},
            }}}}},
}
SUGGEST = {"type": "object", "required": ["result"], "properties": {"result": {
    "type": "array", "items": {"type": "object", "required": ["id", "name"], "properties": {
        "id": {"type": "string"}, "name": {"type": "string"},
        "description": {"type": "string"}, "notable": {"type": "array", "items": _TYPE}}}}}}


def reconcile(client, batch: dict, method: str = "post") -> dict:
    if method == "post":
        response = client.post("/reconcile", data={"queries": json.dumps(batch)})
    else:
        response = client.get("/reconcile", query_string={"queries": json.dumps(batch)})
    assert response.status_code == 200, response.data
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    body = response.get_json()
    jsonschema.validate(body, RESULT_BATCH)
    assert set(body) == set(batch)
    for answer in body.values():
        scores = [c["score"] for c in answer["result"]]
        assert scores == sorted(scores, reverse=True)
    return body


def top(body: dict, key: str) -> tuple[str, bool] | None:
    result = body[key]["result"]
    return (result[0]["id"], result[0]["match"]) if result else None


def test_manifest(client):
    response = client.get("/reconcile")
    assert response.status_code == 200 and response.headers["Access-Control-Allow-Origin"] == "*"
    manifest = response.get_json()
    jsonschema.validate(manifest, MANIFEST)
    assert manifest["identifierSpace"] == BASE + "id/"
    types = {t["id"] for t in manifest["defaultTypes"]}
    assert types == {IKM + n for n in ("Province", "Regency", "City", "District",
                                       "ProductCategory")} | {ORG + "Organization"}
    # The view template gives the entity's IRI, which this app serves.
    iri = manifest["view"]["url"].replace("{{id}}", "province/jawa-timur")
    assert client.get(iri.removeprefix(BASE[:-1])).status_code == 303


def test_manifest_schema_is_not_vacuous():
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"versions": ["0.1"], "name": "x", "identifierSpace": "a",
                             "schemaSpace": "b"}, MANIFEST)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"q0": {"result": [{"id": "x", "name": "y"}]}}, RESULT_BATCH)


@pytest.mark.parametrize("method", ["post", "get"])
def test_names_and_types(client, method):
    body = reconcile(client, {
        "q0": {"query": "Sulsel", "type": IKM + "Province"},
        "q1": {"query": "Jawa Timur", "type": "ikm:Province", "type_strict": "should"},
        "q2": {"query": "pengolahan kopi", "type": [IKM + "ProductCategory"]},
        "q3": {"query": "aloe vera", "type": IKM + "ProductCategory", "limit": 1},
        "q4": {"query": "Kemenperin", "type": ORG + "Organization"},
        "q5": {"query": "Kota Tegal", "type": IKM + "City"},
        "q6": {"query": "Kab. Tegal", "type": IKM + "Regency"},
        "q7": {"query": "Ceper", "type": IKM + "District"},
        "q8": {"query": "no such place anywhere"},
    }, method)
    assert top(body, "q0") == ("province/sulawesi-selatan", True)
    assert top(body, "q1") == ("province/jawa-timur", True)
    assert top(body, "q2") == ("product/pengolahan-kopi", True)
    assert top(body, "q3") == ("product/olahan-lidah-buaya", True)
    assert len(body["q3"]["result"]) == 1
    assert top(body, "q4") == ("organisation/kemenperin", True)
    assert top(body, "q5") == ("city/tegal", True)
    assert top(body, "q6") == ("regency/tegal", True)
    assert top(body, "q7") == ("district/ceper", True)
    assert body["q8"]["result"] == []
    candidate = body["q0"]["result"][0]
    assert {"id": IKM + "Province", "name": "Province"} in candidate["type"]


def test_ambiguous_names_do_not_match(client):
    """Kabupaten Tegal and Kota Tegal: without a type neither is a sure match."""
    body = reconcile(client, {"q": {"query": "Tegal"}})
    ids = [c["id"] for c in body["q"]["result"]]
    assert {"regency/tegal", "city/tegal"} <= set(ids[:2])
    assert not any(c["match"] for c in body["q"]["result"])


def test_property_constraints(client):
    body = reconcile(client, {
        "right": {"query": "Makassar", "properties": [
            {"pid": "ikm:parentArea", "v": "Sulawesi Selatan"}]},
        "abbreviated": {"query": "Makassar", "properties": [
            {"pid": IKM + "parentArea", "v": ["Sulsel"]}]},
        "by_id": {"query": "Makassar", "properties": [
            {"pid": "ikm:parentArea", "v": {"id": "province/sulawesi-selatan"}}]},
        "wrong": {"query": "Makassar", "properties": [
            {"pid": "ikm:parentArea", "v": "Jawa Timur"}]},
        "only_properties": {"type": IKM + "Province", "properties": [
            {"pid": "ikm:hasCode", "v": {"id": "code/bps-2023/73"}}]},
    })
    for key in ("right", "abbreviated", "by_id"):
        assert top(body, key) == ("city/makassar", True), key
    wrong = body["wrong"]["result"][0]
    assert wrong["id"] == "city/makassar" and wrong["match"] is False
    assert wrong["score"] < body["right"]["result"][0]["score"]
    assert {"id": f"property:{IKM}parentArea", "value": False} in wrong["features"]
    assert top(body, "only_properties")[0] == "province/sulawesi-selatan"


@pytest.mark.parametrize("queries,status", [
    ("not json", 400),
    ("[1, 2]", 400),
    ('{"q": "Jawa"}', 400),
    ('{"q": {"type": "ikm:Province"}}', 400),
    ('{"q": {"query": 5}}', 400),
    ('{"q": {"query": "Jawa", "limit": 0}}', 400),
    ('{"q": {"query": "Jawa", "type": "nope:Thing"}}', 400),
    ('{"q": {"query": "Jawa", "properties": [{"pid": "ikm:x> } DROP ALL #", "v": "a"}]}}', 400),
    (json.dumps({f"q{i}": {"query": "Jawa"} for i in range(101)}), 413),
    # issue 20: these were 500s with a traceback
    ('{"q": {"query": "Jawa", "limit": NaN}}', 400),
    ('{"q": {"query": "Jawa", "limit": Infinity}}', 400),
    ('{"q": {"query": "Jawa", "limit": -Infinity}}', 400),
    ('{"q": {"query": "Jawa", "limit": 1e400}}', 400),
    ('{"q": {"query": "Jawa", "limit": 2.5}}', 400),
    ('{"q": {"query": "Jawa", "x": ' + "[" * 10_000 + "]" * 10_000 + "}}", 400),
    ("[" * 10_000, 400),
    # issue 20: the work of one query is bounded
    (json.dumps({"q": {"query": "Jawa", "properties": [
        {"pid": "ikm:parentArea", "v": "x"}] * 11}}), 400),
    (json.dumps({"q": {"query": "Jawa", "properties": [
        {"pid": "ikm:parentArea", "v": ["x"] * 11}]}}), 400),
], ids=lambda value: value[:60] if isinstance(value, str) else str(value))
def test_malformed_batches(client, queries, status):
    response = client.post("/reconcile", data={"queries": queries})
    assert response.status_code == status
    assert "Traceback" not in response.get_data(as_text=True)


@pytest.mark.parametrize("cursor", ["\u00b2", "9" * 5000, "-1", "abc", "1.0", "10001"])
@pytest.mark.parametrize("kind", ["entity", "type", "property"])
def test_bad_cursor_is_a_clear_400(client, kind, cursor):
    response = client.get(f"/reconcile/suggest/{kind}",
                          query_string={"prefix": "ja", "cursor": cursor})
    assert response.status_code == 400
    assert "cursor must be an integer" in response.get_data(as_text=True)


def test_integral_limit_is_accepted(client):
    body = client.post("/reconcile", data={"queries": '{"q": {"query": "Jawa", "limit": 2.0}}'})
    assert body.status_code == 200 and len(body.get_json()["q"]["result"]) <= 2


def test_manifest_ignores_the_host_header(client):
    """The manifest is publicly cacheable: its URLs come from the configured base, never from
    the Host header a client sent (issue 20)."""
    response = client.get("/reconcile", headers={"Host": "evil.example"})
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "evil.example" not in text
    manifest = response.get_json()
    assert manifest["suggest"]["entity"]["service_url"] == BASE + "reconcile"
    assert manifest["preview"]["url"].startswith(BASE + "reconcile/preview")


def test_post_without_queries(client):
    assert client.post("/reconcile", data={}).status_code == 400


def test_suggest_entity(client):
    body = client.get("/reconcile/suggest/entity?prefix=jawa%20ti").get_json()
    jsonschema.validate(body, SUGGEST)
    assert body["result"][0]["id"] == "province/jawa-timur"
    page2 = client.get("/reconcile/suggest/entity?prefix=jawa&cursor=1").get_json()
    page1 = client.get("/reconcile/suggest/entity?prefix=jawa").get_json()
    assert page2["result"][0] == page1["result"][1]
    typed = client.get("/reconcile/suggest/entity",
                       query_string={"prefix": "tegal", "type": IKM + "City"}).get_json()
    assert [r["id"] for r in typed["result"]] == ["city/tegal"]
    assert client.get("/reconcile/suggest/entity?prefix=x&cursor=-1").status_code == 400


def test_suggest_type_and_property(client):
    types = client.get("/reconcile/suggest/type?prefix=kabupa").get_json()
    jsonschema.validate(types, SUGGEST)
    assert {"id": IKM + "Regency", "name": "Regency"} in types["result"]
    props = client.get("/reconcile/suggest/property?prefix=parent").get_json()
    jsonschema.validate(props, SUGGEST)
    assert IKM + "parentArea" in [p["id"] for p in props["result"]]


def test_preview(client):
    manifest = client.get("/reconcile").get_json()
    url = manifest["preview"]["url"].replace("{{id}}", "product%2Fpengolahan-kopi")
    assert url.startswith(BASE + "reconcile/preview?")  # the configured base, not the Host
    response = client.get(url.removeprefix(BASE.rstrip("/")))
    assert response.status_code == 200 and response.mimetype == "text/html"
    soup = BeautifulSoup(response.data, "html.parser")
    link = soup.find("a")
    assert link["href"] == "/doc/product/pengolahan-kopi" and link.get_text() == "coffee processing"
    assert client.get("/reconcile/preview?id=product/none").status_code == 404
