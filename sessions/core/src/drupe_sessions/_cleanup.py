"""The clean-up of expired sessions: one engine-managed thread per configured storage class.

CherryPy starts a Monitor thread per backend class on the first load and keeps it for the
life of the process. Here a clean-up thread starts with the first request that uses a
configured storage class while the engine runs (``clean_freq`` minutes apart, 0 for none),
and every one of them stops — and is joined — when the engine publishes ``stop``. The
stop also ends the *engine run*: configured classes made during it are made afresh (and
set up again) on the next run, so an engine restart starts from a clean configuration
(RAM sessions, which live in the configured class, do not survive it).

An exception in a backend's ``clean_up()`` is logged with its traceback and the thread
carries on at the next period: corrupt data never stops the clean-up.

The running thread is also the storage class's ``clean_thread`` (None while none runs), as
in CherryPy; its ``stop()`` ends it until the next request that uses the class.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import drupe

__all__ = ["Cleaners", "cleaners"]

LOG_CONTEXT = "TOOLS.SESSIONS"


class _CleanupThread(threading.Thread):
    def __init__(self, storage_class: Any) -> None:
        super().__init__(name=f"drupe-sessions clean-up ({storage_class.__name__})", daemon=True)
        self.storage_class = storage_class
        self.interval = float(storage_class.clean_freq) * 60.0
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            clean_once(self.storage_class)

    def stop(self) -> None:
        """Stop this clean-up (CherryPy's ``clean_thread.stop()``); the next request that
        uses the storage class starts a new one."""
        self.stopping.set()
        if self is not threading.current_thread() and self.is_alive():
            self.join(timeout=30)
        cls = self.storage_class
        if cls.__dict__.get("_drupe_cleaner") is self:
            cls._drupe_cleaner = None
            cls.clean_thread = None

    def unsubscribe(self) -> None:
        """Nothing to do: the thread is not a bus plugin; the engine's ``stop`` ends it."""


def clean_once(storage_class: Any) -> None:
    """Run the backend's ``clean_up()`` once, logging (not raising) any failure."""
    try:
        storage_class().clean_up()
    except Exception:
        drupe.log(f"The clean-up of {storage_class.__name__} sessions failed; it will run "
                  "again at the next period.", LOG_CONTEXT, severity=logging.ERROR, traceback=True)


class Cleaners:
    """The running clean-up threads and the number of the current engine run."""

    def __init__(self) -> None:
        self.run = 0
        self._threads: list[_CleanupThread] = []
        self._lock = threading.Lock()

    def ensure(self, storage_class: Any) -> None:
        """Start ``storage_class``'s clean-up thread if the engine runs and none is running."""
        # PERF: called on every request; after the first, one dict lookup.
        if storage_class.__dict__.get("_drupe_cleaner") is not None or not storage_class.clean_freq:
            return
        engine = drupe.engine
        if engine.state not in (drupe.states.STARTED, drupe.states.STARTING):
            return
        with self._lock:
            if storage_class.__dict__.get("_drupe_cleaner") is not None:
                return
            if self.stop not in engine.listeners.get("stop", ()):
                engine.subscribe("stop", self.stop, priority=40)
            thread = _CleanupThread(storage_class)
            storage_class._drupe_cleaner = thread
            storage_class.clean_thread = thread
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        """Stop and join every clean-up thread; the next engine run configures anew."""
        with self._lock:
            threads, self._threads = self._threads, []
            self.run += 1
        for thread in threads:
            thread.stopping.set()
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(timeout=30)
            thread.storage_class._drupe_cleaner = None
            thread.storage_class.clean_thread = None

    def running(self) -> list[threading.Thread]:
        """The clean-up threads now running (for tests and inspection)."""
        return [thread for thread in self._threads if thread.is_alive()]


cleaners = Cleaners()
