"""Boot: load the ``drupe.plugins`` hook modules and apply what they contribute.

Importing ``drupe`` does nothing. The first time drupe is *used* — a global config
update, a mount, an engine plugin looked up, ``engine.start()`` or the first request —
:func:`boot` runs once:

1. the pluggy plugin manager is created with :mod:`drupe.hookspecs`, and every module in
   the ``drupe.plugins`` entry-point group is registered (set the environment variable
   ``DRUPE_DISABLE_PLUGIN_AUTOLOAD=1`` to skip this, e.g. in tests);
2. ``drupe_environments`` results are merged into the config environments;
3. ``drupe_config_defaults`` results become global config defaults (applied unless the
   user already set the key);
4. ``drupe_body_processors`` results join the default request-body processors;
5. ``drupe_configure(config)`` is called.

Tests that install plugins on the fly call :func:`reboot` to run it again.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["boot", "get_plugin_manager", "hookimpl", "observers", "reboot"]

_lock = threading.RLock()
_state: dict[str, Any] = {"booted": False, "booting": False, "pm": None, "observers": None}


class _HookimplMarker:
    """``drupe.hookimpl`` without importing pluggy until a plugin module uses it."""

    def __init__(self) -> None:
        self._marker: Any = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._marker is None:
            import pluggy

            self._marker = pluggy.HookimplMarker("drupe")
        return self._marker(*args, **kwargs)


hookimpl = _HookimplMarker()


def get_plugin_manager() -> Any:
    """The pluggy ``PluginManager`` holding drupe's hook specs and implementations."""
    pm = _state["pm"]
    if pm is None:
        with _lock:
            pm = _state["pm"]
            if pm is None:
                import pluggy

                from drupe import hookspecs

                pm = pluggy.PluginManager("drupe")
                pm.add_hookspecs(hookspecs)
                _state["pm"] = pm
    return pm


def _load_plugin_modules(pm: Any) -> None:
    from drupe._registry import registry

    if os.environ.get("DRUPE_DISABLE_PLUGIN_AUTOLOAD"):
        return
    for name in registry.names("drupe.plugins"):
        module = registry.load("drupe.plugins", name, key="drupe.plugins")
        if pm.is_registered(module) or pm.get_plugin(name) is not None:
            continue
        pm.register(module, name=name)


def boot() -> None:
    """Run the boot sequence once (see the module docstring)."""
    if _state["booted"] or _state["booting"]:
        return
    with _lock:
        if _state["booted"] or _state["booting"]:
            return
        _state["booting"] = True
        try:
            _boot()
            _state["booted"] = True
        finally:
            _state["booting"] = False


def _boot() -> None:
    from drupe import _body, _config
    from drupe._config import config as global_config

    pm = get_plugin_manager()
    _load_plugin_modules(pm)
    hook = pm.hook

    for contribution in hook.drupe_environments():
        for env_name, entries in (contribution or {}).items():
            _config.environments.setdefault(env_name, {}).update(entries)

    defaults: dict[str, Any] = {}
    for contribution in hook.drupe_config_defaults():
        defaults.update(contribution or {})
    global_config.defaults.update(defaults)
    missing = {key: value for key, value in defaults.items() if key not in global_config}
    if missing:
        dict.update(global_config, missing)
        _config.generation.bump()
        global_config.namespaces(missing)

    for contribution in hook.drupe_body_processors():
        _body.default_processors.update(contribution or {})

    hook.drupe_configure(config=global_config)
    _state["observers"] = None


def reboot() -> None:
    """Forget the boot and the plugin manager; the next use boots again (for tests)."""
    with _lock:
        _state["booted"] = False
        _state["pm"] = None
        _state["observers"] = None
    from drupe._config import generation

    generation.bump()


def is_booted() -> bool:
    return bool(_state["booted"])


def observers() -> tuple[Callable[[], None] | None, Callable[[], None] | None]:
    """Callables for the request observation hooks, or ``None`` when nobody implements them."""
    cached = _state["observers"]
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    pm = _state["pm"]
    started: Callable[[], None] | None = None
    finished: Callable[[], None] | None = None
    if pm is not None:
        from drupe._serving import serving

        hook = pm.hook
        if hook.drupe_request_started.get_hookimpls():
            def started() -> None:
                hook.drupe_request_started(request=serving.request, response=serving.response)

        if hook.drupe_request_finished.get_hookimpls():
            def finished() -> None:
                hook.drupe_request_finished(request=serving.request, response=serving.response)

    result = (started, finished)
    _state["observers"] = result
    return result


def call_app_mounted(app: Any) -> None:
    """Tell plugins an application was mounted."""
    pm = _state["pm"]
    if pm is not None:
        pm.hook.drupe_app_mounted(app=app)
