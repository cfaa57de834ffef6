"""``TimeoutMonitor``: mark responses that run longer than ``response.timeout``.

A request that takes too long cannot be interrupted from outside its thread, but it can
be *told*: this :class:`~drupe_process.Monitor` (thread "_TimeoutMonitor", default
``frequency`` 60 s) calls ``response.check_timeout()`` on every request in flight, which
sets ``response.timed_out`` once ``response.timeout`` seconds (default 300) have passed.
The request pipeline checks ``timed_out`` after the ``before_handler`` hooks and after
the handler, and answers 503 (``drupe.TimeoutError``); a streamed body stops. Long
handlers may check it themselves.

On ``drupe.engine`` the requests in flight come from the kernel (``drupe.in_flight()``,
which costs a request a dict store and a pop). On any other bus they are tracked through
its ``before_request`` and ``after_request`` channels, published around each request
with ``drupe.serving.request`` / ``drupe.serving.response`` set to that request.
"""

from __future__ import annotations

import threading
from typing import Any

import drupe
from drupe_process._monitor import Monitor, priority

__all__ = ["TimeoutMonitor"]


class TimeoutMonitor(Monitor):
    """Call ``check_timeout()`` on the responses in flight every ``frequency`` seconds."""

    def __init__(self, bus: Any, frequency: float = 60) -> None:
        # id(request) -> (request, response); keeping the request alive keeps its id unique.
        self._in_flight: dict[int, tuple[Any, Any]] = {}
        self._lock = threading.Lock()
        # A plain Bus lacks the request channels the engine has; SimplePlugin only
        # subscribes methods to channels that exist.
        bus.listeners.setdefault("before_request", set())
        bus.listeners.setdefault("after_request", set())
        super().__init__(bus, self.run, frequency, name="_TimeoutMonitor")

    @property
    def servings(self) -> list[tuple[Any, Any]]:
        """The ``(request, response)`` pairs in flight."""
        if self.bus is drupe.engine:
            return drupe.in_flight()
        with self._lock:
            return list(self._in_flight.values())

    # PERF: on drupe.engine the kernel already knows the requests in flight, so the
    # monitor adds nothing per request. Elsewhere the request channels are only published
    # when somebody listens, and each listener costs two publishes per request: tracking
    # is subscribed while the monitor thread runs — nobody would look otherwise.
    # Priority 71: just after the autoreloader (70), the order of CherryPy's startup log;
    # equal priorities would leave the order to chance.
    @priority(71)
    def start(self) -> None:
        """Start the thread and begin tracking requests."""
        super().start()
        if self.thread is not None and self.bus is not drupe.engine:
            self.bus.subscribe("before_request", self.track_request)
            self.bus.subscribe("after_request", self.untrack_request)

    def stop(self) -> None:
        """Stop tracking requests and stop the thread."""
        self.bus.unsubscribe("before_request", self.track_request)
        self.bus.unsubscribe("after_request", self.untrack_request)
        with self._lock:
            self._in_flight.clear()
        super().stop()

    def track_request(self) -> None:
        """``before_request`` listener: remember the current request."""
        request = drupe.serving.request
        with self._lock:
            self._in_flight[id(request)] = (request, drupe.serving.response)

    def untrack_request(self) -> None:
        """``after_request`` listener: forget the current request."""
        with self._lock:
            self._in_flight.pop(id(drupe.serving.request), None)

    def run(self) -> None:
        """Check every response in flight."""
        for _request, response in self.servings:
            response.check_timeout()


# The name CherryPy gave the class (and its thread, in the startup log).
_TimeoutMonitor = TimeoutMonitor
