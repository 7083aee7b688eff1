"""Caches stay bounded under a flood of distinct keys (issue #20, item 7).

A client can choose the key of a cache entry: the path of a missing document (up to the 8 KB
request line) or the `Accept` header (up to a few hundred KB). Before the fix, 18,000 missing
8 KB `/doc/` paths took the server from 235 MB to 1.09 GB and distinct large `Accept` headers
added about 210 MB a worker. Each attack here is bounded in requests and time, runs with the
canary, and measures the growth of the workers' resident memory (from /proc).
"""

from __future__ import annotations

import concurrent.futures
import os
import secrets
import threading
import time
from pathlib import Path

import pytest
import requests
from backends import running_ikmkg
from conftest import SPARQL_PROJECT

from security.attack import Canary, assert_serves

pytestmark = [pytest.mark.server, pytest.mark.slow]

#: Requests of each flood, the clients sending them, and the most seconds a flood may take.
MISSING_PATHS = 2000
LARGE_ACCEPTS = 400
CLIENTS = 6
FLOOD_SECONDS = 120
#: Length of a missing path: the request line stays under the 8,190 bytes the server accepts.
PATH_CHARS = 7900
#: Length of an Accept header (the server takes headers of a few hundred KB).
ACCEPT_CHARS = 200_000
#: Most the workers' resident memory may grow, together, during one flood, in MB. Unbounded
#: caches grew by 113 MB (paths) and 88 MB (Accept headers) on these floods (one run).
MAX_GROWTH_MB = 40


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(URL, process) of the real server: the process, to find its workers in /proc."""
    with running_ikmkg(SPARQL_PROJECT, tmp_path_factory.mktemp("cache")) as served:
        yield served


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry))
    return children


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def workers(pid: int) -> list[int]:
    """The server's worker processes: its descendants that run `ikmkg serve` too."""
    tree, found, todo = _children(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            todo.append(child)
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            if b"serve" in cmdline:
                found.append(child)
    return found


def workers_rss_mb(pid: int) -> float:
    return sum(_rss_mb(worker) for worker in workers(pid))


def flood(count: int, request) -> dict[int, int]:  # noqa: ANN001 - (session, n) -> status
    """Send `count` requests from CLIENTS clients; statuses counted. Stops at FLOOD_SECONDS."""
    local = threading.local()
    deadline = time.monotonic() + FLOOD_SECONDS

    def one(n: int) -> int:
        if time.monotonic() > deadline:
            return -1
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return request(local.session, n)

    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        statuses = list(pool.map(one, range(count)))
    return {status: statuses.count(status) for status in set(statuses)}


def _warm(url: str) -> None:
    """Fill what a normal client fills once (pages, the query's caches), so it is not counted."""
    for path in ("/", "/doc/province/jawa-timur", "/sparql?query=ASK%7B%7D", "/doc/nothing"):
        for _ in range(4):
            requests.get(url + path, timeout=10)


def test_missing_paths_do_not_grow_the_server(served):
    url, process = served
    _warm(url)
    assert len(workers(process.pid)) >= 2, "the server's workers were not found in /proc"
    before = workers_rss_mb(process.pid)

    def missing(session: requests.Session, n: int) -> int:
        path = f"/doc/province/{n}-" + secrets.token_hex(PATH_CHARS // 2)[:PATH_CHARS]
        return session.get(url + path, headers={"Accept": "text/turtle"}, timeout=30).status_code

    with Canary(url) as canary:
        statuses = flood(MISSING_PATHS, missing)
    growth = workers_rss_mb(process.pid) - before
    print(f"\n{MISSING_PATHS} missing {PATH_CHARS}-char paths: workers grew by {growth:.0f} MB")
    assert statuses == {404: MISSING_PATHS}, statuses
    assert growth < MAX_GROWTH_MB, f"the workers grew by {growth:.0f} MB"
    canary.check()
    assert_serves(url)


def test_large_accept_headers_do_not_grow_the_server(served):
    url, process = served
    _warm(url)
    before = workers_rss_mb(process.pid)

    def large_accept(session: requests.Session, n: int) -> int:
        accept = (f"application/sparql-results+json, x/{n}"
                  + secrets.token_hex(ACCEPT_CHARS // 2)[:ACCEPT_CHARS])
        return session.get(url + "/sparql", params={"query": "ASK {}"}, timeout=30,
                           headers={"Accept": accept}).status_code

    with Canary(url) as canary:
        statuses = flood(LARGE_ACCEPTS, large_accept)
    growth = workers_rss_mb(process.pid) - before
    print(f"\n{LARGE_ACCEPTS} distinct {ACCEPT_CHARS}-char Accept headers: workers grew by "
          f"{growth:.0f} MB")
    assert -1 not in statuses, f"the flood did not end within {FLOOD_SECONDS} s: {statuses}"
    assert set(statuses) <= {200, 429} and statuses.get(200, 0) > LARGE_ACCEPTS // 2, statuses
    assert growth < MAX_GROWTH_MB, f"the workers grew by {growth:.0f} MB"
    canary.check()
    assert_serves(url)
