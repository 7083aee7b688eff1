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
import functools
import json
import threading
import time
from collections.abc import Iterable

from ikmkg.errors import PayloadTooLarge, QueryError, QueryTimeout
from ikmkg.namespaces import prefixes
from ikmkg.params import parse_int
from ikmkg.search import ORG, SearchIndex, fold, query_variants
from ikmkg.store import Store

API_VERSIONS = ["0.2"]
MAX_BATCH = 100
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
SUGGEST_PAGE = 10
#: Bounds on the work of one query (issue 20: candidates x properties x values was unbounded):
#: the property constraints and values one query may give, and the candidates (best by name
#: first) whose properties are checked, all at once, with one engine query per property.
MAX_PROPERTIES = 10
MAX_VALUES = 10
MAX_CANDIDATES = 100
#: Most (candidate, value) rows read for one property constraint.
MAX_VALUE_ROWS = 10_000
#: Most entries of a suggest result a cursor may skip.
MAX_CURSOR = 10_000


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

    def reconcile_batch(self, text: str, timeout: float | None = None) -> dict:
        """Answer a reconciliation query batch given as JSON text.

        Args:
            text: the batch, a JSON object of queries keyed by identifiers.
            timeout: seconds the whole batch may take (the SPARQL endpoint's time limit);
                None for no limit.

        Raises:
            QueryError: malformed JSON or query (400). PayloadTooLarge: too many queries.
            QueryTimeout: the batch ran past `timeout` (work stops there).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        batch = _read_json(text)
        if not isinstance(batch, dict):
            raise QueryError("queries must be a JSON object of queries keyed by identifiers")
        if len(batch) > MAX_BATCH:
            raise PayloadTooLarge(f"at most {MAX_BATCH} queries per batch")
        return {key: {"result": self.reconcile(query, key, deadline)}
                for key, query in batch.items()}

    def reconcile(self, query: object, key: str = "",
                  deadline: float | None = None) -> list[dict]:
        """Candidates for one reconciliation query (a dict as in the protocol); `deadline` is
        a `time.monotonic()` after which no more work starts (QueryTimeout)."""
        if not isinstance(query, dict):
            raise QueryError(f"query {key!r} is not an object")
        text = query.get("query")
        constraints = query.get("properties") or []
        if text is not None and not isinstance(text, str):
            raise QueryError(f"query {key!r}: 'query' must be a string")
        if not isinstance(constraints, list) or not all(
                isinstance(c, dict) and "pid" in c and "v" in c for c in constraints):
            raise QueryError(f"query {key!r}: 'properties' must be a list of {{pid, v}} objects")
        if len(constraints) > MAX_PROPERTIES:
            raise QueryError(f"query {key!r}: at most {MAX_PROPERTIES} properties per query")
        if not (text or "").strip() and not constraints:
            raise QueryError(f"query {key!r} needs 'query' or 'properties'")
        types = query.get("type") or []
        types = [types] if isinstance(types, str) else types
        if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
            raise QueryError(f"query {key!r}: 'type' must be a string or a list of strings")
        types = [self.expand(t) for t in types]
        limit = min(parse_int(query.get("limit", DEFAULT_LIMIT), f"query {key!r}: 'limit'",
                              minimum=1), MAX_LIMIT)
        pairs = [(self.expand(str(c["pid"])), c["v"] if isinstance(c["v"], list) else [c["v"]])
                 for c in constraints]
        if any(len(values) > MAX_VALUES for _, values in pairs):
            raise QueryError(f"query {key!r}: at most {MAX_VALUES} values per property")

        _check_deadline(deadline)
        scored = self._name_candidates(text or "", types)
        if not (text or "").strip():
            scored = self._all_of_types(types)
        if pairs:
            scored = sorted(scored, key=lambda c: (-c[1], c[0]))[:MAX_CANDIDATES]
        found = {pid: self.values_of([iri for iri, _, _ in scored], pid, deadline)
                 for pid, _ in pairs}
        results = []
        for iri, name_score, exact in scored:
            checks = [self._property_holds(found[pid].get(iri, []), values)
                      for pid, values in pairs]
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

    def values_of(self, iris: list[str], pid: str,
                  deadline: float | None = None) -> dict[str, list[tuple[str, list[str]]]]:
        """For each of `iris`, (value, texts to compare) of `pid` on it, in one engine query;
        `ikm:parentArea` also follows the territorial assignments whose subdivision it is.

        Raises:
            QueryTimeout: `deadline` passed before or during the query.
        """
        if not iris:
            return {}
        pid = _check(pid)
        subjects = " ".join(f"<{_check(iri)}>" for iri in iris)
        query = (f"SELECT DISTINCT ?s ?o WHERE {{ VALUES ?s {{ {subjects} }} "
                 f"{{ ?s <{pid}> ?o }} UNION "
                 f"{{ ?a <{ikm(self.base, 'subdivision')}> ?s ; <{pid}> ?o . "
                 f"FILTER(<{pid}> = <{ikm(self.base, 'parentArea')}>) }} }} "
                 f"LIMIT {MAX_VALUE_ROWS}")
        timeout = None
        if deadline is not None:
            _check_deadline(deadline)
            timeout = deadline - time.monotonic()
        body = self.store.query(query, result_format="srj", timeout=timeout).read()
        out: dict[str, list[tuple[str, list[str]]]] = {}
        for row in json.loads(body)["results"]["bindings"]:
            value = row["o"]["value"]
            texts = [value]
            entry = self.index.entries.get(value)
            if entry is not None:
                texts += [text for text, _, _ in entry.labels]
            out.setdefault(row["s"]["value"], []).append((value, texts))
        return out

    def _property_holds(self, values: list[tuple[str, list[str]]],
                        wanted: Iterable[object]) -> bool:
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

    @functools.cached_property
    def used_properties(self) -> list[str]:
        """The properties of the data graph, asked once per service (a scan of the whole data
        graph; a service lives as long as its store version's search index)."""
        return [str(r["p"]) for r in self.store.select(
            f"SELECT DISTINCT ?p WHERE {{ GRAPH <{self.base}graph/data> {{ ?s ?p ?o }} }} "
            "ORDER BY ?p")]

    def suggest_properties(self, prefix: str, cursor: int = 0, lang: str = "en") -> dict:
        return {"result": _by_prefix(self.used_properties, prefix, cursor,
                                     lambda i: self.name(i, lang), self.index)}

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


def _read_json(text: str) -> object:
    """The JSON value of `text`; QueryError (400) when it is not JSON or nests too deep for the
    parser (which recurses once per level)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise QueryError("queries nests too deep") from None
    except ValueError as exc:
        raise QueryError(f"queries is not JSON: {exc}") from None


def _check_deadline(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() >= deadline:
        raise QueryTimeout("the reconciliation batch ran longer than the time limit and was "
                           "stopped; send fewer queries, properties or values at once")


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
