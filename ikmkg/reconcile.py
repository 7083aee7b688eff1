"""Entity reconciliation (the W3C Entity Reconciliation CG protocol, version 0.2, as OpenRefine
speaks it): match a spreadsheet column of names to the graph's IRIs.

No Flask here: `ikmkg.web.reconcile` parses HTTP and calls `manifest`, `reconcile_batch`,
`suggest_entities`, `suggest_types`, `suggest_properties` and `preview`.

Entity identifiers are the IRIs' paths under `{base}id/` (`province/jawa-timur`), so the
manifest's view template `{base}id/{{id}}` gives the IRI; a full IRI is accepted as input too.
Types and properties are identified by their full IRIs (a CURIE with a prefix of the graph,
`ikm:Province`, is accepted). Candidates come from the search index (`ikmkg.search`); the score
(0-100) is the search score scaled, lowered when a property constraint does not hold. `match`
is true only for the one candidate whose label (or alternative label) equals the query, of the
asked type, with every property constraint holding.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterable

from ikmkg.errors import PayloadTooLarge, QueryError
from ikmkg.namespaces import prefixes
from ikmkg.search import ORG, SearchIndex, fold, query_variants
from ikmkg.store import Store

API_VERSIONS = ["0.2"]
MAX_BATCH = 100
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
SUGGEST_PAGE = 10


def ikm(base_uri: str, name: str) -> str:
    return f"{base_uri}ontology#{name}"


def offered_types(base_uri: str) -> list[str]:
    """The types a reconciliation query may name, in the manifest's order."""
    return [ikm(base_uri, n) for n in ("Province", "Regency", "City", "District",
                                       "ProductCategory")] + [ORG + "Organization"]


@dataclasses.dataclass
class Service:
    """The reconciliation service over one store and its search index."""

    store: Store
    index: SearchIndex

    @property
    def base(self) -> str:
        return self.store.base_uri

    # -- identifiers ---------------------------------------------------------------------------

    def entity_id(self, iri: str) -> str:
        return iri.removeprefix(self.base + "id/")

    def entity_iri(self, identifier: str) -> str:
        identifier = identifier.strip()
        if identifier.startswith(("http://", "https://")):
            return identifier
        return self.base + "id/" + identifier.lstrip("/")

    def expand(self, name: str) -> str:
        """A full IRI from a full IRI or a CURIE of the graph's prefixes."""
        name = name.strip()
        if name.startswith(("http://", "https://")):
            return name
        prefix, colon, local = name.partition(":")
        known = prefixes(self.base)
        if colon and prefix in known:
            return known[prefix] + local
        raise QueryError(f"unknown type or property identifier: {name!r} (give a full IRI or "
                         f"a CURIE with one of the prefixes {', '.join(sorted(known))})")

    def name(self, iri: str, lang: str = "en") -> str:
        entry = self.index.entries.get(iri)
        if entry is not None and entry.labels:
            return entry.label(lang)
        return iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]

    def type_ref(self, iri: str, lang: str = "en") -> dict:
        return {"id": iri, "name": self.name(iri, lang)}

    # -- manifest ------------------------------------------------------------------------------

    def manifest(self, service_url: str) -> dict:
        """The service manifest; `service_url` is the absolute URL of the endpoint."""
        suggest = {kind: {"service_url": service_url, "service_path": f"/suggest/{kind}"}
                   for kind in ("entity", "type", "property")}
        return {
            "versions": API_VERSIONS,
            "name": "ikmkg: IKM development knowledge graph",
            "identifierSpace": self.base + "id/",
            "schemaSpace": self.base + "ontology#",
            "documentation": service_url.rsplit("/", 1)[0] + "/",
            "defaultTypes": [self.type_ref(t) for t in offered_types(self.base)],
            "view": {"url": self.base + "id/{{id}}"},
            "preview": {"url": service_url + "/preview?id={{id}}", "width": 400,
                        "height": 160},
            "suggest": suggest,
            "batchSize": MAX_BATCH,
        }

    # -- reconciliation queries ----------------------------------------------------------------

    def reconcile_batch(self, text: str) -> dict:
        """Answer a reconciliation query batch given as JSON text (400 if malformed)."""
        try:
            batch = json.loads(text)
        except ValueError as exc:
            raise QueryError(f"queries is not JSON: {exc}") from None
        if not isinstance(batch, dict):
            raise QueryError("queries must be a JSON object of queries keyed by identifiers")
        if len(batch) > MAX_BATCH:
            raise PayloadTooLarge(f"at most {MAX_BATCH} queries per batch")
        return {key: {"result": self.reconcile(query, key)} for key, query in batch.items()}

    def reconcile(self, query: object, key: str = "") -> list[dict]:
        """Candidates for one reconciliation query (a dict as in the protocol)."""
        if not isinstance(query, dict):
            raise QueryError(f"query {key!r} is not an object")
        text = query.get("query")
        constraints = query.get("properties") or []
        if text is not None and not isinstance(text, str):
            raise QueryError(f"query {key!r}: 'query' must be a string")
        if not isinstance(constraints, list) or not all(
                isinstance(c, dict) and "pid" in c and "v" in c for c in constraints):
            raise QueryError(f"query {key!r}: 'properties' must be a list of {{pid, v}} objects")
        if not (text or "").strip() and not constraints:
            raise QueryError(f"query {key!r} needs 'query' or 'properties'")
        types = query.get("type") or []
        types = [types] if isinstance(types, str) else types
        if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
            raise QueryError(f"query {key!r}: 'type' must be a string or a list of strings")
        types = [self.expand(t) for t in types]
        limit = query.get("limit", DEFAULT_LIMIT)
        if not isinstance(limit, (int, float)) or isinstance(limit, bool) or limit < 1:
            raise QueryError(f"query {key!r}: 'limit' must be a positive number")
        limit = min(int(limit), MAX_LIMIT)
        pairs = [(self.expand(str(c["pid"])), c["v"] if isinstance(c["v"], list) else [c["v"]])
                 for c in constraints]

        scored = self._name_candidates(text or "", types)
        if not (text or "").strip():
            scored = self._all_of_types(types)
        results = []
        for iri, name_score, exact in scored:
            checks = [self._property_holds(iri, pid, values) for pid, values in pairs]
            held = sum(checks)
            score = name_score if not pairs else 0.7 * name_score + 30 * held / len(pairs)
            entry = self.index.entries[iri]
            results.append({
                "id": self.entity_id(iri), "name": entry.label("id"),
                "description": self._description(iri),
                "type": [self.type_ref(t) for t in sorted(entry.types)],
                "score": round(score, 2),
                "features": [{"id": "name_exact", "value": exact},
                             {"id": "name_score", "value": round(name_score, 2)}]
                            + [{"id": f"property:{pid}", "value": ok}
                               for (pid, _), ok in zip(pairs, checks)],
                "match": False, "_exact": exact and held == len(pairs),
            })
        results.sort(key=lambda r: (-r["score"], r["name"].casefold(), r["id"]))
        exact = [r for r in results if r["_exact"]]
        if len(exact) == 1 and (text or "").strip():
            exact[0]["match"] = True
        for r in results:
            del r["_exact"]
        return results[:limit]

    def _is_entity(self, iri: str, types: list[str]) -> bool:
        entry = self.index.entries.get(iri)
        if entry is None or not iri.startswith(self.base + "id/"):
            return False
        return not types or bool(entry.all_types & set(types))

    def _name_candidates(self, text: str, types: list[str]) -> list[tuple[str, float, bool]]:
        if not text.strip():
            return []
        types = types or offered_types(self.base)
        direct = self.entity_iri(text) if "/" in text else None
        out: dict[str, tuple[str, float, bool]] = {}
        if direct and self._is_entity(direct, types):
            out[direct] = (direct, 100.0, True)
        wanted = {core_name(v) for v in query_variants(text)} - {""}
        for variant in dict.fromkeys([text, *wanted]):
            for hit in self.index.search(variant, types=types, limit=MAX_LIMIT * 2).hits:
                iri = hit.entry.iri
                if not self._is_entity(iri, types):
                    continue
                weight = max((w for label, w in hit.entry.folded_labels
                              if core_name(label) in wanted), default=0.0)
                exact = weight >= 0.9
                score = 100.0 * weight if exact else min(95.0, hit.score * 0.8)
                if iri not in out or score > out[iri][1]:
                    out[iri] = (iri, score, exact)
        return list(out.values())

    def _all_of_types(self, types: list[str]) -> list[tuple[str, float, bool]]:
        return [(iri, 0.0, False) for iri in self.index.entries if self._is_entity(iri, types)
                and types]

    def _description(self, iri: str) -> str:
        entry = self.index.entries[iri]
        types = ", ".join(self.name(t) for t in sorted(entry.types))
        other = entry.label("en")
        parts = [p for p in (other if other != entry.label("id") else "", types) if p]
        return " · ".join(parts)

    # -- property constraints ------------------------------------------------------------------

    def property_values(self, iri: str, pid: str) -> list[tuple[str, list[str]]]:
        """(value, texts to compare) of `pid` on `iri`; `ikm:parentArea` also follows the
        territorial assignments whose subdivision `iri` is."""
        iri, pid = _check(iri), _check(pid)
        rows = self.store.select(
            f"SELECT DISTINCT ?o WHERE {{ {{ <{iri}> <{pid}> ?o }} UNION "
            f"{{ ?a <{ikm(self.base, 'subdivision')}> <{iri}> ; <{pid}> ?o . "
            f"FILTER(<{pid}> = <{ikm(self.base, 'parentArea')}>) }} }} LIMIT 1000")
        out = []
        for row in rows:
            value = row["o"]
            texts = [str(value)]
            entry = self.index.entries.get(str(value))
            if entry is not None:
                texts += [text for text, _, _ in entry.labels]
            out.append((str(value), texts))
        return out

    def _property_holds(self, iri: str, pid: str, wanted: Iterable[object]) -> bool:
        values = self.property_values(iri, pid)
        for want in wanted:
            if isinstance(want, dict):
                target = self.entity_iri(str(want.get("id", "")))
                if any(value == target for value, _ in values):
                    return True
                continue
            if isinstance(want, bool):
                want = "true" if want else "false"
            variants = set(query_variants(str(want)))
            if any(fold(text) in variants for _, texts in values for text in texts):
                return True
        return False

    # -- suggest and preview -------------------------------------------------------------------

    def suggest_entities(self, prefix: str, cursor: int = 0, types: list[str] | None = None,
                         lang: str = "en") -> dict:
        types = [self.expand(t) for t in types or []]
        results = self.index.search(prefix, types=types, limit=10_000)
        hits = [h for h in results.hits if h.entry.iri.startswith(self.base + "id/")]
        return {"result": [{
            "id": self.entity_id(h.entry.iri), "name": h.entry.label(lang),
            "description": self._description(h.entry.iri),
            "notable": [self.type_ref(t, lang) for t in sorted(h.entry.types)],
        } for h in hits[cursor:cursor + SUGGEST_PAGE]]}

    def suggest_types(self, prefix: str, cursor: int = 0, lang: str = "en") -> dict:
        used = {t for e in self.index.entries.values()
                if e.iri.startswith(self.base + "id/") for t in e.types}
        candidates = list(dict.fromkeys([*offered_types(self.base), *sorted(used)]))
        return {"result": _by_prefix(candidates, prefix, cursor, lambda i: self.name(i, lang),
                                     self.index)}

    def suggest_properties(self, prefix: str, cursor: int = 0, lang: str = "en") -> dict:
        used = [str(r["p"]) for r in self.store.select(
            f"SELECT DISTINCT ?p WHERE {{ GRAPH <{self.base}graph/data> {{ ?s ?p ?o }} }} "
            "ORDER BY ?p")]
        return {"result": _by_prefix(used, prefix, cursor, lambda i: self.name(i, lang),
                                     self.index)}

    def preview(self, identifier: str, lang: str = "en") -> dict | None:
        """What the preview page shows, or None when the entity is unknown."""
        iri = self.entity_iri(identifier)
        entry = self.index.entries.get(iri)
        if entry is None:
            return None
        return {"iri": iri, "id": self.entity_id(iri), "name": entry.label(lang),
                "other_names": sorted({t for t, _, _ in entry.labels} - {entry.label(lang)}),
                "description": entry.description(lang),
                "types": [self.name(t, lang) for t in sorted(entry.types)]}


def _by_prefix(iris: list[str], prefix: str, cursor: int, name, index: SearchIndex) -> list[dict]:
    wanted = fold(prefix)
    out = []
    for iri in iris:
        label = name(iri)
        local = iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]
        entry = index.entries.get(iri)
        texts = [label, local, iri, *(t for t, _, _ in (entry.labels if entry else []))]
        if not wanted or any(fold(text).startswith(wanted) or f" {wanted}" in fold(text)
                             for text in texts):
            out.append({"id": iri, "name": label})
    return out[cursor:cursor + SUGGEST_PAGE]


#: Words naming the kind of an administrative area, left out when names are compared
#: ("Kab. Tegal", "Kabupaten Tegal", "Tegal Regency" and "Tegal" share the core "tegal").
KIND_WORDS = frozenset({
    "provinsi", "prov", "kabupaten", "kab", "kota", "kecamatan", "kec", "desa", "kelurahan",
    "province", "regency", "city", "district", "village",
})


def core_name(text: str) -> str:
    """The folded name without kind words (the whole folded name if nothing else is left)."""
    words = fold(text).split()
    core = [w for w in words if w not in KIND_WORDS]
    return " ".join(core or words)


def _check(iri: str) -> str:
    if any(c in iri for c in '<>"{}|^`\\ \n'):
        raise QueryError(f"not an IRI: {iri!r}")
    return iri


_services: dict[tuple[int, str], Service] = {}
_lock = threading.Lock()


def service_for(store: Store) -> Service:
    """The service over `store`'s current search index."""
    from ikmkg.search import index_for

    index = index_for(store)
    key = (id(store), store.base_uri)
    with _lock:
        service = _services.get(key)
        if service is None or service.index is not index:
            _services.pop(key, None)
            service = _services[key] = Service(store, index)
            while len(_services) > 8:
                _services.pop(next(iter(_services)))
    return service
