"""``drupe.dispatch``: the dispatchers, by CherryPy's class names, loaded on first use.

``drupe.dispatch.Dispatcher`` is the default (object tree) dispatcher,
``MethodDispatcher``, ``VirtualHost``, ``RoutesDispatcher`` and ``XMLRPCDispatcher`` the
others; each comes from the distribution registering it in the ``drupe.dispatchers``
entry-point group (``default``, ``method``, ``vhost``, ``routes``, ``xmlrpc``). Any other
registered dispatcher is reachable by its entry-point name. The page-handler helpers are
the kernel's.
"""

from typing import Any

from drupe._dispatch import (
    DispatcherBase,
    ErrorHandler,
    LateParamPageHandler,
    PageHandler,
    Resolution,
    test_callable_spec,
)

# Only the kernel's names: a star import must not load every dispatcher plugin.
__all__ = [
    "DispatcherBase",
    "ErrorHandler",
    "LateParamPageHandler",
    "PageHandler",
    "Resolution",
    "test_callable_spec",
]

CLASS_NAMES = {
    "Dispatcher": "default",
    "MethodDispatcher": "method",
    "VirtualHost": "vhost",
    "RoutesDispatcher": "routes",
    "XMLRPCDispatcher": "xmlrpc",
}


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    from drupe._registry import registry

    entry_name = CLASS_NAMES.get(name, name)
    value = registry.load("drupe.dispatchers", entry_name, key=f"drupe.dispatch.{name}")
    globals()[name] = value
    return value
