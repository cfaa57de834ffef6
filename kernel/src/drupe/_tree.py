"""Applications and the tree they are mounted on; both are WSGI callables.

An :class:`Application` is a root object (the object tree the dispatcher walks), its
config, its logs and its WSGI middleware. ``drupe.tree`` (a :class:`Tree`) maps mount
points (``script_name``) to applications and to grafted foreign WSGI callables, and
routes each WSGI call to the longest matching mount point. State lives on these objects,
so several applications — and several trees — can coexist in one process.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Any

from drupe import _config
from drupe._boot import _state as _boot_state
from drupe._config import NamespaceSet, generation
from drupe._errors import ConfigError
from drupe._log import LogManager
from drupe._log import log as global_log
from drupe._request import Request, Response
from drupe._serving import _in_flight, serving
from drupe._wsgi import WSGIPipeline, serve

__all__ = ["Application", "Tree", "tree"]


class _Toolboxes(dict[str, Any]):
    """``app.toolboxes``: changing it invalidates the application's request plans."""

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        generation.bump()

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        generation.bump()


class Application:
    """A mounted application (``tree.mount`` returns one; it is also a WSGI callable)."""

    relative_urls: bool | str = False
    # Toolboxes for every application (CherryPy's class attribute, which toolboxes such
    # as cherrypy-cors update); each instance's own ``toolboxes`` is searched first.
    toolboxes: dict[str, Any] = _Toolboxes()
    request_class: type[Request] = Request
    response_class: type[Response] = Response

    def __init__(self, root: Any, script_name: str | None = "", config: Any = None) -> None:
        self.log = LogManager(str(id(self)), global_log.logger_root)
        self.root = root
        self.script_name = script_name  # the setter normalizes '/' to ''
        self.config: dict[str, Any] = {}
        self.toolboxes: dict[str, Any] = _Toolboxes()
        self.wsgiapp = WSGIPipeline(self)
        self.namespaces = NamespaceSet()
        self.namespaces["log"] = lambda key, value: setattr(self.log, key, value)
        self.namespaces["wsgi"] = self.wsgiapp.namespace_handler
        self._plans: dict[Any, Any] = {}
        self._dispatch_cache: tuple[int, Any, dict[str, Any] | None, str | None] | None = None
        self._fast_dispatch: tuple[int, Any] | None = None
        if config:
            self.merge(config)

    def __repr__(self) -> str:
        return f"<drupe.Application {self.script_name!r} {self.root!r}>"

    # -- mount point -------------------------------------------------------------------

    @property
    def script_name(self) -> str | None:
        """The mount point ('' for the root). ``None`` means: read SCRIPT_NAME per request."""
        if self._script_name is None:
            environ = getattr(serving.request, "wsgi_environ", None)
            if environ is not None:
                return environ.get("SCRIPT_NAME", "").rstrip("/")  # type: ignore[no-any-return]
        return self._script_name

    @script_name.setter
    def script_name(self, value: str | None) -> None:
        self._script_name = value.rstrip("/") if value else value

    # -- config ------------------------------------------------------------------------

    def merge(self, config: Any) -> None:
        """Merge application config (dict of sections, filename or open file)."""
        _config.merge(self.config, config)
        self.namespaces(self.config.get("/", {}))
        self._plans.clear()
        self._dispatch_cache = None

    def find_config(self, path: str, key: str, default: Any = None) -> Any:
        """The value of ``key`` in the most specific ``[/path]`` section along ``path``."""
        trail = path or "/"
        while trail:
            section = self.config.get(trail)
            if section and key in section:
                return section[key]
            slash = trail.rfind("/")
            if slash == -1:
                break
            trail = "/" if slash == 0 and trail != "/" else trail[:slash]
        return default

    def _scan_config(self) -> tuple[int, Any, dict[str, Any] | None, str | None]:
        """What per-path lookups need to know about this app's config (cached)."""
        cached = self._dispatch_cache
        if cached is not None and cached[0] == generation.value:
            return cached
        dispatch_sections = {
            section: values["request.dispatch"]
            for section, values in _config.iter_sections(self.config)
            if "request.dispatch" in values
        }
        encodings = [
            section for section, values in _config.iter_sections(self.config)
            if "request.uri_encoding" in values
        ]
        constant: Any = None
        per_path: dict[str, Any] | None = None
        if set(dispatch_sections) - {"/"}:
            per_path = dispatch_sections
        else:
            constant = self._make_dispatcher(
                dispatch_sections.get("/", _config.config.get("request.dispatch", "default")),
                "request.dispatch",
            )
        uri_encoding = None if encodings else "utf-8"
        result = (generation.value, constant, per_path, uri_encoding)
        self._dispatch_cache = result
        return result

    _dispatchers_by_name: dict[str, Any] = {}

    def _make_dispatcher(self, value: Any, key: str) -> Any:
        if isinstance(value, str):
            from drupe._registry import registry

            cls = registry.load("drupe.dispatchers", value, key=key)
            # A dispatcher that cannot be built from its short name alone (it needs
            # constructor arguments) says so, naming the key, through this classmethod.
            from_short_name = getattr(cls, "from_short_name", None)
            if from_short_name is not None:
                return from_short_name(key)
            return cls()
        if isinstance(value, type):
            return value()
        if not callable(value):
            raise ConfigError(f"Config key {key!r}: a dispatcher must be callable, not {value!r}.")
        return value

    def dispatcher_for(self, path_info: str) -> Any:
        """The dispatcher configured for ``path_info`` (``request.dispatch``)."""
        _, constant, per_path, _ = self._scan_config()
        if per_path is None:
            return constant
        value = self.find_config(path_info, "request.dispatch",
                                 _config.config.get("request.dispatch", "default"))
        cache = self.__dict__.setdefault("_dispatcher_instances", {})
        cache_key = value if isinstance(value, str) else id(value)
        dispatcher = cache.get(cache_key)
        if dispatcher is None:
            dispatcher = self._make_dispatcher(value, "request.dispatch")
            cache[cache_key] = dispatcher
        return dispatcher

    def uri_encoding_for(self, path_info: str) -> str:
        """``request.uri_encoding`` for ``path_info`` (default UTF-8)."""
        encoding = self._scan_config()[3]
        if encoding is not None:
            return encoding
        return self.find_config(path_info, "request.uri_encoding", "utf-8")  # type: ignore[no-any-return]

    def describe_plan(self, key: Any) -> dict[str, list[tuple[float, str]]] | None:
        """The hooks planned for ``key`` (a path, for the object-tree dispatcher), or ``None``.

        Returns hook point -> ``[(priority, callable)]`` in execution order; ``None`` when
        no request has been planned under that key yet.
        """
        plan = self._plans.get(key)
        return plan.describe() if plan is not None else None

    def clear_plans(self) -> None:
        """Forget cached request plans (after changing the object tree at run time)."""
        self._plans.clear()
        self._dispatch_cache = None

    # -- serving -----------------------------------------------------------------------

    def get_serving(self, local: Any, remote: Any, scheme: str, sproto: str) -> tuple[Request, Response]:
        """Create the request/response pair for a server that does not speak WSGI."""
        from drupe._engine import engine

        request = self.request_class(local, remote, scheme, sproto)
        request.app = self
        response = self.response_class()
        serving.load(request, response)
        _in_flight[id(request)] = (request, response)
        engine.publish("acquire_thread")
        engine.publish("before_request")
        return request, response

    def release_serving(self) -> None:
        """End the request created by :meth:`get_serving`."""
        from drupe._wsgi import _release

        _release(serving.request)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not _boot_state["booted"]:
            from drupe._boot import boot

            boot()
        wsgiapp = self.wsgiapp
        if type(wsgiapp) is WSGIPipeline and not wsgiapp.pipeline:
            # PERF: no middleware configured: straight to the request pipeline.
            return serve(self, environ, start_response)
        return wsgiapp(environ, start_response)


class Tree:
    """Mount points -> applications (or grafted WSGI callables); a WSGI callable itself."""

    def __init__(self) -> None:
        self.apps: dict[str, Any] = {}

    def mount(self, root: Any, script_name: str = "", config: Any = None) -> Application:
        """Mount ``root`` (an object tree or an Application) at ``script_name``."""
        from drupe._boot import boot, call_app_mounted

        boot()
        if script_name is None:
            raise TypeError(
                "The 'script_name' argument may not be None. Application objects may, "
                "however, have a script_name of None (to read SCRIPT_NAME on each request); "
                "such applications cannot be mounted on a Tree: hand them to a WSGI server."
            )
        script_name = script_name.rstrip("/")
        if script_name and not script_name.startswith("/"):
            raise ValueError(f"The script_name {script_name!r} must start with '/'.")
        if isinstance(root, Application):
            app = root
            if script_name not in ("", app.script_name):
                raise ValueError(
                    "Cannot specify a different script name and pass an Application instance "
                    "to tree.mount"
                )
            script_name = app.script_name or ""
        else:
            app = Application(root, script_name)
        if config:
            app.merge(config)
        self.apps[script_name] = app
        generation.bump()
        call_app_mounted(app)
        return app

    def graft(self, wsgi_callable: Callable[..., Any], script_name: str = "") -> None:
        """Mount a foreign WSGI callable (drupe's tools do not apply to it)."""
        script_name = script_name.rstrip("/")
        self.apps[script_name] = wsgi_callable
        generation.bump()

    def script_name(self, path: str | None = None) -> str | None:
        """The mount point serving ``path`` (default: the current request's path)."""
        if path is None:
            request = serving.request
            path = (request.script_name or "") + (request.path_info or "")
        apps = self.apps
        while True:
            if path in apps:
                return path
            if path == "":
                return None
            path = path[: path.rfind("/")]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        apps = self.apps
        script_name = environ.get("SCRIPT_NAME", "")
        path_info = environ.get("PATH_INFO", "")
        # PERF: a single application mounted at the root needs no environ rewriting.
        if not script_name and len(apps) == 1 and "" in apps:
            return apps[""](environ, start_response)  # type: ignore[no-any-return]
        path = script_name + path_info
        while "//" in path:
            path = path.replace("//", "/")
        mount = self.script_name(path or "/")
        if mount is None:
            body = b"Nothing is mounted at this path."
            start_response("404 Not Found", [("Content-Type", "text/plain"),
                                             ("Content-Length", str(len(body)))])
            return [body]
        environ = dict(environ)
        environ["SCRIPT_NAME"] = mount
        environ["PATH_INFO"] = path[len(mount):]
        return apps[mount](environ, start_response)  # type: ignore[no-any-return]


tree = Tree()


def current() -> Tree:
    """The tree the process serves: ``drupe.tree``, which an application may replace.

    CherryPy applications (and CherryPy's own test helper) assign a fresh ``Tree()`` to
    ``cherrypy.tree``; the default server, ``quickstart`` and the checker must then use
    that one, not the tree this module created at import.
    """
    package = sys.modules.get("drupe")
    current_tree = getattr(package, "tree", None)
    return current_tree if isinstance(current_tree, Tree) else tree


def _tree_namespace_handler(key: str, value: Any) -> None:
    """``tree.<name> = {script_name: wsgi_app}`` or an Application: graft/mount it."""
    if isinstance(value, dict):
        for script_name, app in value.items():
            current().graft(app, script_name)
    elif isinstance(value, Application):
        current().mount(value)
    else:
        raise ConfigError(
            f"Config key 'tree.{key}' must be a dict of {{script_name: wsgi_app}} or an "
            "Application."
        )
