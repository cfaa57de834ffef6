"""drupe-process's boot hooks (registered in the ``drupe.plugins`` entry-point group).

At boot the kernel asks every hook module for config defaults and environment entries.
drupe-process answers with CherryPy's defaults — the autoreloader, the timeout monitor
and the thread manager are subscribed to the engine — and with the one key of the
``production``, ``staging``, ``embedded`` and ``test_suite`` environments that concerns
an engine plugin: ``engine.autoreload.on = False``. The kernel keeps that key out of its
own environments so that ``environment: 'production'`` works without this distribution.

The signal handler is not subscribed here: ``drupe.quickstart()`` (or the application,
with ``drupe.engine.signals.subscribe()``) does it, as in CherryPy.
"""

from __future__ import annotations

from typing import Any

import drupe

__all__ = ["drupe_config_defaults", "drupe_environments"]

_WITHOUT_AUTORELOAD = ("production", "staging", "embedded", "test_suite")


@drupe.hookimpl
def drupe_config_defaults() -> dict[str, Any]:
    """Subscribe the autoreloader, timeout monitor and thread manager by default."""
    return {
        "engine.autoreload.on": True,
        "engine.timeout_monitor.on": True,
        "engine.thread_manager.on": True,
    }


@drupe.hookimpl
def drupe_environments() -> dict[str, dict[str, Any]]:
    """Turn the autoreloader off in the deployment and test environments."""
    return {name: {"engine.autoreload.on": False} for name in _WITHOUT_AUTORELOAD}
