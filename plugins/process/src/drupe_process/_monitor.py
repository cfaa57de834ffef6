"""``Monitor``: a bus plugin that runs a callback periodically in its own thread.

The monitor follows the bus::

    bus.start()     -> 'start' (priority 70): a BackgroundTask thread begins calling
                       ``callback`` every ``frequency`` seconds; "Started monitor thread 'X'."
    bus.graceful()  -> 'graceful': a running thread is replaced by a fresh one
    bus.stop()      -> 'stop': the thread is cancelled and joined; "Stopped thread 'X'."

A ``frequency`` of 0 (or less) means no thread at all. Setting ``frequency`` while the
thread runs applies at once (config ``engine.<plugin>.frequency`` works on a started
engine). ``subscribe()`` on a bus that is already STARTED starts the thread, and
``unsubscribe()`` stops it: a monitor detached from the bus never keeps running unseen.

The autoreloader and the timeout monitor are monitors; applications use the class for
their own periodic jobs (``Monitor(drupe.engine, purge_cache, 300).subscribe()``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from drupe import SimplePlugin, states
from drupe_process._tasks import BackgroundTask

__all__ = ["Monitor", "priority"]

F = TypeVar("F", bound=Callable[..., Any])


def priority(value: float) -> Callable[[F], F]:
    """Give a channel method its bus priority (``bus.subscribe`` reads ``priority``)."""

    def decorator(func: F) -> F:
        setattr(func, "priority", value)  # noqa: B010 - typed functions have no such attribute
        return func

    return decorator


class Monitor(SimplePlugin):
    """Run ``callback`` every ``frequency`` seconds while the bus is started."""

    join_timeout = 10.0
    """Seconds :meth:`stop` waits for a callback that is still running to return."""

    def __init__(self, bus: Any, callback: Callable[[], Any], frequency: float = 60,
                 name: str | None = None) -> None:
        super().__init__(bus)
        self.callback = callback
        self.thread: BackgroundTask | None = None
        self.name = name
        self._frequency = frequency

    @property
    def thread_name(self) -> str:
        """The monitor thread's name: ``name``, or the class name."""
        return self.name or type(self).__name__

    @property
    def frequency(self) -> float:
        """Seconds between two calls of the callback (0 or less: no thread)."""
        return self._frequency

    @frequency.setter
    def frequency(self, value: float) -> None:
        self._frequency = value
        thread = self.thread
        if thread is None:
            return
        if value > 0:
            thread.interval = value
        else:
            self.stop()

    def subscribe(self) -> None:
        """Attach to the bus; start the thread now if the bus is already started."""
        super().subscribe()
        if self.bus.state is states.STARTED:
            self.start()

    def unsubscribe(self) -> None:
        """Detach from the bus and stop the thread if it runs."""
        super().unsubscribe()
        if self.thread is not None:
            self.stop()

    @priority(70)
    def start(self) -> None:
        """Start the callback's thread (once; a second call only logs)."""
        if self._frequency <= 0:
            return
        name = self.thread_name
        if self.thread is not None:
            self.bus.log(f"Monitor thread {name!r} already started.")
            return
        thread = BackgroundTask(self._frequency, self.callback, bus=self.bus)
        thread.name = name
        self.thread = thread
        thread.start()
        self.bus.log(f"Started monitor thread {name!r}.")

    def stop(self) -> None:
        """Cancel the callback's thread and wait for it to end."""
        thread = self.thread
        if thread is None:
            return
        self.thread = None
        thread.cancel()
        # The callback itself may be what stops the bus (the autoreloader restarting);
        # a thread cannot join itself.
        if thread is not threading.current_thread():
            thread.join(self.join_timeout)
            if thread.is_alive():
                self.bus.log(f"Monitor thread {thread.name!r} did not end within "
                             f"{self.join_timeout} s; leaving it (it is a daemon).", level=30)
                return
        self.bus.log(f"Stopped thread {thread.name!r}.")

    def graceful(self) -> None:
        """Replace a running thread with a fresh one."""
        if self.thread is not None:
            self.stop()
            self.start()
