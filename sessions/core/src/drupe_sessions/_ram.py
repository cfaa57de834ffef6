"""The RAM backend (``storage_type = 'ram'``, the default): sessions in this process's memory.

Each configured class keeps its own ``cache`` (id -> ``(data, expiration_time)``) and its
own per-id locks. The data is kept as Python objects (a copy of the session's dict, so a
request's changes only count once saved): nothing leaves the process, so there is no
serializer round trip and nothing to decode.

Locks are counted: a lock entry exists only while some request holds or waits for it, so
ids do not leave lock objects behind (CherryPy's linger until the next clean-up).
"""

from __future__ import annotations

import datetime
import logging
from typing import Any, ClassVar

from drupe_sessions._base import LockTimeout, Session, redacted
from drupe_sessions._locks import IdLocks

__all__ = ["RamSession"]


class RamSession(Session):
    """Sessions in a dict of this process (lost when the process ends)."""

    cache: ClassVar[dict[str, Any]] = {}
    locks: ClassVar[IdLocks] = IdLocks()
    option_names: ClassVar[frozenset[str] | None] = frozenset()  # the RAM backend has none

    @classmethod
    def setup(cls, **kwargs: Any) -> None:
        """Give this configured class its own store (the RAM backend has no options)."""
        super().setup(**kwargs)
        cls.cache = {}
        cls.locks = IdLocks()

    def _exists(self) -> bool:
        return self.id in self.cache

    def _load(self) -> tuple[dict[str, Any], datetime.datetime] | None:
        entry = self.cache.get(self.id)
        if entry is None:
            return None
        if (not isinstance(entry, tuple) or len(entry) != 2 or not isinstance(entry[0], dict)
                or not isinstance(entry[1], datetime.datetime)):
            self.log(f"Session {redacted(self.id)}: the RAM store holds a value that is not "
                     "session data; treating it as an empty session.", logging.WARNING)
            return None
        return dict(entry[0]), entry[1]

    def _save(self, expiration_time: datetime.datetime) -> None:
        self.cache[self.id] = (dict(self._data), expiration_time)

    def _delete(self) -> None:
        self.cache.pop(self.id, None)

    def acquire_lock(self) -> None:
        if self.locked:
            return
        if not self.locks.acquire(self.id, self.lock_timeout):
            raise LockTimeout(
                f"Session {redacted(self.id)} stayed locked by another request for "
                f"{self.lock_timeout:g} s (tools.sessions.lock_timeout).", self.lock_timeout)
        self._locked_id = self.id
        self.locked = True
        if self.debug:
            self.log(f"Lock acquired for session {redacted(self.id)}.")

    def release_lock(self) -> None:
        if not self.locked:
            return
        self.locks.release(self._locked_id)
        self.locked = False
        if self.debug:
            self.log(f"Lock released for session {redacted(self._locked_id)}.")

    def clean_up(self) -> None:
        now = self.now()
        for session_id, entry in list(self.cache.items()):
            try:
                expired = entry[1] <= now
            except Exception:  # not session data: drop it
                expired = True
            if expired and session_id not in self.locks:
                self.cache.pop(session_id, None)

    def __len__(self) -> int:
        return len(self.cache)
