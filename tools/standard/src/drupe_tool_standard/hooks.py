"""pluggy hook implementations: CherryPy's default tools, on by default.

Registered as ``standard`` in the ``drupe.plugins`` entry-point group, so the kernel —
which never names a plugin — learns the defaults from here at boot:

* ``drupe_config_defaults`` turns ``encode``, ``trailing_slash``, ``log_tracebacks`` and
  ``log_headers`` on globally, as CherryPy's ``config.defaults`` does. Config turns any of
  them off (``tools.encode.on: False``) in any scope.
* ``drupe_environments`` turns ``log_headers`` off in the production, staging, embedded
  and test_suite environments, as CherryPy's environments do.
"""

from __future__ import annotations

from typing import Any

import drupe

__all__ = ["DEFAULTS", "QUIET_ENVIRONMENTS", "drupe_config_defaults", "drupe_environments"]

DEFAULTS: dict[str, Any] = {
    "tools.encode.on": True,
    "tools.trailing_slash.on": True,
    "tools.log_tracebacks.on": True,
    "tools.log_headers.on": True,
}

QUIET_ENVIRONMENTS = ("production", "staging", "embedded", "test_suite")


@drupe.hookimpl
def drupe_config_defaults() -> dict[str, Any]:
    """The four tools CherryPy turns on by default."""
    return dict(DEFAULTS)


@drupe.hookimpl
def drupe_environments() -> dict[str, dict[str, Any]]:
    """No request headers in the error log of deployed (or test) processes."""
    return {name: {"tools.log_headers.on": False} for name in QUIET_ENVIRONMENTS}
