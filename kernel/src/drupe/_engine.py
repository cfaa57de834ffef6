"""``drupe.engine``: the process bus, with engine plugins loaded by name.

The engine is a :class:`~drupe._bus.Bus` with two more channels published around each
request (``before_request`` and ``after_request``, only when somebody listens) and
attributes that resolve to engine plugins from the ``drupe.engine`` entry-point group:
``drupe.engine.autoreload``, ``drupe.engine.signal_handler``,
``drupe.engine.timeout_monitor``, ``drupe.engine.thread_manager`` (drupe-process) are
created on first access, once. ``engine.<plugin>.on = True/False`` config subscribes or
unsubscribes a plugin; other ``engine.<plugin>.<attr>`` keys set its attributes.

The engine's ``log`` channel writes to ``drupe.log`` with the ``ENGINE`` context, which
gives the familiar ``[21/Nov/2026:10:00:00] ENGINE Bus STARTED`` lines.
"""

from __future__ import annotations

from typing import Any

from drupe._bus import Bus
from drupe._errors import ConfigError

__all__ = ["Engine", "engine"]


class _HandleSignals:
    """``engine.signals``: ``subscribe()`` turns on the signal handler plugin."""

    def __init__(self, bus: Engine) -> None:
        self.bus = bus

    def subscribe(self) -> None:
        """Subscribe ``engine.signal_handler`` (from drupe-process)."""
        self.bus.signal_handler.subscribe()

    def unsubscribe(self) -> None:
        handler = self.bus.__dict__.get("signal_handler")
        if handler is not None:
            handler.unsubscribe()


class Engine(Bus):
    """The bus plus lazily loaded engine plugins (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.listeners["before_request"] = set()
        self.listeners["after_request"] = set()
        self.signals = _HandleSignals(self)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        from drupe._boot import boot
        from drupe._registry import registry

        boot()
        # Boot may have created the plugin (config defaults name it).
        if name in self.__dict__:
            return self.__dict__[name]
        plugin_class = registry.load("drupe.engine", name, key=f"drupe.engine.{name}")
        plugin = plugin_class(self)
        self.__dict__[name] = plugin
        return plugin

    def start(self) -> None:
        from drupe._boot import boot

        boot()
        super().start()


def _log_to_drupe(msg: str, level: int = 20) -> None:
    from drupe._log import log

    log.error(msg, "ENGINE", severity=level)


engine = Engine()
engine.subscribe("log", _log_to_drupe)


def _engine_namespace_handler(key: str, value: Any) -> None:
    """Handler of the ``engine`` config namespace."""
    if key in ("SIGHUP", "SIGTERM"):
        listeners = engine.listeners.setdefault(key, set())
        if value is None:
            for listener in list(listeners):
                engine.unsubscribe(key, listener)
        elif isinstance(value, (list, tuple)):
            for listener in list(listeners):
                engine.unsubscribe(key, listener)
            for listener in value:
                engine.subscribe(key, listener)
        else:
            engine.subscribe(key, value)
        return
    if "." in key:
        plugin_name, attr = key.split(".", 1)
        from drupe._registry import MissingPluginError

        try:
            plugin = getattr(engine, plugin_name)
        except MissingPluginError as exc:
            raise MissingPluginError(exc.group, exc.name or plugin_name, f"engine.{key}", exc.installed,
                                     exc.closest, exc.distribution) from None
        except AttributeError:
            raise ConfigError(
                f"Config key 'engine.{key}': the engine has no plugin {plugin_name!r}."
            ) from None
        if attr == "on":
            method = getattr(plugin, "subscribe" if value else "unsubscribe", None)
            if callable(method):
                method()
                return
        if not hasattr(plugin, attr):
            raise ConfigError(f"Config key 'engine.{key}': the {plugin_name!r} engine plugin has "
                              f"no attribute {attr!r}.")
        setattr(plugin, attr, value)
    else:
        if not hasattr(engine, key):
            raise ConfigError(f"Config key 'engine.{key}': the engine has no attribute {key!r}.")
        setattr(engine, key, value)
