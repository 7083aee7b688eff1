"""Least-recently-used caches bounded by entries and by the bytes of their keys and values.

For values computed from one version of the graph (fragments, lists of used properties): the
key carries the store's base and version, so a reload simply stops hitting the old entries,
which age out. No Flask here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class BoundedCache(Generic[V]):
    """`get(key, compute)`: the remembered value, or `compute()` remembered.

    Args:
        max_entries: most entries kept.
        max_bytes: most bytes kept, as `weigh(key, value)` counts them.
        weigh: the approximate size of one entry in bytes (its key included).
    """

    def __init__(self, max_entries: int, max_bytes: int,
                 weigh: Callable[[Hashable, V], int]):
        self.max_entries, self.max_bytes, self.weigh = max_entries, max_bytes, weigh
        self.bytes = 0
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def keys(self) -> list[Hashable]:
        """The keys held, least recently used first."""
        with self._lock:
            return list(self._items)

    def get(self, key: Hashable, compute: Callable[[], V]) -> V:
        found = self.lookup(key, _MISSING)
        if found is not _MISSING:
            return found
        value = compute()
        self.put(key, value)
        return value

    def lookup(self, key: Hashable, default: V | None = None) -> V | None:
        """The remembered value of `key` (now the most recently used), else `default`."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key][0]
        return default

    def put(self, key: Hashable, value: V) -> None:
        """Remember `value`, evicting the least recently used entries to stay in bounds."""
        weight = self.weigh(key, value)
        if weight > self.max_bytes or self.max_entries < 1:
            return  # never evict everything for one oversized value
        with self._lock:
            if key in self._items:  # computed meanwhile by another thread
                self.bytes -= self._items.pop(key)[1]
            self._items[key] = (value, weight)
            self.bytes += weight
            while len(self._items) > self.max_entries or self.bytes > self.max_bytes:
                _, (_, evicted) = self._items.popitem(last=False)
                self.bytes -= evicted

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.bytes = 0


_MISSING = object()


class VersionedCache(Generic[V]):
    """A BoundedCache for values computed from one version of the published graph, emptied
    as soon as it is asked under another version (a reload, a `load` into a remote store):
    an old version's entries would never be hit again, so they go at once rather than age out.

    Args:
        max_entries, max_bytes, weigh: as for BoundedCache.
    """

    def __init__(self, max_entries: int, max_bytes: int,
                 weigh: Callable[[Hashable, V], int]):
        self._cache: BoundedCache[V] = BoundedCache(max_entries, max_bytes, weigh)
        self._version: str | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._cache)

    @property
    def bytes(self) -> int:
        return self._cache.bytes

    def _at(self, version: str) -> None:
        with self._lock:
            if version != self._version:
                self._cache.clear()
                self._version = version

    def lookup(self, version: str, key: Hashable) -> V | None:
        """The value remembered for `key` in `version`, else None."""
        self._at(version)
        return self._cache.lookup((version, key))

    def put(self, version: str, key: Hashable, value: V) -> None:
        """Remember `value` for `key` in `version` (the version is part of the key, so an answer
        computed just before a reload can never be served after it)."""
        self._at(version)
        self._cache.put((version, key), value)
