"""drupe: CherryPy's documented application API as a plugin-oriented microkernel.

``import drupe as cherrypy`` and write CherryPy applications. The kernel supplies the
engine bus, the request pipeline and the hook points; HTTP servers, dispatchers, tools,
session backends and engine plugins are distributions found through entry points (see
``drupe._registry``). Importing this package loads no plugin and has no side effects.
"""

from drupe import _cpwsgi as wsgi
from drupe import dispatch, lib, process
from drupe._boot import boot, get_plugin_manager, hookimpl
from drupe._bus import Bus, ChannelFailures, SimplePlugin, states
from drupe._checker import checker
from drupe._config import Config, config, config_callable
from drupe._dispatch import DispatcherBase, ErrorHandler, LateParamPageHandler, PageHandler, Resolution
from drupe._engine import engine
from drupe._errors import (
    CherryPyException,
    ConfigError,
    DrupeException,
    HTTPError,
    HTTPRedirect,
    InternalRedirect,
    NotFound,
    TimeoutError,
)
from drupe._helper import expose, popargs, url
from drupe._kernel import quickstart, reset
from drupe._log import LogManager, log
from drupe._registry import (
    DuplicatePluginError,
    InvalidPluginError,
    MissingPluginError,
    PluginError,
    installed_plugins,
    registry,
)
from drupe._request import Hook, HookMap, Request, Response, hookpoints
from drupe._server import Server, ServerAdapter, server, servers
from drupe._serving import ThreadLocalProxy, in_flight, serving, thread_data
from drupe._tools import ErrorTool, HandlerTool, HandlerWrapperTool, Tool, Toolbox, tools
from drupe._tree import Application, Tree, tree
from drupe._version import __version__

request = ThreadLocalProxy("request")
response = ThreadLocalProxy("response")
session = ThreadLocalProxy("session")


def __getattr__(name: str) -> object:
    if name in ("request", "response", "session"):
        # Code written for CherryPy may ``del cherrypy.session`` (CherryPy's session tool
        # then makes it again); the thread-local proxy comes back on the next access.
        proxy = ThreadLocalProxy(name)
        globals()[name] = proxy
        return proxy
    # CherryPy's documentation reaches its private modules as attributes
    # (``cherrypy._cpconfig.environments``, ``cherrypy._cptools.Toolbox``): import the
    # compatibility module of that name on first access.
    if name.startswith("_cp"):
        import importlib

        try:
            return importlib.import_module(f"drupe.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"drupe.{name}":
                raise
    raise AttributeError(f"module 'drupe' has no attribute {name!r}")

__all__ = [
    "Application",
    "Bus",
    "ChannelFailures",
    "CherryPyException",
    "Config",
    "ConfigError",
    "DispatcherBase",
    "DrupeException",
    "DuplicatePluginError",
    "ErrorHandler",
    "ErrorTool",
    "HTTPError",
    "HTTPRedirect",
    "HandlerTool",
    "HandlerWrapperTool",
    "Hook",
    "HookMap",
    "InternalRedirect",
    "InvalidPluginError",
    "LateParamPageHandler",
    "LogManager",
    "MissingPluginError",
    "NotFound",
    "PageHandler",
    "PluginError",
    "Request",
    "Resolution",
    "Response",
    "Server",
    "ServerAdapter",
    "SimplePlugin",
    "ThreadLocalProxy",
    "TimeoutError",
    "Tool",
    "Toolbox",
    "Tree",
    "__version__",
    "boot",
    "checker",
    "config",
    "config_callable",
    "dispatch",
    "engine",
    "expose",
    "get_plugin_manager",
    "hookimpl",
    "hookpoints",
    "in_flight",
    "installed_plugins",
    "lib",
    "log",
    "popargs",
    "process",
    "quickstart",
    "registry",
    "request",
    "reset",
    "response",
    "server",
    "servers",
    "serving",
    "session",
    "states",
    "thread_data",
    "tools",
    "tree",
    "url",
    "wsgi",
]
