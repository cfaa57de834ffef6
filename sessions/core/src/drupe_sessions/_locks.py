"""Per-id locks inside one process, that exist only while someone holds or waits for them.

:class:`IdLocks` is what the RAM backend locks with, and what backends with a shared store
use in front of their cross-process lock (the file backend's ``flock``), so the threads of
one process queue on a cheap ``threading.Lock`` and only one of them at a time polls the
shared lock. An entry is removed when its last user leaves, so ids leave nothing behind.
"""

from __future__ import annotations

import threading

__all__ = ["IdLocks"]


class _CountedLock:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users = 0


class IdLocks:
    """A lock per id: ``acquire(id, timeout)`` -> bool, ``release(id)``."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, _CountedLock] = {}

    def acquire(self, key: str, timeout: float) -> bool:
        """Lock ``key``, waiting at most ``timeout`` seconds; False when that ran out."""
        with self._guard:
            counted = self._locks.get(key)
            if counted is None:
                counted = self._locks[key] = _CountedLock()
            counted.users += 1
        if counted.lock.acquire(timeout=max(timeout, 0.0)):
            return True
        self._leave(key, counted)
        return False

    def release(self, key: str) -> None:
        """Unlock ``key`` (locked by this process through :meth:`acquire`)."""
        with self._guard:
            counted = self._locks[key]
        counted.lock.release()
        self._leave(key, counted)

    def _leave(self, key: str, counted: _CountedLock) -> None:
        with self._guard:
            counted.users -= 1
            if counted.users == 0 and self._locks.get(key) is counted:
                del self._locks[key]

    def __contains__(self, key: object) -> bool:
        """True while ``key`` is locked or waited for."""
        return key in self._locks

    def __len__(self) -> int:
        return len(self._locks)
