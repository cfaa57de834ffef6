"""``Health``: ``/healthz`` and ``/readyz`` endpoints that follow the engine's state.

For load balancers and orchestrators (Kubernetes probes, systemd watchdogs, nginx
``health_check``). ``engine.health.on = True`` grafts two small WSGI applications on
``drupe.tree`` — so they answer on every server of the process, and under any WSGI host
that serves ``drupe.tree`` — without touching the applications' tools or config:

==============  =======================================================================
``/healthz``    liveness: ``200`` while the process runs (any bus state but EXITING),
                ``503`` once it is exiting
``/readyz``     readiness: ``200`` only while the bus is STARTED and every callable of
                ``checks`` returns a true value; ``503`` while starting (the server
                already answers from priority 75, before the bus is STARTED), while
                stopping or draining, and when a check fails or raises
==============  =======================================================================

Bodies are small JSON documents (``{"status": "ok", "state": "STARTED", "pid": 4242}``);
responses carry ``Cache-Control: no-store``; a 503 carries ``Retry-After: 1``. Only
``GET`` and ``HEAD`` are allowed (``405`` with ``Allow`` otherwise); a longer path below
the endpoint is ``404``.

Config: ``engine.health.on``, ``engine.health.healthz_path`` (``'/healthz'``),
``engine.health.readyz_path`` (``'/readyz'``), ``engine.health.checks`` (a list of
callables; a check's exception message is shown in the 503 body).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from typing import Any

import drupe
from drupe import ConfigError, states

__all__ = ["Health"]


def _check_path(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.startswith("/") or value == "/" or value.endswith("/"):
        raise ConfigError(f"Config key 'engine.health.{name}': expected a path such as "
                          f"'/{name[:-5]}', not {value!r}.")
    return value


class Health:
    """Liveness and readiness endpoints on ``drupe.tree`` (see the module docstring)."""

    def __init__(self, bus: Any) -> None:
        self.bus = bus
        self.checks: list[Callable[[], Any]] = []
        self._healthz_path = "/healthz"
        self._readyz_path = "/readyz"
        self.subscribed = False

    @property
    def healthz_path(self) -> str:
        return self._healthz_path

    @healthz_path.setter
    def healthz_path(self, value: str) -> None:
        self._move("_healthz_path", _check_path(value, "healthz_path"))

    @property
    def readyz_path(self) -> str:
        return self._readyz_path

    @readyz_path.setter
    def readyz_path(self, value: str) -> None:
        self._move("_readyz_path", _check_path(value, "readyz_path"))

    def _move(self, attribute: str, value: str) -> None:
        if self.subscribed:
            self.unsubscribe()
            setattr(self, attribute, value)
            self.subscribe()
        else:
            setattr(self, attribute, value)

    # -- on the tree -------------------------------------------------------------------

    def subscribe(self) -> None:
        """Graft the two endpoints on ``drupe.tree``."""
        drupe.tree.graft(self.healthz, self._healthz_path)
        drupe.tree.graft(self.readyz, self._readyz_path)
        self.subscribed = True

    def unsubscribe(self) -> None:
        """Remove the endpoints from ``drupe.tree``."""
        for path, app in ((self._healthz_path, self.healthz), (self._readyz_path, self.readyz)):
            if drupe.tree.apps.get(path) == app:
                del drupe.tree.apps[path]
        self.subscribed = False

    # -- the answers -------------------------------------------------------------------

    def liveness(self) -> tuple[bool, dict[str, Any]]:
        """``(alive, details)``."""
        state = self.bus.state
        alive = state is not states.EXITING
        return alive, {"status": "ok" if alive else "exiting", "state": state.name, "pid": os.getpid()}

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """``(ready, details)``: STARTED and every check passes."""
        state = self.bus.state
        details: dict[str, Any] = {"state": state.name, "pid": os.getpid()}
        if state is not states.STARTED:
            details["status"] = "unavailable"
            return False, details
        failures: list[str] = []
        for check in list(self.checks):
            name = getattr(check, "__name__", repr(check))
            try:
                if not check():
                    failures.append(f"{name}: not ready")
            except Exception as exc:
                failures.append(f"{name}: {exc}")
        if failures:
            details.update(status="unavailable", failures=failures)
            return False, details
        details["status"] = "ok"
        return True, details

    def healthz(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """WSGI: the liveness endpoint."""
        return self._answer(environ, start_response, self.liveness)

    def readyz(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """WSGI: the readiness endpoint."""
        return self._answer(environ, start_response, self.readiness)

    @staticmethod
    def _answer(environ: dict[str, Any], start_response: Callable[..., Any],
                probe: Callable[[], tuple[bool, dict[str, Any]]]) -> Iterable[bytes]:
        headers = [("Cache-Control", "no-store")]
        method = environ.get("REQUEST_METHOD", "GET")
        if environ.get("PATH_INFO", "") not in ("", "/"):
            status, document = "404 Not Found", {"status": "not found"}
        elif method not in ("GET", "HEAD"):
            status, document = "405 Method Not Allowed", {"status": "method not allowed"}
            headers.append(("Allow", "GET, HEAD"))
        else:
            ok, document = probe()
            status = "200 OK" if ok else "503 Service Unavailable"
            if not ok:
                headers.append(("Retry-After", "1"))
        body = json.dumps(document).encode("utf-8")
        headers += [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        start_response(status, headers)
        return [b""] if method == "HEAD" else [body]
