"""The real `ikmkg serve` (Granian, two workers, executor processes) on a free loopback port."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from backends import free_port, server_log, spawn_ikmkg, stop, wait_for_server
from conftest import SPARQL_PROJECT

pytestmark = pytest.mark.server

RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
CHEAP = ("PREFIX ikm: <https://w3id.org/ikmkg/ontology#> "
         "SELECT (COUNT(?p) AS ?n) WHERE { ?p a ikm:Province }")


#: server url -> (main process pid, store mode)
MASTERS: dict[str, tuple[int, str]] = {}


def engines_of(master: int) -> list[int]:
    """The pids of the running shared-engine processes owned by the server `master`."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if b"ikmkg.engine.process" in args and str(master).encode() in args and state != "Z":
            found.append(int(proc.name))
    return found


def spawn(project: Path, cache: Path, port: int, store_mode: str = "disk",
          **extra_env: str) -> subprocess.Popen:
    """The server with these tests' settings: a 1.5 s query limit and `store_mode`."""
    return spawn_ikmkg(project, cache, port, IKMKG_QUERY_TIMEOUT="1.5",
                       IKMKG_STORE_MODE=store_mode, **extra_env)


@pytest.fixture(scope="module", params=["disk", "shared"])
def server(request, tmp_path_factory):
    """The server in the default store mode and with the shared engine (store_mode=shared)."""
    port, cache = free_port(), tmp_path_factory.mktemp("cache")
    process = spawn(SPARQL_PROJECT, cache, port, request.param)
    url = f"http://127.0.0.1:{port}"
    wait_for_server(process, url + "/sparql", 60, lambda: server_log(cache))
    MASTERS[url] = (process.pid, request.param)
    yield url
    stop(process)
    deadline = time.monotonic() + 5  # no engine outlives its server
    while engines_of(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert engines_of(process.pid) == []


def test_serves_queries_over_http(server):
    response = requests.get(server + "/sparql", params={"query": CHEAP},
                            headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200
    assert response.json()["results"]["bindings"][0]["n"]["value"] == "30"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert requests.post(server + "/sparql", data=CHEAP.encode(), headers={
        "Content-Type": "application/sparql-query", "Accept": "text/csv"}).text.split() == [
        "n", "30"]


def test_methods_over_http(server):
    assert requests.options(server + "/sparql").status_code == 204
    head = requests.head(server + "/sparql", params={"query": CHEAP})
    assert head.status_code == 200 and head.content == b""
    assert requests.put(server + "/sparql", data=b"x").status_code == 405
    # A request line over 8,190 bytes is 414 URI Too Long, with a message; the same query is
    # accepted in a POST body (up to max_request_bytes, else 413).
    long_query = CHEAP + " #" + "x" * 20000
    too_long = requests.get(server + "/sparql", params={"query": long_query})
    assert too_long.status_code == 414 and "too large" in too_long.text
    posted = requests.post(server + "/sparql", data={"query": long_query},
                           headers={"Accept": "text/csv"})
    assert posted.status_code == 200 and posted.text.split() == ["n", "30"]
    huge = requests.post(server + "/sparql", data={"query": "x" * 1_100_000})
    assert huge.status_code == 413 and huge.text


def test_runaway_query_under_load(server):
    """A runaway query is stopped at the limit while cheap queries keep being answered."""
    def timed(query: str, client: str = "198.51.100.1") -> tuple[int, float]:
        # Clients told apart as behind a reverse proxy on this host (X-Forwarded-For).
        started = time.monotonic()
        response = requests.get(server + "/sparql", params={"query": query}, timeout=30,
                                headers={"X-Forwarded-For": client})
        return response.status_code, time.monotonic() - started

    with ThreadPoolExecutor(6) as pool:
        runaway = [pool.submit(timed, RUNAWAY) for _ in range(2)]
        time.sleep(0.3)
        cheap = [pool.submit(timed, CHEAP, f"198.51.100.{10 + i}") for i in range(20)]
        cheap_results = [f.result() for f in cheap]
        runaway_results = [f.result() for f in runaway]
    assert all(status == 503 and 1.4 < elapsed < 4.0 for status, elapsed in runaway_results)
    assert all(status == 200 for status, _ in cheap_results)
    assert sorted(t for _, t in cheap_results)[len(cheap_results) // 2] < 0.5
    # and serves normally afterwards (the runaways' client may have spent its budget of
    # overruns: admission.Overruns)
    assert timed(CHEAP, "198.51.100.2")[0] == 200
    master, mode = MASTERS[server]
    if mode == "shared":  # the engine that ran the runaways was replaced and has exited
        deadline = time.monotonic() + 10
        while len(engines_of(master)) != 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(engines_of(master)) == 1


def test_refuses_to_start_on_invalid_data(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(SPARQL_PROJECT, project)
    (project / "data" / "bad.ttl").write_text(
        "<https://w3id.org/ikmkg/id/province/unlabelled> a "
        "<https://w3id.org/ikmkg/ontology#Province> .\n")
    process = spawn(project, tmp_path / "cache", free_port())
    try:
        process.wait(timeout=120)
    finally:
        process.kill()
    stderr = server_log(tmp_path / "cache")
    assert process.returncode == 2
    assert "does not conform" in stderr and "province/unlabelled" in stderr


def test_server_environment_is_not_part_of_requests(tmp_path):
    """The server's environment variables never reach the app as request data: HTTP_X_REQUEST_ID
    in the server's environment is not read as the request's X-Request-Id header (the app
    would echo it), while a client's own X-Request-Id still is."""
    port = free_port()
    process = spawn(SPARQL_PROJECT, tmp_path / "cache", port,
                    HTTP_X_REQUEST_ID="from-the-server-environment",
                    IKMKG_TEST_SECRET="not-for-requests")
    try:
        url = f"http://127.0.0.1:{port}/healthz"
        first = wait_for_server(process, url, 60, lambda: server_log(tmp_path / "cache"))
        assert first.status_code == 200
        assert first.headers["X-Request-Id"] != "from-the-server-environment"
        assert len(first.headers["X-Request-Id"]) == 32
        own = requests.get(url, headers={"X-Request-Id": "client-id-1"})
        assert own.headers["X-Request-Id"] == "client-id-1"
    finally:
        stop(process)


def test_a_second_server_on_a_busy_port_refuses_to_start(server, tmp_path):
    """Granian binds with SO_REUSEPORT: without the check a second server would share the port
    (and its connections) with the first. It exits with 2 and says why; the first serves on."""
    port = int(server.rsplit(":", 1)[1])
    process = spawn(SPARQL_PROJECT, tmp_path / "cache", port)
    try:
        assert process.wait(timeout=60) == 2
    finally:
        process.kill()
    assert "cannot listen on 127.0.0.1:" in server_log(tmp_path / "cache")
    assert "another server" in server_log(tmp_path / "cache")
    assert requests.get(server + "/healthz").status_code == 200


def test_workers_exit_when_the_main_process_is_killed(tmp_path):
    """A main process killed outright (SIGKILL, the OOM killer) takes its workers and its
    engine with it: nothing is left serving, orphaned, on the port."""
    port = free_port()
    process = spawn(SPARQL_PROJECT, tmp_path / "cache", port, "shared")
    try:
        wait_for_server(process, f"http://127.0.0.1:{port}/healthz", 60,
                        lambda: server_log(tmp_path / "cache"))
        children = [int(c) for task in Path(f"/proc/{process.pid}/task").iterdir()
                    for c in (task / "children").read_text().split()]
        assert len(children) >= 3  # two workers and the engine
    finally:
        process.kill()
        process.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{c}").exists() for c in children):
        time.sleep(0.1)
    left = [c for c in children if Path(f"/proc/{c}/stat").exists()
            and Path(f"/proc/{c}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"]
    assert left == []
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)


# --- start-up messages and log formats (issue #17) ----------------------------------------------


def _start(tmp_path: Path, stderr, *extra: str) -> tuple[subprocess.Popen, str]:
    """The server with its default workers and log format (whatever the environment says)."""
    port = free_port()
    process = spawn_ikmkg(SPARQL_PROJECT, tmp_path / "cache", port, *extra, workers=None,
                          stderr=stderr, IKMKG_LOG_FORMAT=None)
    return process, f"http://127.0.0.1:{port}"


def test_at_a_terminal_it_says_where_it_serves_and_how_to_stop(tmp_path):
    """On a terminal: where it serves and how to stop, no line per request, no INFO chatter of
    Granian's and no warning caused by the default options."""
    import pty
    import threading

    master, slave = pty.openpty()
    chunks: list[bytes] = []

    def read() -> None:
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    process, url = _start(tmp_path, slave)
    os.close(slave)
    try:
        wait_for_server(process, url + "/", 60, lambda: b"".join(chunks).decode(errors="replace"))
        requests.get(url + "/sparql", timeout=10)
        time.sleep(1.0)  # the access log line, if any, is written after the response
    finally:
        stop(process)
        reader.join(5)
        os.close(master)
    output = b"".join(chunks).decode(errors="replace")
    assert f"serving {url}/" in output and "Ctrl+C" in output, output
    assert '"request_id"' not in output, output
    assert "[INFO]" not in output and "WARNING" not in output, output


def test_json_logs_when_asked(tmp_path):
    log = tmp_path / "server.log"
    with open(log, "w") as stderr:
        process, url = _start(tmp_path, stderr, "--log-format", "json")
    try:
        wait_for_server(process, url + "/", 60, log.read_text)
        requests.get(url + "/sparql", timeout=10)
        time.sleep(1.0)
    finally:
        stop(process)
    import json

    records = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert any(r.get("path") == "/sparql" and r.get("status") == 200 for r in records)
    assert any(f"serving {url}/" in r.get("message", "") for r in records)
    assert any(r.get("logger") == "granian" for r in records)


def test_default_workers_never_exceed_the_cores(monkeypatch):
    """Granian warns when workers outnumber the cores: the default never does."""
    from ikmkg import server

    for cores, expected in ((1, 1), (2, 2), (16, 2)):
        monkeypatch.setattr(server.multiprocessing, "cpu_count", lambda cores=cores: cores)
        assert server.default_workers() == expected
