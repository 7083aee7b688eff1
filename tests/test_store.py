"""The Store contract on both backends, the on-disk store cache and the executor processes."""

from __future__ import annotations

import json
import shutil
import time

import pyoxigraph as ox
import pytest
from conftest import SPARQL_PROJECT
from rdflib import Literal, URIRef
from rdflib.namespace import RDF, RDFS

from ikmkg import kg as kg_module
from ikmkg.publish import open_store
from ikmkg.errors import DataError, QueryError, QueryTimeout
from ikmkg.kg import graph_iri
from ikmkg.pooled_store import PooledStore, open_published
from ikmkg.settings import CANONICAL_BASE, Settings
from ikmkg.store import EmbeddedStore

IKM = "https://w3id.org/ikmkg/ontology#"
P00 = URIRef(f"{CANONICAL_BASE}id/province/p00")


@pytest.fixture(scope="module")
def sparql_kg():
    return kg_module.load(Settings(project_dir=str(SPARQL_PROJECT)))


@pytest.fixture(scope="module", params=["embedded", "pooled", "pooled-in-memory",
                                        "pooled-shared"])
def any_store(request, sparql_kg, pooled_store):
    """Every backend: in-process; executors reading the on-disk store (the server's default);
    executors forked from an in-memory copy (store_mode=memory); one shared engine process
    (store_mode=shared)."""
    if request.param == "embedded":
        yield EmbeddedStore(sparql_kg)
    elif request.param == "pooled":
        yield pooled_store
    else:
        store = PooledStore.open(pooled_store.path, query_timeout=1.5,
                                 in_memory=request.param == "pooled-in-memory",
                                 shared=request.param == "pooled-shared")
        yield store
        store.close()


def test_select_returns_rdflib_terms(any_store):
    rows = any_store.select(f"SELECT ?l WHERE {{ <{P00}> <{RDFS.label}> ?l }} ORDER BY ?l")
    assert [r["l"] for r in rows] == [Literal("Province 00", lang="en"),
                                       Literal("Provinsi 00", lang="id")]


def test_unbound_variables_are_absent(any_store):
    rows = any_store.select(f"SELECT ?s ?missing WHERE {{ <{P00}> a ?s }}")
    assert rows == [{"s": URIRef(IKM + "Province")}]


@pytest.mark.parametrize("fmt", ["srj", "srx", "csv", "tsv", "nt", "ttl"])
def test_answers_are_cut_to_whole_rows_within_max_bytes(any_store, fmt):
    """max_bytes cuts an answer to whole rows or triples that fit, says so (capped_by bytes)
    and keeps it readable; a cap larger than the answer changes nothing."""
    graph = fmt in ("nt", "ttl")
    query = ("CONSTRUCT WHERE { ?s ?p ?o }" if graph
             else "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o")
    whole = any_store.query(query, result_format=fmt, max_results=5000)
    full = whole.read()
    cut = any_store.query(query, result_format=fmt, max_results=5000, max_bytes=len(full) // 3)
    body = cut.read()
    assert not whole.capped and cut.capped and cut.capped_by == "bytes"
    assert len(full) // 5 < len(body) <= len(full) // 3 and 0 < cut.rows < whole.rows
    if graph:
        assert len(list(ox.parse(body, format=ox.RdfFormat.N_TRIPLES if fmt == "nt"
                                 else ox.RdfFormat.TURTLE))) == cut.rows
    elif fmt == "csv":  # lossy, not parsed by pyoxigraph: a header line and one line a row
        assert body.count(b"\r\n") == cut.rows + 1
    else:
        kind = {"srj": "JSON", "srx": "XML", "tsv": "TSV"}[fmt]
        solutions = ox.parse_query_results(body, format=getattr(ox.QueryResultsFormat, kind))
        assert len(list(solutions)) == cut.rows
    same = any_store.query(query, result_format=fmt, max_results=5000, max_bytes=len(full) + 1)
    assert same.read() == full and not same.capped


def test_ask_and_construct(any_store):
    assert any_store.ask(f"ASK {{ <{P00}> a <{IKM}Province> }}") is True
    assert any_store.ask(f"ASK {{ <{P00}> a <{IKM}Regency> }}") is False
    graph = any_store.construct(f"DESCRIBE <{P00}>")
    assert (P00, RDF.type, URIRef(IKM + "Province")) in graph
    assert len(graph) == 4  # type, two labels, comment


def test_named_graphs_and_union_default(any_store):
    assert any_store.graph_iris == {n: str(graph_iri(CANONICAL_BASE, n))
                                    for n in ("ontology", "shapes", "data")}
    rows = any_store.select(
        "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
    counts = {str(r["g"]): int(r["n"]) for r in rows}
    assert set(counts) == set(any_store.graph_iris.values())
    union = any_store.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    assert int(union[0]["n"]) == sum(counts.values()) == 1004


def test_version_is_the_content_hash(any_store, sparql_kg):
    assert any_store.version == sparql_kg.content_hash != ""


def test_query_caps_and_serialises_natively(any_store):
    result = any_store.query("SELECT ?s WHERE { ?s ?p ?o }", result_format="srj", max_results=5)
    body = json.loads(result.read())
    assert result.capped and len(body["results"]["bindings"]) == 5
    result = any_store.query("SELECT ?s WHERE { ?s ?p ?o } LIMIT 3", result_format="srj",
                             max_results=5)
    assert not result.capped


def test_syntax_errors_are_query_errors(any_store):
    with pytest.raises(QueryError, match=r"1:\d+"):
        any_store.query("SELECT * WHERE { ?s ?p }", result_format="srj")


@pytest.mark.parametrize("in_memory", [False, True])
def test_pooled_timeout_kills_and_recovers(pooled_store, in_memory):
    store = PooledStore.open(pooled_store.path, query_timeout=1.5, in_memory=in_memory)
    started = time.monotonic()
    with pytest.raises(QueryTimeout):
        store.query("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }",
                           result_format="srj", timeout=0.5)
    assert time.monotonic() - started < 1.5
    assert store.ask("ASK { ?s ?p ?o }")
    store.close()


def _state(pid: int) -> str:
    """The process state letter of `pid` ("gone" when it does not exist; "Z": exited)."""
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def _wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_shared_engine_replaces_itself_when_a_query_overruns(pooled_store):
    """The runaway gets its timeout at the limit; a cheap query sent at the same time is
    answered; a successor takes over; the old engine (and the runaway with it) is gone within
    the grace period; the store serves normally afterwards."""
    from concurrent.futures import ThreadPoolExecutor

    from ikmkg.engine import process as engine

    store = PooledStore.open(pooled_store.path, query_timeout=1.0, shared=True)
    try:
        first = engine.pid_of(store._engine.sock)
        assert _state(first) not in ("gone", "Z")
        runaway = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"

        def timed(call):
            started = time.monotonic()
            try:
                return call(), time.monotonic() - started
            except QueryTimeout as exc:
                return exc, time.monotonic() - started

        with ThreadPoolExecutor(2) as pool:
            slow = pool.submit(timed, lambda: store.query(runaway, result_format="srj"))
            time.sleep(0.2)
            cheap = pool.submit(timed, lambda: store.ask("ASK { ?s ?p ?o }"))
            (cheap_answer, cheap_took), (slow_answer, slow_took) = cheap.result(), slow.result()
        assert cheap_answer is True and cheap_took < 0.5
        assert isinstance(slow_answer, QueryTimeout) and 0.9 < slow_took < 1.5
        assert _wait_for(lambda: engine.pid_of(store._engine.sock) not in (None, first), 10)
        # grace = the time limit + 1 s; then the old process, runaway and all, has exited
        assert _wait_for(lambda: _state(first) in ("gone", "Z"), 4)
        assert store.ask("ASK { ?s ?p ?o }")
        assert store.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")[0]["n"].value == 1004
    finally:
        store.close()


SLOW_COUNT = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f "
              "FILTER(STRLEN(STR(?c)) > STRLEN(STR(?f))) }")  # ~1 s on the shared engine


def test_a_crashed_engine_fails_no_query_in_flight(pooled_store):
    """The engine dies (SIGSEGV, as on a stack overflow) under a running query: that query is
    retried alone and answered; the next query waits for the successor and is answered."""
    import os
    import signal
    from concurrent.futures import ThreadPoolExecutor

    from ikmkg.engine import process as engine

    store = PooledStore.open(pooled_store.path, query_timeout=10.0, shared=True)
    try:
        expected = store.select(SLOW_COUNT)[0]["n"]
        first = engine.pid_of(store._engine.sock)
        with ThreadPoolExecutor(1) as pool:
            in_flight = pool.submit(store.select, SLOW_COUNT)
            time.sleep(0.3)
            os.kill(first, signal.SIGSEGV)
            assert in_flight.result()[0]["n"] == expected
        assert store.ask("ASK { ?s ?p ?o }")
        assert engine.pid_of(store._engine.sock) not in (None, first)
    finally:
        store.close()


def test_a_query_past_the_memory_cap_fails_alone_with_507(pooled_store):
    """A string-doubling query passes the engine's memory cap: the engine aborts, the query
    fails alone (507) and a cheap query in flight at the same time is answered."""
    from concurrent.futures import ThreadPoolExecutor

    from ikmkg.errors import MemoryLimitExceeded

    doubling = ('SELECT (STRLEN(?x24) AS ?n) WHERE { BIND("0123456789abcdef" AS ?x0) '
                + " ".join(f"BIND(CONCAT(?x{i},?x{i}) AS ?x{i + 1})" for i in range(24))
                + " ?s ?p ?o }")  # 256 MiB a row, far more in all
    store = PooledStore.open(pooled_store.path, query_timeout=10.0, shared=True,
                             engine_memory=400, max_concurrent=2)
    try:
        with ThreadPoolExecutor(2) as pool:
            cheap = pool.submit(store.select, SLOW_COUNT)
            time.sleep(0.2)
            with pytest.raises(MemoryLimitExceeded) as caught:
                store.select(doubling)
            assert caught.value.status == 507 and "200 MiB" in caught.value.message
            assert int(cheap.result()[0]["n"]) > 0
        assert store.ask("ASK { ?s ?p ?o }")
    finally:
        store.close()


def test_shared_engine_ends_with_its_owner(pooled_store, tmp_path):
    """The engine outlives no server: when the process that started it is gone, it exits."""
    import subprocess
    import sys

    script = (f"from ikmkg.pooled_store import PooledStore\n"
              f"s = PooledStore.open({str(pooled_store.path)!r}, shared=True)\n"
              f"from ikmkg.engine import process as engine\n"
              f"print(engine.pid_of(s._engine.sock), flush=True)\n"
              f"import os; os._exit(0)  # no close(): the owner just disappears\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    pid = int(out.split()[0])
    assert _wait_for(lambda: _state(pid) in ("gone", "Z"), 5)


def test_store_is_built_once_per_content_and_base(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(SPARQL_PROJECT, project)
    settings = Settings(project_dir=str(project), cache_dir=str(tmp_path / "cache"))
    first = open_store(settings)
    first.close()

    def must_not_load():  # pragma: no cover - failing here is the test failing
        raise AssertionError("loaded again although the files did not change")

    again = open_published(settings, must_not_load)
    assert again.path == first.path
    again.close()
    # A changed file or another base builds a new store.
    with open(project / "data" / "sample.ttl", "a") as f:
        f.write(f'<{P00}> <{RDFS.seeAlso}> <https://example.org/> .\n')
    changed = open_store(settings)
    rebased = open_store(Settings(project_dir=str(project), cache_dir=str(tmp_path / "cache"),
                                  base_uri="http://localhost:9/kg/"))
    assert len({first.path, changed.path, rebased.path}) == 3
    assert changed.ask(f"ASK {{ <{P00}> <{RDFS.seeAlso}> ?x }}")
    assert rebased.ask("ASK { <http://localhost:9/kg/id/province/p00> ?p ?o }")
    changed.close()
    rebased.close()


def test_invalid_data_is_refused_with_the_report(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(SPARQL_PROJECT, project)
    (project / "data" / "bad.ttl").write_text(
        f"<{CANONICAL_BASE}id/province/unlabelled> a <{IKM}Province> .\n")
    settings = Settings(project_dir=str(project), cache_dir=str(tmp_path / "cache"))
    with pytest.raises(DataError, match="province/unlabelled"):
        open_store(settings)
    assert not list((tmp_path / "cache").glob("store-*/READY.json"))


def test_pooled_store_opens_read_only(pooled_store):
    # The executors open the store read-only: even an update sent past the endpoint's checks
    # is not evaluated (pyoxigraph's query parser does not accept updates).
    with pytest.raises(QueryError):
        pooled_store.query("INSERT DATA { <urn:a> <urn:b> <urn:c> }", result_format="srj")
    assert not pooled_store.ask("ASK { <urn:a> ?p ?o }")
    assert isinstance(pooled_store, PooledStore)


def test_source_hash_matches_the_loaders_content_hash(sparql_kg):
    """The cache key is computed before loading; it must be the hash kg.load computes."""
    from ikmkg.kg import ONTOLOGY_FILE, SHAPES_FILE, data_files
    from ikmkg.store import source_hash

    settings = Settings(project_dir=str(SPARQL_PROJECT))
    sources = [settings.ontology_dir / ONTOLOGY_FILE, settings.ontology_dir / SHAPES_FILE,
               *data_files(settings)]
    assert source_hash(sources) == sparql_kg.content_hash


def test_stale_engine_files_are_removed(tmp_path):
    """Files left by an engine whose owner died are removed; a live owner's are kept."""
    import os

    from ikmkg.engine import process as engine

    dead = 2 ** 22 + 12345  # above the default pid_max: no such process
    stale = [tmp_path / f"{dead}-1.sock{suffix}" for suffix in ("", ".pid", ".lock")]
    live = tmp_path / f"{os.getpid()}-7.sock.pid"
    for path in (*stale, live):
        path.write_text("x")
    engine.remove_stale(tmp_path)
    assert not any(p.exists() for p in stale) and live.exists()


@pytest.mark.parametrize("module", ["ikmkg.engine.process", "ikmkg.engine.executor"])
def test_query_processes_import_only_the_stdlib_pyoxigraph_and_the_frame_protocol(module):
    """The engine and executor processes stay small beside the store they hold: starting one
    (python -m MODULE) imports the standard library, pyoxigraph and the frame protocol, never
    rdflib, Flask or the client side (as a re-export in ikmkg/engine/__init__.py would)."""
    import subprocess
    import sys

    script = ("import importlib, json, sys\n"
              "before = set(sys.modules)\n"
              f"importlib.import_module({module!r})\n"
              "print(json.dumps(sorted(set(sys.modules) - before)))\n")
    loaded = json.loads(subprocess.run([sys.executable, "-c", script], capture_output=True,
                                       text=True, timeout=60, check=True).stdout)
    third_party = {name.split(".")[0] for name in loaded} - set(sys.stdlib_module_names)
    assert third_party <= {"pyoxigraph", "ikmkg"}, third_party
    ours = {name for name in loaded if name.split(".")[0] == "ikmkg"}
    assert ours <= {"ikmkg", "ikmkg.engine", "ikmkg.engine.process", "ikmkg.engine.executor",
                    "ikmkg.formats"}, ours
    assert module in ours
