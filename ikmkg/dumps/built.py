"""The server's dumps: built once per graph version and base into the cache, then reused.

This module knows nothing about HTTP.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from pathlib import Path

from ikmkg.dumps.manifest import MANIFEST_FILE, Manifest
from ikmkg.dumps.writer import LAYOUT_VERSION, Progress, write_dumps
from ikmkg.errors import DataError
from ikmkg.settings import Settings
from ikmkg.store import Store

_BUILT: dict[Path, Manifest] = {}
_BUILD_LOCK = threading.Lock()


def cache_folder(settings: Settings) -> Path:
    """`<cache_dir>/dumps`, or a per-user folder in the system temporary directory."""
    if settings.cache_dir:
        root = Path(settings.cache_dir)
    else:
        root = Path(tempfile.gettempdir()) / f"ikmkg-{os.getuid()}"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    if root.stat().st_uid != os.getuid():
        raise DataError(f"{root}: cache folder belongs to another user")
    return root / "dumps"


def dump_key(store: Store, base_uri: str) -> str:
    text = f"{LAYOUT_VERSION}\n{base_uri}\n{store.version}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def ensure_dumps(store: Store, settings: Settings, *, progress: Progress | None = None) -> Manifest:
    """The dumps of the published graph, built once per graph version and base, then reused.

    Built dumps live in `cache_folder(settings)/<key>` where the key hashes the store's version
    and the base: several worker processes may build at once, the first to finish wins and the
    others adopt its folder. Requests never re-serialise the graph.
    """
    directory = cache_folder(settings) / dump_key(store, settings.base_uri)
    with _BUILD_LOCK:
        manifest = _BUILT.get(directory)
        if manifest is not None:
            return manifest
        if store.version and (directory / MANIFEST_FILE).is_file():
            manifest = Manifest.load(directory)
            if not manifest.is_intact():
                manifest = None
        if manifest is None:
            manifest = write_dumps(store, directory, settings.base_uri, progress=progress,
                                   replace=not store.version or directory.exists())
        _BUILT[directory] = manifest
        return manifest


def forget_built() -> None:
    """Drop the in-process memo of built dumps (tests)."""
    with _BUILD_LOCK:
        _BUILT.clear()
