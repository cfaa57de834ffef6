"""Repeating background work: :class:`BackgroundTask` and :class:`PerpetualTimer`.

Both are threads that call one function again and again, ``interval`` seconds apart,
until they are cancelled. Their life::

    task = BackgroundTask(5, refresh, bus=engine)
    task.start()        # waits 5 s, calls refresh(), waits 5 s, calls refresh(), ...
    task.cancel()       # wakes the thread at once; it ends without another call
    task.join()

Unlike a thread that sleeps, the wait is on a condition variable, so ``cancel()`` takes
effect immediately and a :class:`~drupe_process.Monitor` can join its thread when the bus
stops (nothing is left running behind a stopped engine). Changing ``interval`` on a
running :class:`BackgroundTask` wakes it too: the new interval counts from the last call.

When the function raises, the error is logged on the bus (when one was given) and the
thread ends: a failing job repeated every second would only fill the log. Without a bus
the exception propagates, so that Python's thread excepthook reports it rather than
nobody.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["BackgroundTask", "PerpetualTimer"]


class BackgroundTask(threading.Thread):
    """A daemon thread calling ``function(*args, **kwargs)`` every ``interval`` seconds.

    The first call happens one interval after :meth:`start`. ``cancel()`` stops the thread
    (immediately, even in the middle of a long interval); ``running`` is true from the
    moment the thread runs until it is cancelled or its function fails.
    """

    def __init__(self, interval: float, function: Callable[..., Any],
                 args: Iterable[Any] = (), kwargs: Mapping[str, Any] | None = None,
                 bus: Any = None) -> None:
        super().__init__()
        self._interval = interval
        self.function = function
        self.args = list(args)
        self.kwargs = dict(kwargs or {})
        self.bus = bus
        self.running = False
        self._cancelled = False
        self._wakeup = threading.Condition()
        # Daemonic, as CherryPy's: a task that is never cancelled must not keep the
        # process alive after the main thread ends.
        self.daemon = True

    @property
    def interval(self) -> float:
        """Seconds between calls; setting it wakes the thread so it applies at once."""
        return self._interval

    @interval.setter
    def interval(self, value: float) -> None:
        with self._wakeup:
            self._interval = value
            self._wakeup.notify_all()

    def cancel(self) -> None:
        """Stop repeating; the thread ends without calling the function again."""
        with self._wakeup:
            self._cancelled = True
            self.running = False
            self._wakeup.notify_all()

    def _wait_for_next_call(self, last_call: float) -> bool:
        """Wait until one interval after ``last_call``; False when cancelled meanwhile."""
        with self._wakeup:
            while not self._cancelled:
                # Recomputed after every wake-up: the interval may have been changed.
                remaining = last_call + self._interval - time.monotonic()
                if remaining <= 0:
                    return True
                self._wakeup.wait(remaining)
            return False

    def run(self) -> None:
        with self._wakeup:
            if self._cancelled:
                return
            self.running = True
        last_call = time.monotonic()
        while self._wait_for_next_call(last_call):
            last_call = time.monotonic()
            try:
                self.function(*self.args, **self.kwargs)
            except Exception:
                self.running = False
                if self.bus is None:
                    raise
                self.bus.log(f"Error in background task thread function {self.function!r}; "
                             "the task has stopped.", level=40, traceback=True)
                return


class PerpetualTimer(threading.Timer):
    """A :class:`threading.Timer` that fires again and again until ``cancel()``.

    It takes the Timer's arguments (``interval, function, args=None, kwargs=None``) plus
    an optional ``bus`` keyword, on which a failure of ``function`` is logged before the
    timer stops.
    """

    def __init__(self, *args: Any, bus: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bus = bus

    def run(self) -> None:
        # ``finished`` is the Timer's own event; ``cancel()`` sets it and wakes the wait.
        while not self.finished.wait(self.interval):
            try:
                self.function(*self.args, **self.kwargs)
            except Exception:
                if self.bus is None:
                    raise
                self.bus.log(f"Error in perpetual timer thread function {self.function!r}; "
                             "the timer has stopped.", level=40, traceback=True)
                return
