"""``ThreadManager``: tell plugins when a worker thread serves its first request.

Some resources belong to a thread (a database connection that must not be shared). The
WSGI adapter publishes ``acquire_thread`` at the start of every request when somebody
listens; the manager numbers each thread the first time it sees it and publishes
``start_thread(index)`` then, once. ``stop_thread(index)`` is published when a thread is
released (``release_thread``, for servers that know when their threads end) and, for
every known thread, when the bus stops or reloads (``stop`` / ``graceful``), since a
host that reuses threads never says when one is gone::

    engine.subscribe('start_thread', lambda index: open_connection(index))
    engine.subscribe('stop_thread', lambda index: close_connection(index))

Indexes start at 1 and are never handed out twice while the manager knows any thread
(thread identifiers may be reused by the platform; indexes are what listeners should key
on). Once ``stop`` or ``graceful`` has forgotten every thread, numbering starts again at 1.
"""

from __future__ import annotations

import threading
from typing import Any

from drupe import SimplePlugin

__all__ = ["ThreadManager"]

_CHANNELS = ("acquire_thread", "start_thread", "release_thread", "stop_thread")


class ThreadManager(SimplePlugin):
    """Publish ``start_thread`` / ``stop_thread`` once per worker thread."""

    def __init__(self, bus: Any) -> None:
        super().__init__(bus)
        self.threads: dict[int, int] = {}
        """Thread identifier -> index, for the threads seen and not yet stopped."""
        self._last_index = 0
        self._lock = threading.Lock()
        # SimplePlugin subscribes methods to existing channels only; create ours.
        for channel in _CHANNELS:
            bus.listeners.setdefault(channel, set())

    def acquire_thread(self) -> None:
        """Publish ``start_thread(index)`` if the current thread is new."""
        ident = threading.get_ident()
        # PERF: published on every request; a thread already known costs one lookup.
        if ident in self.threads:
            return
        with self._lock:
            if ident in self.threads:
                return
            self._last_index += 1
            index = self._last_index
            self.threads[ident] = index
        self.bus.publish("start_thread", index)

    def release_thread(self) -> None:
        """Forget the current thread and publish ``stop_thread(index)``."""
        with self._lock:
            index = self.threads.pop(threading.get_ident(), None)
        if index is not None:
            self.bus.publish("stop_thread", index)

    def stop(self) -> None:
        """Publish ``stop_thread(index)`` for every known thread, and forget them."""
        with self._lock:
            indexes = sorted(self.threads.values())
            self.threads.clear()
            # No thread is known any more, so restarting at 1 cannot give an index twice.
            self._last_index = 0
        for index in indexes:
            self.bus.publish("stop_thread", index)

    def graceful(self) -> None:
        """As :meth:`stop`: after a reload, threads start afresh."""
        self.stop()
