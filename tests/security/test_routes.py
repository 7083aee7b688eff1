"""Attacks on the routes beside /sparql (issue 20, items 4, 10, 11 and 14), on the real server.

Reconciliation batches whose work multiplies (candidates x properties x values) and floods of
the Triple Pattern Fragments root need a graph large enough to make them expensive: a synthetic
project of about 60,000 triples (bench/generate.py) on which one such batch took seconds of
engine time before reconciliation was bounded. Each attack is bounded in requests and time and
runs beside the canary; the server must serve normally afterwards.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from backends import running_ikmkg

from bench.generate import generate
from security.attack import Canary, assert_serves

#: Synthetic triples: enough that one 3.5 KB batch costs seconds on unbounded reconciliation.
TRIPLES = 60_000
#: Concurrent attackers, and requests each sends.
ATTACKERS, ROUNDS = 16, 2


@pytest.fixture(scope="module")
def big_server(tmp_path_factory):
    """The real server over a synthetic project of TRIPLES triples."""
    project = generate(tmp_path_factory.mktemp("synthetic"), TRIPLES)
    with running_ikmkg(project, tmp_path_factory.mktemp("cache"), seconds=120) as (url, _):
        yield url


def reconcile_batch() -> str:
    """A 3.5 KB batch: 8 queries matching hundreds of regencies by name, each with 10 property
    constraints (every candidate's properties were one engine query each)."""
    properties = [{"pid": "ikm:parentArea", "v": f"p{i}"} for i in range(10)]
    batch = {f"q{n}": {"query": "Sintetis", "type": "ikm:Regency", "properties": properties}
             for n in range(8)}
    return json.dumps(batch, separators=(",", ":"))


def _flood(send) -> list[int]:
    """ATTACKERS clients, each sending ROUNDS requests back to back; their statuses."""
    def attacker(_: int) -> list[int]:
        statuses = []
        with requests.Session() as session:
            for _round in range(ROUNDS):
                try:
                    statuses.append(send(session).status_code)
                except requests.RequestException:
                    statuses.append(0)
        return statuses

    with ThreadPoolExecutor(ATTACKERS) as pool:
        return [s for statuses in pool.map(attacker, range(ATTACKERS)) for s in statuses]


def test_reconcile_flood(big_server):
    """16 clients sending 3.5 KB reconciliation batches: each batch is bounded work under the
    SPARQL time limit, and a client's extra batches are refused by admission (429)."""
    batch = reconcile_batch()
    assert 3000 < len(batch) < 4000
    started = time.monotonic()
    with Canary(big_server) as canary:
        statuses = _flood(lambda session: session.post(
            big_server + "/reconcile", data={"queries": batch}, timeout=30))
    elapsed = time.monotonic() - started
    canary.check()
    assert set(statuses) <= {200, 429, 503}, statuses
    assert 200 in statuses, statuses
    assert elapsed < 30
    assert_serves(big_server)


def test_fragment_root_flood(big_server):
    """16 clients asking the fragment root and its first pages (the root counted and sorted
    every triple of the graph on each request): pages are remembered per data version and
    evaluated under admission."""
    started = time.monotonic()
    with Canary(big_server) as canary:
        pages = iter(range(10_000))
        statuses = _flood(lambda session: session.get(
            big_server + "/fragments", params={"page": next(pages) % 4 + 1},
            headers={"Accept": "application/trig"}, timeout=30))
    elapsed = time.monotonic() - started
    canary.check()
    assert set(statuses) <= {200, 429}, statuses
    assert 200 in statuses, statuses
    assert elapsed < 30
    assert_serves(big_server)


@pytest.mark.parametrize("path,params", [
    ("/search", {"q": "kopi", "page": "\u00b2"}),
    ("/search", {"q": "kopi", "page": "9" * 5000}),
    ("/fragments", {"page": "\u00b2"}),
    ("/fragments", {"page": "9" * 5000}),
    ("/list/province", {"page": "\u00b2"}),
    ("/list/province", {"page": "9" * 5000}),
    ("/reconcile/suggest/entity", {"prefix": "ja", "cursor": "\u00b2"}),
    ("/reconcile/suggest/entity", {"prefix": "ja", "cursor": "9" * 5000}),
    ("/reconcile", {"queries": '{"q": {"query": "Jawa", "limit": NaN}}'}),
    ("/reconcile", {"queries": '{"q": {"query": "Jawa", "limit": Infinity}}'}),
    ("/reconcile", {"queries": "[" * 10_000}),
])
def test_malformed_parameters_are_a_clear_400(server, path, params):
    """Each of these was a 500 with a traceback in the log (issue 20)."""
    if path == "/reconcile":  # a batch is POSTed (a 10,000-deep one is too long for a URL)
        response = requests.post(server + path, data=params, timeout=10)
    else:
        response = requests.get(server + path, params=params, timeout=10)
    assert response.status_code == 400, (response.status_code, response.text[:300])
    assert "Traceback" not in response.text and response.text.strip()


@pytest.mark.parametrize("path,accept", [
    ("/reconcile", "application/json"),
    ("/fragments", "application/trig"),
    ("/sparql", "text/turtle"),
])
def test_host_header_is_not_reflected(server, path, accept):
    """Publicly cacheable bodies are built from the configured base URI: a forged Host must not
    reach them (a shared cache would hand it to everyone)."""
    response = requests.get(server + path, timeout=10,
                            headers={"Accept": accept, "Host": "evil.example"})
    assert response.status_code == 200
    assert "evil.example" not in response.text
    assert "https://w3id.org/ikmkg/" in response.text
