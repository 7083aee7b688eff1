"""A real nginx in front of a real `ikmkg serve`, with deploy/nginx/ikmkg.conf (issue #19).

nginx caches what ikmkg marks cacheable (repeats never reach ikmkg: its request counter stays
put), conditional requests get 304s, a reload shows once max-age has passed, and admission
counts the client nginx names, believed only from the trusted proxy address. nginx connects
from 127.0.0.2 (`proxy_bind`), the one address in ikmkg's trusted_proxies here, so that a test
client on 127.0.0.1 talks to ikmkg as an untrusted, direct client.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import re
import signal
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import pytest
from backends import free_port, server_log, spawn_ikmkg, stop, wait_for_server
from nginx import Nginx
from test_reload import LABEL_QUERY, NEW_LABEL, OLD_LABEL, _edit, _poll, _project

pytestmark = pytest.mark.server

PROXY_ADDRESS = "127.0.0.2"
#: Seconds a SPARQL answer may be reused (sparql_max_age here): long enough for a repeat within
#: one test, short enough to wait out after a reload.
MAX_AGE = 5
#: nginx counts max-age in whole seconds from its cached clock: past it by this much, surely.
PAST = 2.0
QUERY_TIMEOUT = 3
CHEAP = ("PREFIX ikm: <https://w3id.org/ikmkg/ontology#> "
         "SELECT (COUNT(?p) AS ?n) WHERE { ?p a ikm:Province }")
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
JSON_RESULTS = "application/sparql-results+json"
PAGE = "/doc/province/p01"
_unique = itertools.count()


class Answer:
    def __init__(self, status: int, headers: http.client.HTTPMessage, body: bytes):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)


def fetch(port: int, path: str, headers: dict | None = None, source: str = "127.0.0.1",
          timeout: float = 30) -> Answer:
    """GET `path` on 127.0.0.1:`port` from the local address `source`."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                            source_address=(source, 0))
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return Answer(response.status, response.headers, response.read())
    finally:
        connection.close()


def sparql_path(query: str) -> str:
    return "/sparql?" + urllib.parse.urlencode({"query": query})


def fresh(query: str) -> str:
    """`query` with a comment no other request sent: no cache holds its answer."""
    return f"{query} # {os.getpid()}-{next(_unique)}-{time.monotonic_ns()}"


class Stack:
    """ikmkg serving a copy of the test project, nginx in front."""

    def __init__(self, tmp, project, server, port, nginx):
        self.tmp, self.project, self.server, self.port, self.nginx = (
            tmp, project, server, port, nginx)

    def via_nginx(self, path: str, headers: dict | None = None, source: str = "127.0.0.1",
                  timeout: float = 30) -> Answer:
        return fetch(self.nginx.port, path, headers, source, timeout)

    def direct(self, path: str, headers: dict | None = None, source: str = "127.0.0.1",
               timeout: float = 30) -> Answer:
        return fetch(self.port, path, headers, source, timeout)

    def requests_served(self) -> float:
        """ikmkg's ikmkg_http_requests_total over all workers, /metrics itself left out."""
        text = self.direct("/metrics").body.decode()
        return sum(float(value) for labels, value in
                   re.findall(r"^ikmkg_http_requests_total\{(.*)\} (\S+)$", text,
                              re.MULTILINE)
                   if 'route="/metrics"' not in labels)

    def log(self) -> str:
        return server_log(self.tmp / "cache")[-3000:]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nginx-stack")
    project, port = _project(tmp), free_port()
    (tmp / "metrics").mkdir()
    server = spawn_ikmkg(project, tmp / "cache", port, "--log-format", "json", workers=1,
                         IKMKG_TRUSTED_PROXIES=PROXY_ADDRESS, IKMKG_SPARQL_MAX_AGE=str(MAX_AGE),
                         IKMKG_MAX_CONCURRENT_QUERIES="2", IKMKG_QUERY_TIMEOUT=str(QUERY_TIMEOUT),
                         PROMETHEUS_MULTIPROC_DIR=str(tmp / "metrics"))
    nginx = None
    try:
        wait_for_server(server, f"http://127.0.0.1:{port}/readyz", 90,
                        lambda: server_log(tmp / "cache"))
        assert _poll(lambda: fetch(port, "/readyz").status == 200, 60)
        nginx = Nginx(tmp / "nginx", port, extra=f"    proxy_bind {PROXY_ADDRESS};").start()
        yield Stack(tmp, project, server, port, nginx)
    finally:
        if nginx is not None:
            nginx.stop()
        stop(server)


def test_repeated_query_is_answered_by_nginx(stack):
    path, accept = sparql_path(fresh(CHEAP)), {"Accept": JSON_RESULTS}
    first = stack.via_nginx(path, accept)
    assert first.status == 200, first.body[:300]
    assert first.headers["X-Cache-Status"] == "MISS"
    assert first.json()["results"]["bindings"][0]["n"]["value"] == "30"
    served = stack.requests_served()
    for _ in range(3):
        again = stack.via_nginx(path, accept)
        assert again.status == 200 and again.headers["X-Cache-Status"] == "HIT"
        assert again.body == first.body
        assert again.headers["ETag"] == first.headers["ETag"]
    assert stack.requests_served() == served  # ikmkg saw none of the repeats
    # Another media type is another variant (Vary: Accept): ikmkg answers it once.
    csv = stack.via_nginx(path, {"Accept": "text/csv"})
    assert csv.headers["X-Cache-Status"] == "MISS" and csv.body.split() == [b"n", b"30"]
    assert stack.requests_served() == served + 1


def test_repeated_page_is_answered_by_nginx(stack):
    headers = {"Accept": "text/html", "Accept-Language": "en"}
    first = stack.via_nginx(PAGE, headers)
    assert first.status == 200 and b"Province 01" in first.body
    assert first.headers["X-Cache-Status"] == "MISS"
    served = stack.requests_served()
    again = stack.via_nginx(PAGE, headers)
    assert again.headers["X-Cache-Status"] == "HIT" and again.body == first.body
    assert stack.requests_served() == served


def test_errors_are_not_kept(stack):
    bad = sparql_path(fresh("SELECT * WHERE { ?s ?p }"))
    assert stack.via_nginx(bad).status == 400
    served = stack.requests_served()
    again = stack.via_nginx(bad)
    assert again.status == 400 and again.headers["X-Cache-Status"] == "MISS"
    assert stack.requests_served() == served + 1


def test_conditional_requests_get_304(stack):
    accept = {"Accept": JSON_RESULTS}
    for path in (sparql_path(fresh(CHEAP)), PAGE):
        first = stack.via_nginx(path, accept if path != PAGE else {"Accept": "text/html"})
        etag = first.headers["ETag"]
        assert etag.startswith('"') and not etag.startswith('W/')
        served = stack.requests_served()
        headers = {"If-None-Match": etag,
                   "Accept": JSON_RESULTS if path != PAGE else "text/html"}
        revalidated = stack.via_nginx(path, headers)
        assert revalidated.status == 304 and revalidated.body == b""
        assert revalidated.headers["ETag"] == etag
        assert stack.requests_served() == served  # nginx answered from its copy
        other = stack.via_nginx(path, {**headers, "If-None-Match": '"not-this-one"'})
        assert other.status == 200 and other.body == first.body


def test_a_reload_shows_once_max_age_has_passed(stack):
    path, accept = sparql_path(LABEL_QUERY), {"Accept": JSON_RESULTS}

    def label(answer: Answer) -> str:
        assert answer.status == 200, answer.body[:300]
        return answer.json()["results"]["bindings"][0]["l"]["value"]

    first = stack.via_nginx(path, accept)
    cached_at = time.monotonic()
    assert label(first) == "Province 00"
    # Past max-age without a data change: nginx revalidates, ikmkg says 304 (no query run).
    time.sleep(MAX_AGE + PAST)
    served = stack.requests_served()
    revalidated = stack.via_nginx(path, accept)
    assert revalidated.headers["X-Cache-Status"] == "REVALIDATED"
    assert label(revalidated) == "Province 00"
    assert stack.requests_served() == served + 1
    assert 'route="/sparql",status="304"' in stack.direct("/metrics").body.decode()
    cached_at = time.monotonic()

    _edit(stack.project, OLD_LABEL, NEW_LABEL)
    stack.server.send_signal(signal.SIGHUP)
    assert _poll(lambda: label(stack.direct(path, accept)) == "Province 00 renamed", 60), \
        stack.log()
    if time.monotonic() - cached_at < MAX_AGE - 1:  # the reload was quick: still in max-age
        assert label(stack.via_nginx(path, accept)) == "Province 00"
    time.sleep(max(0.0, cached_at + MAX_AGE + PAST - time.monotonic()))
    renewed = stack.via_nginx(path, accept)
    assert renewed.headers["X-Cache-Status"] == "EXPIRED"
    assert label(renewed) == "Province 00 renamed"
    assert renewed.headers["ETag"] != first.headers["ETag"]


def _hold_a_slot(get, **source) -> tuple[ThreadPoolExecutor, object]:
    """A runaway query (it runs until QUERY_TIMEOUT) holding one of its client's slots."""
    pool = ThreadPoolExecutor(1)
    running = pool.submit(get, sparql_path(fresh(RUNAWAY)), timeout=QUERY_TIMEOUT + 20,
                          **source)
    time.sleep(1.0)  # it has reached admission and holds the slot
    return pool, running


def test_admission_counts_the_client_nginx_names(stack):
    """Through nginx a client is its own address: a second query of a client holding its
    share (one slot of two) is refused whatever X-Forwarded-For it sends; another client's
    query is answered."""
    pool, running = _hold_a_slot(stack.via_nginx, source="127.0.0.3",
                                 headers={"X-Forwarded-For": "198.51.100.1"})
    try:
        same = stack.via_nginx(sparql_path(fresh(CHEAP)), source="127.0.0.3",
                               headers={"X-Forwarded-For": "198.51.100.2"})
        other = stack.via_nginx(sparql_path(fresh(CHEAP)), source="127.0.0.4")
    finally:
        pool.shutdown(wait=True)
    assert same.status == 429 and b"from this client" in same.body, same.body
    assert other.status == 200, other.body
    assert running.result().status == 503  # stopped at its time limit


def test_a_direct_client_cannot_dodge_admission_with_forwarded_for(stack):
    """ikmkg believes X-Forwarded-For only from its trusted proxy (127.0.0.2): a client on
    127.0.0.1 naming other addresses is still one client, while the same header from the
    trusted address names another client."""
    pool, running = _hold_a_slot(stack.direct, source="127.0.0.1",
                                 headers={"X-Forwarded-For": "198.51.100.3"})
    try:
        dodge = stack.direct(sparql_path(fresh(CHEAP)), source="127.0.0.1",
                             headers={"X-Forwarded-For": "198.51.100.4"})
        proxied = stack.direct(sparql_path(fresh(CHEAP)), source=PROXY_ADDRESS,
                               headers={"X-Forwarded-For": "198.51.100.5"})
    finally:
        pool.shutdown(wait=True)
    assert dodge.status == 429 and b"from this client" in dodge.body, dodge.body
    assert proxied.status == 200, proxied.body
    assert running.result().status == 503
