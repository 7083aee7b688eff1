"""Helpers for attacks on the real `ikmkg serve`, each bounded in time and traffic, on loopback.

Every attack test runs a `Canary` from another client while the attack is under way: a
`/healthz` request and a one-row query, repeated, each of which must be answered within
`CANARY_LIMIT` seconds; after the attack the server must serve normally (`assert_serves`).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import requests

#: Seconds within which the canary's requests must be answered while an attack runs.
CANARY_LIMIT = 1.0
ONE_ROW = ("PREFIX ikm: <https://w3id.org/ikmkg/ontology#> "
           "SELECT ?p WHERE { ?p a ikm:Province } LIMIT 1")


class Canary:
    """A legitimate client that keeps asking while an attack runs, from its own connections.

    Use as a context manager around the attack; `failures` lists every request that failed or
    took longer than `limit` seconds, `latencies` every request's time."""

    def __init__(self, url: str, limit: float = CANARY_LIMIT, interval: float = 0.2):
        self.url, self.limit, self.interval = url, limit, interval
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _ask(self, session: requests.Session, path: str, **params) -> None:
        started = time.monotonic()
        try:
            response = session.get(self.url + path, params=params, timeout=max(self.limit * 5, 5.0),
                                   headers={"Accept": "application/sparql-results+json",
                                            "X-Forwarded-For": "198.51.100.7"})
            elapsed = time.monotonic() - started
            if response.status_code != 200:
                self.failures.append(f"{path}: HTTP {response.status_code} {response.text[:200]}")
            elif elapsed > self.limit:
                self.failures.append(f"{path}: answered in {elapsed:.2f} s")
        except requests.RequestException as exc:
            elapsed = time.monotonic() - started
            self.failures.append(f"{path}: {type(exc).__name__} after {elapsed:.2f} s")
        self.latencies.append(elapsed)

    def _run(self) -> None:
        with requests.Session() as session:
            while not self._stop.is_set():
                self._ask(session, "/healthz")
                self._ask(session, "/sparql", query=ONE_ROW)
                self._stop.wait(self.interval)

    def __enter__(self) -> Canary:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(30)

    def check(self) -> None:
        """Fail the test unless the canary asked at least twice and every answer came in time."""
        assert len(self.latencies) >= 2, "the canary did not get to ask during the attack"
        assert not self.failures, f"canary failed during the attack: {self.failures[:5]}"


def assert_serves(url: str) -> None:
    """The server answers normally after an attack."""
    assert requests.get(url + "/healthz", timeout=5).status_code == 200
    response = requests.get(url + "/sparql", params={"query": ONE_ROW}, timeout=5,
                            headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200
    assert len(response.json()["results"]["bindings"]) == 1


def engine_pid(url: str) -> int:
    """The pid of the shared engine serving the `ikmkg serve` at `url` (from its pid file)."""
    from ikmkg.engine import process as engine

    port = url.rsplit(":", 1)[1]
    for proc in Path("/proc").iterdir():
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if proc.name.isdigit() and b"serve" in args and port.encode() in args:
            for pid_file in engine.socket_dir().glob(f"{proc.name}-*.sock.pid"):
                return int(pid_file.read_text())
    raise LookupError(f"no engine for the server at {url}")
