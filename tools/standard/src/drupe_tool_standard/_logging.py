"""Logging tools: ``log_tracebacks``, ``log_headers`` (both on by default) and ``log_hooks``.

* ``log_tracebacks`` (``before_error_response`` 50) writes the error's traceback to the
  error log and sets ``request.error_logged``: the kernel logs an unanticipated error
  itself only when no hook did, so it is logged once.
* ``log_headers`` (``before_error_response`` 50) writes the request's headers to the error
  log, to help reproduce the failing request. Turned off in the production, staging,
  embedded and test_suite environments, since headers carry cookies and credentials.
* ``log_hooks`` (``on_end_request`` 100) writes the hooks the request ran, by hook point in
  execution order — a way to see which tools acted on a URL.
"""

from __future__ import annotations

import logging
from typing import Any

import drupe

__all__ = ["log_hooks", "log_request_headers", "log_traceback"]

# The hook points in the order a request meets them (the error points last).
HOOK_POINTS = tuple(drupe.hookpoints)


def log_traceback(severity: int = logging.ERROR, debug: bool = False) -> None:
    """Log the current error's traceback at ``severity`` and mark the error as logged."""
    request = drupe.serving.request
    drupe.log(f"Error while handling {request.request_line!r}:", "HTTP", severity=severity,
              traceback=True)
    request.error_logged = True


def log_request_headers(debug: bool = False) -> None:
    """Log the request's header lines."""
    # WSGI hands header names over in capitals (HTTP_X_THING): show them as usually written.
    lines = [f"  {name.title()}: {value}" for name, value in drupe.serving.request.header_list]
    drupe.log("\nRequest Headers:\n" + "\n".join(lines), "HTTP")


def _describe(hooks: Any) -> str:
    lines: list[str] = []
    names = list(HOOK_POINTS) + sorted(name for name in hooks if name not in HOOK_POINTS)
    for point in names:
        lines.append(f"    {point}:")
        for hook in sorted(hooks.get(point, []), key=lambda hook: hook.priority):
            lines.append(f"        {hook!r}")
    return "\n".join(lines)


def log_hooks(debug: bool = False) -> None:
    """Log the request's hooks, by hook point, each point's hooks in execution order."""
    request = drupe.serving.request
    drupe.log(f"\nRequest Hooks for {drupe.url()}:\n{_describe(request.hooks)}", "HTTP")
