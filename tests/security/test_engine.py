"""Attacks on the shared query engine (issue 20, items 2, 3, 5, 6, 13 and the engine part of 11).

Each runs against the real `ikmkg serve` with a canary client asking meanwhile, is bounded in
time and traffic, and is followed by a check that the server serves normally. The server's
engine may allocate 512 MiB beyond its store here (engine_memory), so that the memory attack
stays small on a shared machine.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import requests
from backends import running_ikmkg
from conftest import SPARQL_PROJECT

from security.attack import Canary, assert_serves, engine_pid

ENGINE_MEMORY = 512
SRJ = "application/sparql-results+json"
#: ~1 s on the engine over the test project, then answered.
SLOW = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f "
        "FILTER(STRLEN(STR(?c)) > STRLEN(STR(?f))) }")
#: Strings of 16 MiB, 100 of them concatenated: 1.6 GiB if nothing stops it.
DOUBLING = ("SELECT (STRLEN(GROUP_CONCAT(?x20)) AS ?n) WHERE { { SELECT ?s WHERE { ?s ?p ?o } "
            'LIMIT 100 } BIND("0123456789abcdef" AS ?x0) '
            + " ".join(f"BIND(CONCAT(?x{i},?x{i}) AS ?x{i + 1})" for i in range(20)) + " }")
#: A 64 KiB string on every row: 64 MB as SPARQL JSON (before issue 20 it was all sent).
WIDE = ('SELECT ?s ?x WHERE { ?s ?p ?o BIND("0123456789abcdef" AS ?x0) '
        + " ".join(f"BIND(CONCAT(?x{i},?x{i}) AS ?x{i + 1})" for i in range(12))
        + " BIND(?x12 AS ?x) }")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_ikmkg(SPARQL_PROJECT, tmp_path_factory.mktemp("cache"),
                       IKMKG_ENGINE_MEMORY=str(ENGINE_MEMORY)) as (url, _):
        yield url


def _post(url: str, query: str, client: str, timeout: float = 30, **params) -> requests.Response:
    return requests.post(url + "/sparql", data=query.encode(), params=params, timeout=timeout,
                         headers={"Content-Type": "application/sparql-query", "Accept": SRJ,
                                  "X-Forwarded-For": client})


DEEP = {
    "3,000 braces": "SELECT * " + "{" * 3000 + "}" * 3000,
    "5,000 parentheses": "SELECT * WHERE { FILTER(" + "(" * 5000 + "1" + ")" * 5000 + ") }",
    "2,000 FILTER NOT EXISTS": ("SELECT * WHERE { " + "FILTER NOT EXISTS { " * 2000
                                + "}" * 2000 + " }"),
    "10,000 negations": "SELECT * WHERE { FILTER(" + "!" * 10000 + "true) }",
}


def test_deep_queries_in_a_loop_are_refused_and_kill_nothing(server):
    """Each of these killed the shared engine (and every query in flight): now a 400, and the
    engine that serves is the one that served before."""
    before = engine_pid(server)
    statuses = []
    with Canary(server) as canary:
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            for query in DEEP.values():
                statuses.append(_post(server, query, "203.0.113.2", timeout=10).status_code)
    canary.check()
    assert set(statuses) == {400}, statuses
    assert engine_pid(server) == before
    assert_serves(server)


def test_an_engine_crash_fails_no_query_in_flight(server):
    """The engine dies (SIGSEGV, as on a stack overflow) while a legitimate query runs on it:
    that query is retried alone and answered (before: 503 or 500), later ones wait for the
    successor; the canary is answered in time."""
    expected = _post(server, SLOW, "203.0.113.3").json()["results"]["bindings"]
    with Canary(server) as canary:
        for _ in range(2):
            answers: list[requests.Response] = []
            thread = threading.Thread(target=lambda: answers.append(
                _post(server, SLOW, "203.0.113.3")))
            thread.start()
            time.sleep(0.4)
            os.kill(engine_pid(server), signal.SIGSEGV)
            thread.join(30)
            assert answers[0].status_code == 200, answers[0].text[:300]
            assert answers[0].json()["results"]["bindings"] == expected
            time.sleep(1.0)
    canary.check()
    assert_serves(server)


def test_a_memory_bomb_fails_alone_with_507(server):
    """A 700-byte string-doubling query: stopped at the memory cap with a clear 507 (before:
    it grew the engine to 2.4 GB until its time limit, and ran on ~6 s after its 503)."""
    with Canary(server) as canary:
        started = time.monotonic()
        response = _post(server, DOUBLING, "203.0.113.4")
        took = time.monotonic() - started
    canary.check()
    assert response.status_code == 507, response.text[:300]
    assert "memory" in response.text and took < 5.0
    assert_serves(server)


def test_microsecond_timeouts_do_not_restart_the_engine(server):
    """?timeout=0.000001 on a cheap query: raised to the floor, answered, no engine restart
    (before: a 503 and a new engine process for every request)."""
    before = engine_pid(server)
    with Canary(server) as canary:
        statuses = [requests.get(server + "/sparql", timeout=10, headers={
            "Accept": SRJ, "X-Forwarded-For": "203.0.113.5"}, params={
            "query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
            "timeout": "0.000001"}).status_code for _ in range(40)]
    canary.check()
    assert set(statuses) == {200}
    assert engine_pid(server) == before
    assert_serves(server)


def test_overruns_are_charged_to_the_client(server):
    """One client sending runaways gets 429 once it has cost two engine restarts per server
    process, so it restarts the engine at most 4 times here (2 workers), not once a query."""
    runaway = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    pids = {engine_pid(server)}
    statuses = []
    with Canary(server) as canary:
        for _ in range(8):
            statuses.append(requests.get(server + "/sparql", timeout=20, params={
                "query": runaway, "timeout": "1"}, headers={
                "Accept": SRJ, "X-Forwarded-For": "203.0.113.6"}).status_code)
            pids.add(engine_pid(server))
    canary.check()
    assert statuses.count(503) <= 4 and statuses.count(429) >= 4, statuses
    assert len(pids) <= 5
    assert_serves(server)


def test_answers_are_capped_by_size(server):
    """64 KiB on each of 1,000 rows: the download is cut at max_result_bytes (16 MB) with the
    capped signal, the HTML page at ~1 MB of results (before: 66 MB each, no signal)."""
    with Canary(server) as canary:
        download = requests.get(server + "/sparql", params={"query": WIDE, "format": "srj"},
                                headers={"X-Forwarded-For": "203.0.113.7"}, timeout=30)
        page = requests.get(server + "/sparql", params={"query": WIDE},
                            headers={"Accept": "text/html", "X-Forwarded-For": "203.0.113.7"},
                            timeout=30)
    canary.check()
    assert download.status_code == 200 and len(download.content) <= 16_100_000
    assert download.headers["X-Result-Capped"] == "max-bytes=16000000"
    body = download.json()
    assert body["capped"]["max_bytes"] == 16_000_000 and body["results"]["bindings"]
    assert page.status_code == 200 and len(page.content) < 4_000_000
    assert "capped at" in page.text
    assert_serves(server)


def test_readyz_asks_the_engine(server):
    """A frozen engine (SIGSTOP): /readyz says 503 within its 2 s deadline (before: 'ready');
    once it runs again, ready."""
    assert requests.get(server + "/readyz", timeout=10).status_code == 200
    pid = engine_pid(server)
    os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        response = requests.get(server + "/readyz", timeout=10)
        assert response.status_code == 503 and time.monotonic() - started < 4.0
    finally:
        os.kill(pid, signal.SIGCONT)
    assert requests.get(server + "/readyz", timeout=10).status_code == 200
    assert_serves(server)
