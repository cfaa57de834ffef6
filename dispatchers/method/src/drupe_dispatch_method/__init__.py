"""MethodDispatcher: REST resources whose methods are named after HTTP verbs.

The path is walked like the object-tree dispatcher does (``_cp_dispatch``, ``popargs``
and ``_cp_config`` along the way work the same); the object found must be *exposed* and
is a resource. Its upper-case methods (``GET``, ``POST``, ``PUT``, ``DELETE``, ...)
handle the request method of the same name:

* ``HEAD`` is served by ``GET`` when the resource has no ``HEAD`` (the kernel drops the
  body and keeps the headers);
* ``OPTIONS`` is answered with ``200`` and the ``Allow`` header when the resource has no
  ``OPTIONS`` of its own;
* any other method the resource lacks is ``405 Method Not Allowed``.

Every response for a resource carries ``Allow`` listing the methods it answers. The verb
method's own ``_cp_config`` is merged last. Request methods are matched case-insensitively,
as CherryPy does. The kernel caches the result per (path, method).
"""

from __future__ import annotations

from typing import Any

import drupe
from drupe_dispatch_objecttree import Dispatcher

__all__ = ["MethodDispatcher", "allowed_methods"]
__version__ = "0.1.0"


def allowed_methods(resource: Any) -> list[str]:
    """The methods ``resource`` answers, sorted: its verbs, plus HEAD (with GET) and OPTIONS."""
    verbs = {name for name in dir(resource) if name.isupper() and callable(getattr(resource, name, None))}
    if "GET" in verbs:
        verbs.add("HEAD")
    verbs.add("OPTIONS")
    return sorted(verbs)


def _answer_options() -> bytes:
    # The Allow header was set from the plan; OPTIONS needs nothing else.
    drupe.response.headers["Content-Length"] = "0"
    return b""


class MethodDispatcher(Dispatcher):
    """Dispatch to the resource method named after the HTTP verb (see the module docstring)."""

    def plan_key(self, request: Any, path_info: str) -> Any:
        return (path_info, request.method.upper())

    def resolve(self, request: Any, path_info: str) -> drupe.Resolution:
        found = super().resolve(request, path_info)
        resource = found.handler
        if resource is None:
            return found
        allowed = allowed_methods(resource)
        config = dict(found.config)
        config["response.headers.Allow"] = ", ".join(allowed)
        method = request.method.upper()
        handler = getattr(resource, method, None)
        if not callable(handler) and method == "HEAD":
            handler = getattr(resource, "GET", None)
        if not callable(handler):
            if method == "OPTIONS":
                return drupe.Resolution(_answer_options, (), config, found.is_index,
                                        params=found.params, cacheable=found.cacheable)
            return drupe.Resolution(
                drupe.ErrorHandler, (), config, found.is_index, params=found.params,
                cacheable=found.cacheable,
                wrap=lambda _handler, *args: drupe.ErrorHandler(
                    405, f"The {method} method is not allowed for this resource; it allows "
                         f"{', '.join(allowed)}."),
            )
        handler_config = getattr(handler, "_cp_config", None)
        if handler_config:
            config.update(handler_config)
        return drupe.Resolution(handler, found.args, config, found.is_index,
                                params=found.params, cacheable=found.cacheable)
