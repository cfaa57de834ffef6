"""Run drupe inside another server (gunicorn, uWSGI, mod_wsgi, Tornado, Twisted, ...).

The host serves HTTP and owns the process; drupe's kernel is the WSGI application and
its engine (the bus: monitors, session clean-up, PID-less plugins, the application's own
``start`` / ``stop`` listeners) must run in *each* worker process — started after the
host forks, because threads do not survive ``fork()``.

* :func:`embed` prepares the process: the ``embedded`` environment (no screen log, no
  signal handling of drupe's own, no checker), no autoreloader, drupe's HTTP server
  unsubscribed. It returns the WSGI callable (``drupe.tree`` by default).
* :func:`start` starts the engine in the current process, once per process id (a worker
  forked from a process where the engine was already started starts its own), and
  publishes the ``main`` channel every 0.1 s from a background thread when something
  listens there, as ``engine.block()`` would. :func:`stop` exits the engine.
* :class:`HostedApp` / :func:`wsgi_app` wraps a WSGI callable so that the first request a
  worker serves starts the engine in that worker: for hosts without fork hooks.
* :func:`post_worker_init` and :func:`worker_exit` are gunicorn server hooks; a gunicorn
  config file only needs
  ``from drupe_process.hosting import post_worker_init, worker_exit``.

Nothing here is imported by ``import drupe`` or ``import drupe_process``.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

import drupe
from drupe import states
from drupe_process._tasks import BackgroundTask

__all__ = ["HostedApp", "embed", "post_worker_init", "start", "stop", "worker_exit", "wsgi_app"]

_lock = threading.Lock()
_started_in: dict[str, Any] = {"pid": None, "main": None}


def embed(app: Callable[..., Any] | None = None, environment: str = "embedded") -> Callable[..., Any]:
    """Configure drupe for a foreign host; return the WSGI callable to hand to it."""
    drupe.config.update({"environment": environment, "engine.autoreload.on": False})
    drupe.server.unsubscribe()
    return app if app is not None else drupe.tree


def start() -> None:
    """Start the engine in this process (once per pid; safe to call from any thread)."""
    pid = os.getpid()
    if _started_in["pid"] == pid and drupe.engine.state in (states.STARTING, states.STARTED):
        return
    with _lock:
        if _started_in["pid"] == pid and drupe.engine.state in (states.STARTING, states.STARTED):
            return
        if _started_in["pid"] != pid:
            # Inherited from the parent through fork(): its threads are gone here, and
            # the state says STARTED for a bus that runs nothing in this process.
            drupe.engine.state = states.STOPPED
            _started_in["main"] = None
        drupe.engine.start()
        _started_in["pid"] = pid
        if drupe.engine.has_listeners("main") and _started_in["main"] is None:
            task = BackgroundTask(0.1, drupe.engine.publish, ["main"], bus=drupe.engine)
            task.name = "drupe main channel"
            task.start()
            _started_in["main"] = task
        atexit.register(stop)


def stop() -> None:
    """Exit the engine in this process (``stop`` then ``exit`` channels)."""
    task = _started_in["main"]
    if task is not None:
        task.cancel()
        _started_in["main"] = None
    if _started_in["pid"] == os.getpid() and drupe.engine.state not in (states.STOPPED, states.EXITING):
        drupe.engine.exit()
    _started_in["pid"] = None


class HostedApp:
    """A WSGI callable that starts the engine in the worker before its first request."""

    def __init__(self, app: Callable[..., Any] | None = None) -> None:
        self.app = app if app is not None else drupe.tree

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if _started_in["pid"] != os.getpid():
            start()
        return self.app(environ, start_response)


def wsgi_app(app: Callable[..., Any] | None = None, environment: str = "embedded") -> HostedApp:
    """:func:`embed`, then wrap ``app`` (default ``drupe.tree``) in :class:`HostedApp`."""
    return HostedApp(embed(app, environment))


def post_worker_init(worker: Any) -> None:
    """gunicorn hook: the worker loaded the application; start the engine in it."""
    start()


def worker_exit(server: Any, worker: Any) -> None:
    """gunicorn hook: the worker is exiting; stop the engine."""
    stop()
