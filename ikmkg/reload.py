"""Data updates without downtime: rebuild the store aside, then swap one reference.

The app holds the served store in one place, `app.extensions["ikmkg_store"]`; the web layer
reads it once per request (`ikmkg.web.get_store` keeps it on `flask.g`), so a request sees the
old graph or the new one, never a mix. `reload_app` loads and validates the new files in a
child process (`ikmkg.publish.open_store`, as at start-up); only a conforming graph is swapped in. A graph that
does not conform is refused: the validation report goes to the log and the old store stays.

Under Granian (see ikmkg.server) the main process reloads its app on SIGHUP (the `on_reload`
hook) and then forks fresh workers from it, while the old workers finish their requests.
`Watcher` polls the source files' mtimes and sends that SIGHUP when they change (`--watch`).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path

from flask import Flask

from ikmkg.publish import open_store
from ikmkg.settings import Settings

log = logging.getLogger(__name__)

#: Seconds an old store stays open after a swap, for the requests still using it.
CLOSE_DELAY = 30.0

_lock = threading.Lock()


def swap(app: Flask, store) -> object:
    """Make `store` the served one (one reference assignment); return the previous one."""
    with _lock:
        old = app.extensions.get("ikmkg_store")
        app.extensions["ikmkg_store"] = store
    return old


def _close_later(store) -> None:
    close = getattr(store, "close", None)
    if close is not None:
        timer = threading.Timer(CLOSE_DELAY, close)
        timer.daemon = True
        timer.start()


def source_paths(settings: Settings) -> list[Path]:
    """The files a reload reads: ontology folder and data folder (sorted)."""
    found = []
    for folder in (settings.ontology_dir, settings.data_dir):
        if folder.is_dir():
            found.extend(sorted(p for p in folder.rglob("*") if p.is_file()))
    return found


def reload_app(app: Flask) -> bool:
    """Rebuild the store from the files and swap it in if it conforms.

    Returns True when the served graph is the files' graph (swapped, or already current), False
    when the new files were refused (the old graph goes on being served; the reason is logged).
    """
    from ikmkg.web.ops import record_reload

    settings: Settings = app.config["IKMKG_SETTINGS"]
    old = app.extensions.get("ikmkg_store")
    try:
        new = open_store(settings)
    except Exception as exc:  # noqa: BLE001 - any failure keeps the old graph; logged
        message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        log.error("reload refused, still serving %s: %s",
                  getattr(old, "version", None), message)
        record_reload(False)
        return False
    if old is not None and new.version == old.version and not settings.store:
        getattr(new, "close", lambda: None)()
        log.info("reload: data unchanged (version %s)", new.version)
        record_reload(True)
        return True
    previous = swap(app, new)
    if previous is not None and previous is not new and not settings.store:
        _close_later(previous)
    log.warning("reload: now serving version %s (was %s)", new.version,
                getattr(previous, "version", None))
    record_reload(True)
    return True


def _fingerprint(settings: Settings) -> tuple:
    out = []
    for path in source_paths(settings):
        try:
            st = path.stat()
        except OSError:
            continue
        out.append((str(path), st.st_mtime_ns, st.st_size))
    return tuple(out)


class Watcher(threading.Thread):
    """Poll the source files every `interval` seconds; call `on_change` when they change.

    Changes are debounced: `on_change` runs once the files have stayed the same for one more
    poll, so an editor's several writes give one reload.
    """

    def __init__(self, settings: Settings, on_change: Callable[[], object],
                 interval: float = 1.0):
        super().__init__(name="ikmkg-watcher", daemon=True)
        self.settings, self.on_change, self.interval = settings, on_change, interval
        self._stop = threading.Event()

    def run(self) -> None:
        seen = _fingerprint(self.settings)
        pending = None
        while not self._stop.wait(self.interval):
            now = _fingerprint(self.settings)
            if now != seen:
                seen, pending = now, now
                continue
            if pending is not None:
                pending = None
                log.info("watch: source files changed; reloading")
                try:
                    self.on_change()
                except Exception:
                    log.exception("watch: reload failed")

    def stop(self) -> None:
        self._stop.set()


def sighup_self() -> None:
    """Ask this process (the server's main process) to reload, as `kill -HUP` would."""
    os.kill(os.getpid(), signal.SIGHUP)
