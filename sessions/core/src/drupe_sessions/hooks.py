"""drupe-sessions' pluggy hooks: check session configuration when the engine starts.

``tools.sessions.*`` values are checked one by one with every other config key by the
kernel's startup validation. What only the whole set can tell — the backend's own options
(a ``storage_path`` that cannot be written, a key the backend does not know, a
``storage_type`` that is not installed together with its options) — is checked here: when
an application is mounted, a ``start`` listener is subscribed (priority 11, right after
the kernel's validation at 10) that configures the storage class of every config section
that turns sessions on, exactly as the first request would. A failure stops the engine
with an error naming the application, the section and the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import drupe

__all__ = ["check_session_config", "drupe_app_mounted"]

_PREFIX = "tools.sessions."


def _session_entries(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key[len(_PREFIX):]: value for key, value in values.items()
            if isinstance(key, str) and key.startswith(_PREFIX)}


def check_session_config() -> None:
    """Configure the session storage of every mounted application (ConfigError if bad)."""
    from drupe_sessions._tool import Settings

    problems: list[str] = []
    base = _session_entries(drupe.config)
    for script_name, app in list(drupe.tree.apps.items()):
        app_config = getattr(app, "config", None)
        if not isinstance(app_config, Mapping):
            continue
        sections = sorted((section for section, values in app_config.items()
                           if isinstance(section, str) and section.startswith("/")
                           and isinstance(values, Mapping)), key=len)
        for section in sections or ["/"]:
            merged = dict(base)
            for other in sections:
                if section == other or section.startswith(other.rstrip("/") + "/") or other == "/":
                    merged.update(_session_entries(app_config[other]))
            if not merged.get("on"):
                continue
            merged.pop("on", None)
            merged.pop("priority", None)
            try:
                Settings(merged).configured_class(app)
            except (drupe.ConfigError, LookupError, ValueError, TypeError) as exc:
                problems.append(f"application mounted at {script_name or '/'!r}, section "
                                f"[{section}]: {exc}")
    if problems:
        raise drupe.ConfigError("Invalid session configuration:\n  - " + "\n  - ".join(problems))


check_session_config.priority = 11  # type: ignore[attr-defined]


@drupe.hookimpl
def drupe_app_mounted(app: Any) -> None:
    engine = drupe.engine
    if check_session_config not in engine.listeners.get("start", ()):
        engine.subscribe("start", check_session_config, priority=11)
