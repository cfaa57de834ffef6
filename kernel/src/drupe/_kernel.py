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


def quickstart(root: Any = None, script_name: str = "", config: Any = None) -> None:
    """Mount ``root``, apply the global part of ``config``, start the engine and block.

    Signal handling (SIGTERM, SIGHUP, SIGUSR1) is turned on when drupe-process is
    installed. A configuration error is logged with the key it concerns and ends the
    process with exit status 1.
    """
    if config:
        _config.config.update(config)
    _tree.tree.mount(root, script_name, config)
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

    Exits the engine if it runs, unmounts every application, unsubscribes extra servers,
    resets the default server's settings and the global config to its defaults, and
    forgets cached request plans. Plugins stay loaded; engine plugins stay created but
    their config defaults are applied again.
    """
    from drupe._bus import states
    from drupe._server import SERVER_SETTINGS, server, servers

    if engine.state not in (states.STOPPED, states.EXITING):
        engine.exit()
    engine.state = states.STOPPED
    engine.execv = False
    _tree.tree.apps.clear()
    for extra in list(servers.values()):
        extra.unsubscribe()
    servers.clear()
    for name, value in SERVER_SETTINGS.items():
        setattr(server, name, value)
    server.socket_host = "127.0.0.1"
    server.httpserver = None
    server.wsgi_app = None
    # Adapter-specific keys (server.<extra>) live as attributes too; drop them with their
    # record, or the next adapter would see the previous test's value as explicitly set.
    for name in server._extra:
        server.__dict__.pop(name, None)
    server._extra.clear()
    server.subscribe()
    # Settings that config namespaces changed on process objects, back to their defaults.
    _log.log._screen_pending = True
    for manager in (_log.log,):
        manager.error_file = ""
        manager.access_file = ""
        manager.wsgi = False
    _log.log.access_log_format = _log.LogManager.access_log_format
    _checker.checker.__dict__.clear()
    _checker.checker.priority = 50  # type: ignore[attr-defined]
    _config.config.reset()
    _config.generation.bump()
