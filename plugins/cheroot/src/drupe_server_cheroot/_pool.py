"""The worker threads: cheroot's pool, with a stop that keeps to ``server.shutdown_timeout``.

Cheroot's ``ThreadPool.stop(timeout)`` waits for each worker up to the timeout, then
shuts the *reading* side of that worker's socket and joins it again **without a limit**:
a handler still computing, sleeping or waiting on a database never notices, so
``stop()`` (and ``engine.exit()``, and the process) waits for it, and its response is
still sent long after the server said it was stopping.

:class:`WorkerPool` stops in three steps:

1. every worker is told to end once it is done (one stop request each, after the
   connections already queued); idle ones end at once;
2. the workers still busy get until ``shutdown_timeout`` seconds after the stop began;
3. then the connection of each worker still busy is shut in both directions (the
   client sees the connection end instead of an answer; the worker's blocking reads
   and writes fail at once), connections still waiting in the queue are closed
   unanswered, and the workers get :data:`CUT_GRACE` seconds more to notice. Those still
   running (a handler that does no I/O) are *retired*: ``stop()`` returns without them,
   logging how many there were, and each ends as soon as its handler returns — it never
   takes another connection, also when the server has meanwhile been started again.

Worker threads are daemon threads, so a retired worker does not keep the process alive
after the engine exited. (Cheroot's are not; drupe's server thread already is, and
``engine.block()`` is what keeps a served process running.)

``shutdown_timeout = None`` waits without limit, as cheroot does.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import socket
import threading
import time
from typing import Any

# Cheroot's stop request for a worker (a module global of cheroot's pool; absent from its stubs).
from cheroot.workers.threadpool import _SHUTDOWNREQUEST as STOP_REQUEST  # type: ignore[attr-defined]
from cheroot.workers.threadpool import ThreadPool, WorkerThread

__all__ = ["CUT_GRACE", "WorkerPool", "cut_connection"]

CUT_GRACE = 0.25
"""Seconds the workers get to notice that their connections were shut, after the timeout."""


def cut_connection(conn: Any) -> None:
    """Shut ``conn``'s socket in both directions, from any thread, without closing it.

    The descriptor stays open (the worker owning the connection closes it): closing it
    here could let the number be reused by a new socket while the worker still uses it.
    """
    sock = getattr(conn, "socket", None)
    if sock is None:
        return
    with contextlib.suppress(OSError, ValueError, TypeError):
        if isinstance(sock, socket.socket):
            # The plain socket's shutdown, also for an ssl.SSLSocket: its own shutdown()
            # would drop the TLS state under the worker that is using it.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        else:
            sock.shutdown(socket.SHUT_RDWR)


def _put_unbounded(pending: queue.Queue[Any], item: Any) -> None:
    """Put ``item`` on ``pending`` at once, even when the queue is at its ``maxsize``."""
    with pending.mutex:
        pending._put(item)
        pending.unfinished_tasks += 1
        pending.not_empty.notify()


class _NoMoreWork:
    """The queue a retired worker sees: it only says "end"."""

    def get(self) -> Any:
        return STOP_REQUEST


class _RetiredServer:
    """What a retired worker sees as its server once its handler returns.

    Its next ``server.requests.get()`` says "end", so it never takes a connection of a
    later run; the connection it was serving is closed, not parked. Everything else (the
    error log, the statistics) is the real server's.
    """

    def __init__(self, server: Any) -> None:
        self._server = server
        self.requests = _NoMoreWork()

    def put_conn(self, conn: Any) -> None:
        conn.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._server, name)


class WorkerPool(ThreadPool):
    """Cheroot's ``ThreadPool`` with daemon workers and a bounded ``stop(timeout)``."""

    _queue: queue.Queue[Any]
    _threads: list[WorkerThread]

    def __init__(self, server: Any, min: int = 10, max: int = -1,
                 accepted_queue_size: int = -1, accepted_queue_timeout: float | None = 10) -> None:
        super().__init__(server, min=min, max=max, accepted_queue_size=accepted_queue_size,
                         accepted_queue_timeout=accepted_queue_timeout)  # type: ignore[arg-type]
        self.retired: list[WorkerThread] = []
        """The workers the last ``stop()`` left running (empty when all ended in time)."""

    def start(self) -> None:
        """Start the workers, on a fresh queue.

        The previous run's queue may still hold stop requests meant for workers it
        retired; a new worker must not take one of those.
        """
        fresh: queue.Queue[Any] = queue.Queue(maxsize=self._queue.maxsize)
        self._queue = fresh
        self.get = fresh.get
        super().start()

    def _spawn_worker(self) -> WorkerThread:
        worker = WorkerThread(self.server)  # type: ignore[no-untyped-call]
        worker.name = f"CP Server {worker.name}"
        # A worker retired by stop() must not keep the process alive (module docstring).
        worker.daemon = True
        worker.start()
        return worker

    # -- stopping --------------------------------------------------------------------------

    def stop(self, timeout: float | None = 5) -> None:
        """End the workers within ``timeout`` seconds (``None``: wait without limit).

        See the module docstring for the three steps.
        """
        if timeout is not None and timeout < 0:
            timeout = None  # cheroot's reading of a negative timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        workers = list(self._threads)
        self._threads[:] = []
        for _ in workers:
            # Past accepted_queue_size if need be: a full queue must not hold up the stop.
            _put_unbounded(self._queue, STOP_REQUEST)
        current = threading.current_thread()
        workers = [worker for worker in workers if worker is not current]
        self.retired = []

        for worker in workers:
            with contextlib.suppress(KeyboardInterrupt):
                worker.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        busy = [worker for worker in workers if worker.is_alive()]
        if not busy:
            return

        retired_view = _RetiredServer(self.server)
        for worker in busy:
            # Before the cut: once its handler fails or returns, the worker ends.
            worker.server = retired_view
            cut_connection(worker.conn)
        self._close_queued_connections()
        grace_end = time.monotonic() + CUT_GRACE
        for worker in busy:
            with contextlib.suppress(KeyboardInterrupt):
                worker.join(max(0.0, grace_end - time.monotonic()))
        self.retired = [worker for worker in busy if worker.is_alive()]
        message = (f"{len(busy)} request(s) still in progress after server.shutdown_timeout "
                   f"({timeout} s): their connections were shut")
        if self.retired:
            message += (f"; {len(self.retired)} handler(s) still running were left to finish in "
                        "their worker thread, which ends when the handler returns")
        self.server.error_log(message + ".", level=logging.WARNING)

    def _close_queued_connections(self) -> None:
        """Close the connections still waiting in the queue; keep its stop requests."""
        pending: queue.Queue[Any] = self._queue
        stops = 0
        while True:
            try:
                item = pending.get_nowait()
            except queue.Empty:
                break
            if item is STOP_REQUEST:
                stops += 1
            else:
                with contextlib.suppress(Exception):
                    item.close()
        for _ in range(stops):
            _put_unbounded(pending, STOP_REQUEST)
