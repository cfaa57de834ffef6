"""Nonce counts: what stops a captured Digest Authorization header from being replayed.

A Digest nonce is stateless (see ``_digest``: its timestamp and an HMAC prove that this
server issued it and when), so checking it needs no memory. What does need memory is
the *nonce count*: with ``qop``, each request that reuses a nonce carries ``nc``, a
counter the client increases, and the request digest covers it. The server remembers,
per nonce, the highest count it accepted; a request whose count is not higher is a
replay (or a request overtaken by a later one) and is refused.

:class:`NonceCountStore` is the contract; :class:`MemoryNonceCountStore`, the default,
keeps the table in the process, bounded and thread-safe:

- An entry lives until its nonce expires (then the nonce is stale anyway and is refused
  before the store is asked).
- When the table is full, expired entries go first; if that is not enough, the entries
  of the oldest nonces go, and the store remembers the newest timestamp it dropped
  (the *floor*). A nonce at or below the floor that is not in the table may have been
  dropped, so it is refused too — its client gets a ``stale=true`` challenge and
  silently retries with a fresh nonce. Dropping state therefore never reopens a replay.
- Only authenticated requests reach the store, so a stranger cannot fill it.

Several processes each have their own table: a header captured from a client talking
to process A could be replayed once against process B. Deployments that spread one
client over several processes either accept that, route each client to one process
(sticky sessions), or pass ``nonce_counts=`` a store shared by all processes (its
``advance`` must be atomic, e.g. a Redis script or an SQL ``UPDATE ... WHERE nc < ?``).
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable

__all__ = ["MemoryNonceCountStore", "NonceCountStore"]


@runtime_checkable
class NonceCountStore(Protocol):
    """Where the highest accepted nonce count of each live nonce is kept."""

    def advance(self, nonce: str, count: int, issued: float, expires: float) -> bool:
        """Accept ``count`` for ``nonce`` if it is higher than every count accepted before.

        ``issued`` and ``expires`` are the nonce's issue and expiry times (``time.time()``
        seconds); the entry may be forgotten after ``expires``. Returns True (and records
        ``count``) when the request is new, False when it is (or may be) a replay. Must
        be atomic: two requests with the same nonce and count must not both get True.
        """
        ...


class MemoryNonceCountStore:
    """An in-process :class:`NonceCountStore` holding at most ``max_entries`` nonces."""

    def __init__(self, max_entries: int = 100_000) -> None:
        if type(max_entries) is not int or max_entries < 1:
            raise ValueError(f"max_entries must be a positive integer, not {max_entries!r}")
        self.max_entries = max_entries
        self._lock = threading.Lock()
        # nonce -> (highest accepted count, issued, expires)
        self._entries: dict[str, tuple[int, float, float]] = {}
        self._floor = float("-inf")

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def floor(self) -> float:
        """Nonces issued at or before this time and not in the table are refused."""
        return self._floor

    def advance(self, nonce: str, count: int, issued: float, expires: float) -> bool:
        with self._lock:
            entry = self._entries.get(nonce)
            if entry is not None:
                if count <= entry[0]:
                    return False
                self._entries[nonce] = (count, entry[1], entry[2])
                return True
            if issued <= self._floor:
                return False
            if len(self._entries) >= self.max_entries:
                self._make_room(time.time())
                if issued <= self._floor:
                    return False
            self._entries[nonce] = (count, issued, expires)
            return True

    def _make_room(self, now: float) -> None:
        # PERF: called only when the table is full, and it frees a tenth of it at least,
        # so its O(n log n) cost is spread over many insertions.
        entries = self._entries
        for nonce in [nonce for nonce, (_, _, expires) in entries.items() if expires <= now]:
            del entries[nonce]
        target = self.max_entries - max(1, self.max_entries // 10)
        if len(entries) <= target:
            return
        by_age = sorted(entries.items(), key=lambda item: item[1][1])
        dropped = by_age[: len(entries) - target]
        # Entries issued in the same second as the last one dropped go too: the floor
        # refuses by timestamp, so keeping them would make the table disagree with it.
        floor = dropped[-1][1][1]
        for nonce, (_, issued, _) in by_age:
            if issued > floor:
                break
            del entries[nonce]
        self._floor = max(self._floor, floor)

    def clear(self) -> None:
        """Forget everything (the floor included)."""
        with self._lock:
            self._entries.clear()
            self._floor = float("-inf")

    def __repr__(self) -> str:
        return f"<MemoryNonceCountStore {len(self._entries)}/{self.max_entries} nonces>"
