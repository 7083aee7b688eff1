"""Admission: queries in flight per process, shared fairly among clients (issue #20).

Moved out of ikmkg.sparql unchanged. No Flask import.
"""

from __future__ import annotations

import functools
import ipaddress
import itertools
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from ikmkg.errors import TooManyRequests

# --- admission: bounded concurrency, per client ---------------------------------------------

#: Seconds a query waits for a free slot before 429 (as the store's own admission_wait).
ADMISSION_WAIT = 1.0


class Admission:
    """Queries in flight per process, shared fairly among clients (issue #20).

    At most `max_concurrent` queries run at once (the store's own bound); one client may hold
    at most half of them, and its further queries get 429 at once. A client that already holds
    a slot may take another only while more than `reserve` (one) stay free, so that a few
    clients cannot take them all: a client with none in flight finds a free slot unless there
    are as many busy clients as slots. When every slot is taken, a query waits up to `wait`
    seconds and the next free slot goes to the waiting client with the fewest in flight (then
    the longest waiting); else 429 with Retry-After. Counts are per server process.
    """

    def __init__(self, max_concurrent: int, retry_after: int, wait: float = ADMISSION_WAIT):
        self.capacity = max(1, max_concurrent)
        self.per_client = max(1, self.capacity // 2)
        self.reserve = 1 if self.capacity > 1 else 0
        self.retry_after, self.wait = retry_after, wait
        self._in_flight: Counter[str] = Counter()
        self._total = 0
        self._waiting: dict[int, str] = {}  # ticket -> client, in arrival order
        self._tickets = itertools.count()
        self._changed = threading.Condition()

    def _fits(self, client: str) -> bool:
        free = self.capacity - self._total
        return free > (self.reserve if self._in_flight[client] else 0)

    def _next_in_line(self) -> int | None:
        """The ticket of the waiting query that takes the next slot that it fits."""
        fitting = [(self._in_flight[client], ticket)
                   for ticket, client in self._waiting.items() if self._fits(client)]
        return min(fitting)[1] if fitting else None

    @contextmanager
    def slot(self, client: str) -> Iterator[None]:
        """Hold one query slot for `client` (an address or network, see ikmkg.web.sparql).

        Raises:
            TooManyRequests: the client holds its share already, or no slot freed in time.
        """
        with self._changed:
            if self._in_flight[client] >= self.per_client:
                raise self._refusal(f"too many queries from this client at once (at most "
                                    f"{self.per_client})")
            ticket = next(self._tickets)
            self._waiting[ticket] = client
            deadline = time.monotonic() + self.wait
            try:
                while self._next_in_line() != ticket:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or self._in_flight[client] >= self.per_client:
                        raise self._refusal(f"{self.capacity} queries are already running")
                    self._changed.wait(remaining)
            finally:
                del self._waiting[ticket]
            self._in_flight[client] += 1
            self._total += 1
            self._changed.notify_all()  # the next in line may fit as well
        try:
            yield
        finally:
            with self._changed:
                self._total -= 1
                self._in_flight[client] -= 1
                if not self._in_flight[client]:
                    del self._in_flight[client]
                self._changed.notify_all()

    def _refusal(self, why: str) -> TooManyRequests:
        return TooManyRequests(f"{why}; try again in {self.retry_after} s",
                               headers={"Retry-After": str(self.retry_after)})


class Overruns:
    """Queries stopped at their time limit, per client: the client's budget of engine restarts.

    A query stopped at its limit costs the shared engine a replacement (a new process loading
    the store; ikmkg.engine.process), however cheap the query was to send. A client with `limit`
    overruns within the last `window` seconds gets 429 for its further queries until the oldest
    leaves the window, so that no client can make the server restart its engine more than
    `limit` times a window (per server process). Kept apart from `Admission` (concurrency).
    """

    def __init__(self, limit: int = 2, window: float = 60.0, max_clients: int = 10_000):
        self.limit, self.window, self.max_clients = limit, window, max_clients
        self._times: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def check(self, client: str) -> None:
        """Raise TooManyRequests if `client` has used its budget."""
        now = time.monotonic()
        with self._lock:
            times = [t for t in self._times.get(client, ()) if t > now - self.window]
            if times:
                self._times[client] = times
            else:
                self._times.pop(client, None)
        if len(times) >= self.limit:
            wait = max(1, round(times[0] + self.window - now))
            raise TooManyRequests(
                f"{len(times)} queries from this client ran past their time limit in the last "
                f"{self.window:g} s (each one restarts the query engine); try again in {wait} s",
                headers={"Retry-After": str(wait)})

    def charge(self, client: str) -> None:
        """Count one overrun of `client` (the table stays bounded: oldest clients go first)."""
        with self._lock:
            if client not in self._times and len(self._times) >= self.max_clients:
                self._times.pop(next(iter(self._times)))
            self._times.setdefault(client, []).append(time.monotonic())


def client_identity(peer: str, forwarded: str | None, trusted_proxies: str) -> str:
    """The client a request counts for: the peer, or, when the peer is a trusted proxy
    (`trusted_proxies`, loopback by default), the last address in X-Forwarded-For that is not
    a trusted proxy itself (each proxy appends the address it received the request from, so
    only what trusted ones appended is believed). An IPv6 client counts as its /64, which one
    subscriber usually holds whole; anything that is not an address stays as it is."""
    trusted = _trusted_networks(trusted_proxies)
    client = _address(peer)
    if forwarded and client is not None and any(client in net for net in trusted):
        for hop in reversed(forwarded.split(",")):
            hop_address = _address(hop.strip())
            if hop_address is None:
                break  # not an address: believe nothing further left
            client = hop_address
            if not any(client in net for net in trusted):
                break
    if client is None:
        return peer
    if client.version == 6:
        return str(ipaddress.IPv6Network((client, 64), strict=False))
    return str(client)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:192.0.2.1 is 192.0.2.1
    return mapped if mapped is not None else address


@functools.lru_cache(maxsize=8)
def _trusted_networks(setting: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(part.strip(), strict=False)
                 for part in setting.split(",") if part.strip())
