"""RoutesDispatcher: URL patterns (the Routes library) mapped to controllers and actions.

``RoutesDispatcher(full_result=False, **mapper_options)`` holds a ``routes.Mapper``
(``dispatcher.mapper``; the options go to its constructor). Each
``connect(name, route, controller, **kwargs)`` names a route, its pattern
(``"/books/{book_id}"``) and its controller — an instance, or a class instantiated afresh
for every request — and passes the rest to ``Mapper.connect`` (``action="show"``,
``conditions=dict(method=["GET"])``, ``requirements=...``).

For a request, the first matching route gives the controller and its ``action``
(a method name; without one the controller itself is called). The pattern's variables
become keyword arguments of the handler, merged over the query-string and body
parameters; ``controller`` and ``action`` are left out unless ``full_result`` is true.

Config is merged as CherryPy does: the global config, the root's ``_cp_config``, the
application's ``[/]`` section, the sections of the path's leading segments, the
controller's ``_cp_config``, the action's ``_cp_config`` and last the section of the full
path.

Beyond CherryPy (which answers 404 for all of these):

* a path that matches a route only under other methods is ``405 Method Not Allowed`` with
  ``Allow``; ``OPTIONS`` on such a path is ``200`` with ``Allow``;
* ``HEAD`` falls back to the routes of ``GET`` when no route accepts ``HEAD``;
* an action whose name starts with ``_`` is never called (404), so a pattern with an
  ``{action}`` variable cannot reach ``__init__`` and friends.

Routes' request-local config (``routes.request_config()``: ``mapper``, ``environ``,
``host``, ``protocol``, ``mapper_dict``, ``route``, ``redirect``) is set up for every
request, so ``routes.url_for`` and ``routes.redirect_to`` work in handlers and tools.

The kernel caches a plan per (path, matched route, match); a route's ``function``
condition is evaluated on every request, as the match is.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Hashable
from typing import Any

import routes  # type: ignore[import-untyped]  # Routes ships no type information

import drupe

__all__ = ["RoutesDispatcher"]
__version__ = "0.1.0"

# Methods probed to tell 405 from 404 (plus any method a route's conditions name).
_COMMON_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")


class _FreshController(drupe.LateParamPageHandler):
    """Calls ``action`` on a new instance of ``controller_class`` for every request."""

    def __init__(self, controller_class: type, action: str | None) -> None:
        self.controller_class = controller_class
        self.action = action
        super().__init__(controller_class)

    @property
    def callable(self) -> Callable[..., Any]:
        instance = self.controller_class()
        if self.action is None:
            return instance  # type: ignore[no-any-return]
        return getattr(instance, self.action)  # type: ignore[no-any-return]

    @callable.setter
    def callable(self, _value: Any) -> None:
        # PageHandler.__init__ assigns it; the property makes a fresh one per call.
        pass


class _AnswerOptions:
    __slots__ = ()

    def __call__(self) -> bytes:
        drupe.response.headers["Content-Length"] = "0"
        return b""


def _hashable(match: dict[str, Any]) -> tuple[tuple[str, Any], ...] | None:
    frozen = tuple(sorted(match.items()))
    try:
        hash(frozen)
    except TypeError:
        return None
    return frozen


class RoutesDispatcher(drupe.DispatcherBase):
    """Dispatch with a Routes mapper (see the module docstring)."""

    def __init__(self, full_result: bool = False, **mapper_options: Any) -> None:
        self.full_result = full_result
        self.controllers: dict[str, Any] = {}
        self.mapper = routes.Mapper(**mapper_options)
        self.mapper.controller_scan = self.controllers.keys
        self._regs_lock = threading.Lock()
        self._regs_stale = True

    @classmethod
    def from_short_name(cls, key: str) -> RoutesDispatcher:
        """``request.dispatch = "routes"``: refused, the routes must be connected first."""
        raise drupe.ConfigError(
            f"Config key {key!r}: the 'routes' dispatcher needs its routes, which a short name "
            f"cannot give. Set {key!r} to an instance instead: d = "
            "drupe.dispatch.RoutesDispatcher(); d.connect('home', '/', controller=Home()); "
            f"then {{{key!r}: d}}."
        )

    def __repr__(self) -> str:
        return (f"{type(self).__module__}.{type(self).__name__}(full_result={self.full_result!r}, "
                f"routes={sorted(self.controllers)!r})")

    # -- building the map --------------------------------------------------------------

    def connect(self, name: str, route: str, controller: Any, **kwargs: Any) -> None:
        """Add the route ``name``: ``route`` (a Routes pattern) served by ``controller``."""
        self.controllers[name] = controller
        self.mapper.connect(name, route, controller=name, **kwargs)
        self._regs_stale = True

    def redirect(self, url: str) -> None:
        """What ``routes.redirect_to`` calls: an HTTP redirect."""
        raise drupe.HTTPRedirect(url)

    # -- matching ----------------------------------------------------------------------

    def _routematch(self, path_info: str, environ: dict[str, Any]) -> tuple[dict[str, Any], Any] | None:
        if self._regs_stale:
            with self._regs_lock:
                if self._regs_stale:
                    # Routes compiles its regexes once; routes connected later need a rebuild.
                    self.mapper.create_regs()
                    self._regs_stale = False
        result = self.mapper.routematch(path_info, environ)
        return result  # type: ignore[no-any-return]

    def _environ(self, request: Any, path_info: str) -> dict[str, Any]:
        environ = request.wsgi_environ
        if environ is None:
            environ = {"REQUEST_METHOD": request.method, "PATH_INFO": path_info,
                       "SCRIPT_NAME": request.script_name or "",
                       "wsgi.url_scheme": request.scheme}
            host = request.headers.get("Host")
            if host:
                environ["HTTP_HOST"] = host
        return environ  # type: ignore[no-any-return]

    def match_request(self, request: Any, path_info: str) -> tuple[dict[str, Any], Any] | None:
        """``(match, route)`` for this request (``None``: no route), with Routes set up.

        Called once per request (the kernel asks for the plan key first); the result is
        kept for :meth:`resolve` of the same request.
        """
        state = getattr(request, "__dict__", {})
        kept = state.get("_drupe_routes_match")
        if kept is not None and kept[0] is self and kept[1] == path_info:
            return kept[2]  # type: ignore[no-any-return]
        environ = self._environ(request, path_info)
        method = environ.get("REQUEST_METHOD", "GET")
        result = self._routematch(path_info, environ)
        if result is None and method == "HEAD":
            result = self._routematch(path_info, dict(environ, REQUEST_METHOD="GET"))
        self._set_up_routes(request, environ, result)
        if hasattr(request, "__dict__"):
            request.__dict__["_drupe_routes_match"] = (self, path_info, result)
        return result

    def _set_up_routes(self, request: Any, environ: dict[str, Any],
                       result: tuple[dict[str, Any], Any] | None) -> None:
        config = routes.request_config()
        # Assigning environ with a mapper attached makes Routes match the path again
        # (and with the unprefixed PATH_INFO): detach it while the environ is loaded.
        with contextlib.suppress(AttributeError):
            del config.mapper
        config.environ = environ
        config.mapper = self.mapper
        self.mapper.environ = environ
        host = environ.get("HTTP_HOST")
        if host:
            # Host was validated by the kernel; X-Forwarded-Host (which Routes prefers) was not.
            config.host = host
        config.protocol = request.scheme
        config.redirect = self.redirect
        config.mapper_dict = result[0] if result is not None else None
        config.route = result[1] if result is not None else None

    def allowed_methods(self, request: Any, path_info: str) -> list[str]:
        """The methods some route accepts for ``path_info`` (empty: no route matches it)."""
        environ = self._environ(request, path_info)
        candidates = set(_COMMON_METHODS)
        for route in self.mapper.matchlist:
            methods = (getattr(route, "conditions", None) or {}).get("method") or ()
            candidates.update(methods)
        allowed = {method for method in candidates
                   if self._routematch(path_info, dict(environ, REQUEST_METHOD=method)) is not None}
        if not allowed:
            return []
        if "GET" in allowed:
            allowed.add("HEAD")
        allowed.add("OPTIONS")
        return sorted(allowed)

    # -- drupe's contract --------------------------------------------------------------

    def plan_key(self, request: Any, path_info: str) -> Hashable | None:
        result = self.match_request(request, path_info)
        if result is None:
            return ("routes", path_info, request.method, None)
        match, route = result
        frozen = _hashable(match)
        if frozen is None:
            return None
        return ("routes", path_info, route, frozen)

    def resolve(self, request: Any, path_info: str) -> drupe.Resolution:
        result = self.match_request(request, path_info)
        config, merge, finish = self._config_merger(request, path_info)

        if result is None:
            finish()
            allowed = self.allowed_methods(request, path_info)
            if not allowed:
                return drupe.Resolution(None, (), config)
            config["response.headers.Allow"] = ", ".join(allowed)
            method = request.method
            if method == "OPTIONS":
                return drupe.Resolution(_AnswerOptions(), (), config, wrap=_as_is)
            message = (f"The {method} method is not allowed for this resource; it allows "
                       f"{', '.join(allowed)}.")
            return drupe.Resolution(drupe.ErrorHandler, (), config,
                                    wrap=lambda _handler, *args: drupe.ErrorHandler(405, message))

        match, _route = result
        params = dict(match)
        if not self.full_result:
            params.pop("controller", None)
            params.pop("action", None)

        controller: Any = match.get("controller")
        if isinstance(controller, str):
            controller = self.controllers.get(controller, controller)
        handler: Any = None
        wrap: Callable[..., Any] | None = None
        if controller is not None and not isinstance(controller, str):
            controller_config = getattr(controller, "_cp_config", None)
            if controller_config:
                merge(controller_config)
            action = match.get("action")
            if action is not None:
                action = str(action)
                if not action.startswith("_"):
                    handler = getattr(controller, action, None)
                    if handler is not None and not callable(handler):
                        handler = None
                if handler is not None:
                    handler_config = getattr(handler, "_cp_config", None)
                    if handler_config:
                        merge(handler_config)
            else:
                handler = controller
            if handler is not None and isinstance(controller, type):
                handler_class = controller
                wrap = lambda _handler, *args: _FreshController(handler_class, action)  # noqa: E731
        finish()

        if params:
            request.params.update(params)
        return drupe.Resolution(handler, (), config, None, params=params or None, wrap=wrap)

    def _config_merger(self, request: Any, path_info: str) -> tuple[
            dict[str, Any], Callable[[dict[str, Any]], None], Callable[[], None]]:
        """The config under construction, ``merge(section)``, and ``finish()``.

        Everything up to the path's leading segments is merged at once; the caller merges
        the controller's and the action's ``_cp_config``; ``finish()`` merges the section
        of the full path last, so that it overrides the controller's.
        """
        app = request.app
        app_config = app.config
        config: dict[str, Any] = dict(drupe.config)
        current = [""]

        def merge(section: dict[str, Any]) -> None:
            config.update(section)
            if "tools.staticdir.dir" in section:
                config["tools.staticdir.section"] = current[0] or "/"

        root_config = getattr(app.root, "_cp_config", None)
        if root_config:
            merge(root_config)
        if "/" in app_config:
            merge(app_config["/"])
        atoms = [atom for atom in path_info.split("/") if atom]
        last = atoms.pop() if atoms else None
        for atom in atoms:
            current[0] += "/" + atom
            section = app_config.get(current[0])
            if section:
                merge(section)

        def finish() -> None:
            if last:
                current[0] += "/" + last
                section = app_config.get(current[0])
                if section:
                    merge(section)

        return config, merge, finish


def _as_is(handler: Any, *_args: Any) -> Any:
    return handler
