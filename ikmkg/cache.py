"""A least-recently-used cache bounded by entries and by the bytes of its keys and values.

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

    def get(self, key: Hashable, compute: Callable[[], V]) -> V:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key][0]
        value = compute()
        weight = self.weigh(key, value)
        if weight > self.max_bytes:
            return value  # never evict everything for one oversized value
        with self._lock:
            if key in self._items:  # computed meanwhile by another thread
                self.bytes -= self._items.pop(key)[1]
            self._items[key] = (value, weight)
            self.bytes += weight
            while len(self._items) > self.max_entries or self.bytes > self.max_bytes:
                _, (_, evicted) = self._items.popitem(last=False)
                self.bytes -= evicted
        return value
