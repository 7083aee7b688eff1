"""Every configurable value of ikmkg in one table, read by the CLI, the app and the docs.

Each setting has a name, a default and a help text (the Datasette habit): the CLI builds its
options from this table, `IKMKG_<NAME>` environment variables override defaults, and a test
checks that every setting is documented in docs/settings.md.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from pathlib import Path
from typing import Any, NamedTuple

#: Where the repository keeps ontology/, data/ and queries/ (an editable install reads them here).
PROJECT_DIR = Path(__file__).resolve().parent.parent

#: The canonical base under which the curated Turtle is written; every IRI is rebased from it.
CANONICAL_BASE = "https://w3id.org/ikmkg/"


class Setting(NamedTuple):
    name: str
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("base_uri", CANONICAL_BASE,
            "Base IRI under which every entity, the ontology and the shapes are published"),
    Setting("project_dir", str(PROJECT_DIR),
            "Folder holding ontology/, data/ and queries/"),
    Setting("query_timeout", 5.0,
            "Time limit of one SPARQL query in seconds (a request may lower it, never raise it)"),
    Setting("max_results", 10000,
            "Most rows (or triples) one query returns; a capped result says so"),
    Setting("max_request_bytes", 1_000_000,
            "Largest request body or query string accepted, in bytes (larger: 413)"),
    Setting("body_timeout", 10.0,
            "Longest a request body may take to arrive in full, in seconds (longer: 408); a "
            "body is read before the request takes a thread, so a slow one holds only a socket"),
    Setting("body_min_rate", 4096,
            "Slowest a request body may arrive, in bytes per second averaged from its first "
            "second on (slower: 408)"),
    Setting("max_concurrent_queries", 4,
            "Queries evaluated at once per worker process; further ones wait briefly, then get "
            "429"),
    Setting("trusted_proxies", "127.0.0.0/8,::1",
            "Comma-separated addresses or networks of reverse proxies whose X-Forwarded-For "
            "names the client (admission counts queries per client: an IPv4 address or an "
            "IPv6 /64); empty: trust none, count the peer"),
    Setting("store", "",
            "URL of a remote SPARQL endpoint to serve from instead of the embedded store"),
    Setting("cache_dir", "",
            "Folder for the on-disk store, validation cache and dumps (default: a temporary one)"),
    Setting("engine_memory", 4096,
            "MiB the embedded store's running queries may allocate together beyond the loaded "
            "store (the shared engine's cap; a process running one query gets this divided by "
            "max_concurrent_queries); a query past it gets 507; 0: no cap"),
    Setting("min_query_timeout", 1.0,
            "Lowest time limit a request may ask for with timeout=, in seconds (a lower one is "
            "raised to it): a query stopped at its limit costs an engine restart"),
    Setting("max_result_bytes", 16_000_000,
            "Largest SPARQL answer sent, in bytes (HTML result pages: at most 1 MB); a capped "
            "result says so, like max_results"),
    Setting("store_mode", "shared",
            "How queries read the embedded store: shared (one engine process holds the "
            "in-memory store and runs queries on threads: fastest, one copy of the store), "
            "disk (executor processes open the on-disk store: several times slower) or memory "
            "(executors forked from an in-memory copy: fast, but a copy per busy executor)"),
    Setting("public_url", "",
            "Absolute URL at which this site is reached, for the links in publicly cacheable "
            "bodies (reconciliation manifest, fragment controls, service description); never "
            "taken from the request's Host header (default: base_uri)"),
    Setting("sparql_max_age", 60,
            "Seconds a GET answer of /sparql or /queries/ may be reused by browsers and shared "
            "caches without asking (Cache-Control: public, max-age=N); 0: always revalidate "
            "with its ETag (no-cache)"),
    Setting("result_cache_entries", 1024,
            "Most SPARQL answers kept per worker process to answer repeated GET queries without "
            "the engine (emptied when the data version changes); 0 turns the cache off"),
    Setting("result_cache_bytes", 64 << 20,
            "Most bytes those kept answers take per worker process (keys included); one answer "
            "larger than a sixteenth of this is never kept"),
)


#: The values of `store_mode` (see ikmkg.pooled_store.PooledStore), the default first.
STORE_MODES = ("shared", "disk", "memory")


@dataclasses.dataclass(frozen=True)
class Settings:
    """Explicit configuration handed to `create_app` and the data layer."""

    base_uri: str = CANONICAL_BASE
    project_dir: str = str(PROJECT_DIR)
    query_timeout: float = 5.0
    max_results: int = 10000
    max_request_bytes: int = 1_000_000
    body_timeout: float = 10.0
    body_min_rate: int = 4096
    max_concurrent_queries: int = 4
    trusted_proxies: str = "127.0.0.0/8,::1"
    store: str = ""
    cache_dir: str = ""
    engine_memory: int = 4096
    min_query_timeout: float = 1.0
    max_result_bytes: int = 16_000_000
    store_mode: str = "shared"
    public_url: str = ""
    sparql_max_age: int = 60
    result_cache_entries: int = 1024
    result_cache_bytes: int = 64 << 20

    def __post_init__(self) -> None:
        if self.store_mode not in STORE_MODES:
            raise ValueError(f"store_mode must be one of {', '.join(STORE_MODES)}, "
                             f"not {self.store_mode!r}")
        for part in filter(None, map(str.strip, self.trusted_proxies.split(","))):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(f"trusted_proxies: {part!r} is not an address or a network "
                                 "(such as 10.0.0.0/8 or ::1)") from None
        if not self.base_uri.endswith(("/", "#")):
            object.__setattr__(self, "base_uri", self.base_uri + "/")

    @property
    def site_root(self) -> str:
        """The public URL of the site's root, without a final slash (public_url, else the
        base IRI)."""
        return (self.public_url or self.base_uri).rstrip("/#")

    @property
    def ontology_dir(self) -> Path:
        return Path(self.project_dir) / "ontology"

    @property
    def data_dir(self) -> Path:
        return Path(self.project_dir) / "data"

    @property
    def queries_dir(self) -> Path:
        return Path(self.project_dir) / "queries"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then `IKMKG_<NAME>` variables, then explicit overrides (CLI options)."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            raw = environ.get(f"IKMKG_{setting.name.upper()}")
            if raw is not None:
                values[setting.name] = type(setting.default)(raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


# The table and the dataclass must list the same settings with the same defaults.
assert [s.name for s in SETTINGS] == [f.name for f in dataclasses.fields(Settings)]
assert all(s.default == f.default for s, f in zip(SETTINGS, dataclasses.fields(Settings)))
