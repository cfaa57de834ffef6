"""Wiring: connect the kernel's objects to each other, and ``quickstart``.

Importing this module creates no threads, opens no sockets, loads no plugin and touches
no logging configuration: it registers the global config namespaces, subscribes the
default server and the startup checks to the engine's ``start`` channel (nothing runs until
``engine.start()``), and defines :func:`quickstart`.
"""

from __future__ import annotations

import sys
from typing import Any

from drupe import _checker, _config, _log, _server, _tree
from drupe._config import NamespaceSet
from drupe._engine import _engine_namespace_handler, engine
from drupe._errors import ConfigError
from drupe._registry import MissingPluginError, PluginError
from drupe._request import Request

__all__ = ["quickstart"]


def _log_namespace_handler(key: str, value: Any) -> None:
    target = _log.log
    if key.startswith("_") or not hasattr(target, key):
        raise ConfigError(f"Config key 'log.{key}': the log has no setting {key!r}.")
    setattr(target, key, value)


_config.config.namespaces["engine"] = _engine_namespace_handler
_config.config.namespaces["server"] = _server._server_namespace_handler
_config.config.namespaces["log"] = _log_namespace_handler
_config.config.namespaces["checker"] = _checker._checker_namespace_handler
_config.config.namespaces["tree"] = _tree._tree_namespace_handler

# Request-scope namespaces added by applications (app.request_class.namespaces[ns] = h);
# the built-in ones (hooks, request, response, error_page, tools) are planned by the kernel.
Request.namespaces = NamespaceSet()

_server._init_default_server()
engine.subscribe("start", _checker.validate, priority=10)
engine.subscribe("start", _checker.checker, priority=50)
engine.subscribe("graceful", _log.log.reopen_files)

# What a freshly imported engine listens to; reset() returns to it.
_PRISTINE_LISTENERS = {channel: set(listeners) for channel, listeners in engine.listeners.items()}
_PRISTINE_PRIORITIES = dict(engine._priorities)


def quickstart(root: Any = None, script_name: str = "", config: Any = None) -> None:
    """Mount ``root``, apply the global part of ``config``, start the engine and block.

    Signal handling (SIGTERM, SIGHUP, SIGUSR1) is turned on when drupe-process is
    installed. A configuration error is logged with the key it concerns and ends the
    process with exit status 1.
    """
    if config:
        _config.config.update(config)
    _tree.current().mount(root, script_name, config)
    try:
        engine.signals.subscribe()
    except MissingPluginError:
        engine.log("Signal handling is not available: pip install drupe-process", level=30)
    try:
        engine.start()
    except (ConfigError, PluginError):
        # The bus logged the message; a traceback would only bury it.
        sys.exit(1)
    engine.block()


def reset() -> None:
    """Return the process to a freshly imported state (for tests and app factories).

    Exits the engine if it runs; unmounts every application; removes extra servers and
    restores the default server's settings; drops engine plugin instances (they are
    created afresh on next use) and every bus subscription made since import; restores
    the log and checker settings; resets the global config; boots again, so the
    ``drupe.plugins`` hook modules are registered and their defaults applied again.
    """
    from drupe import _boot
    from drupe._bus import states
    from drupe._registry import registry
    from drupe._server import SERVER_SETTINGS, server, servers

    if engine.state not in (states.STOPPED, states.EXITING):
        engine.exit()
    engine.state = states.STOPPED
    engine.execv = False
    _tree.current().apps.clear()
    _tree.tree.apps.clear()
    # An application may have replaced drupe.tree; a fresh process has the original.
    sys.modules["drupe"].tree = _tree.tree  # type: ignore[attr-defined]

    for name in list(engine.__dict__):
        if registry.has("drupe.engine", name):
            plugin = engine.__dict__.pop(name)
            unsubscribe = getattr(plugin, "unsubscribe", None)
            if callable(unsubscribe):
                try:
                    unsubscribe()
                except Exception:
                    engine.log(f"Error while unsubscribing {name!r} in reset()", level=40,
                               traceback=True)
    for extra in list(servers.values()):
        extra.unsubscribe()
    servers.clear()
    engine.listeners.clear()
    engine.listeners.update({channel: set(cbs) for channel, cbs in _PRISTINE_LISTENERS.items()})
    engine._priorities.clear()
    engine._priorities.update(_PRISTINE_PRIORITIES)
    engine._ordered.clear()

    for name, value in SERVER_SETTINGS.items():
        setattr(server, name, value)
    server.socket_host = "127.0.0.1"
    server.httpserver = None
    server._created_httpserver = False
    server.wsgi_app = None
    server.running = False
    # Adapter-specific keys (server.<extra>) are attributes too; drop them with their
    # record, or the next server object would still see the previous value as set.
    for name in server._extra:
        server.__dict__.pop(name, None)
    server._extra.clear()

    # Settings that config namespaces changed on process objects, back to their defaults.
    _log.log._screen_pending = True
    _log.log.error_file = ""
    _log.log.access_file = ""
    _log.log.wsgi = False
    _log.log.access_log_format = _log.LogManager.access_log_format
    _checker.checker.__dict__.clear()
    _checker.checker.priority = 50  # type: ignore[attr-defined]

    _boot.reboot()
    _config.config.defaults.clear()
    _config.config.reset()
    # Boot again now, so the plugins' defaults are in place as after a first use.
    _boot.boot()
    _config.generation.bump()
