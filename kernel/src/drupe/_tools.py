"""Tools: callables attached to hook points, switched on by config or decorators.

A :class:`Tool` wraps a callable with the hook point it runs at and a default priority.
It is enabled for part of a site with config (``tools.<name>.on = True``; other
``tools.<name>.<arg>`` keys become keyword arguments; ``tools.<name>.priority`` overrides
the priority) or with a decorator on a page handler (``@drupe.tools.<name>(arg=...)``,
which writes the same keys into the handler's ``_cp_config``).

Variants: :class:`HandlerTool` may answer the request itself (the page handler is then
skipped), :class:`HandlerWrapperTool` wraps the page handler, :class:`ErrorTool` replaces
``request.error_response``. A tool's ``_setup()`` runs when a request plan is built and
attaches its hooks; subclasses may attach more hooks there.

A :class:`Toolbox` is a config namespace of tools. ``drupe.tools`` is the default one:
its attributes are the tools registered in the ``drupe.tools`` entry-point group (loaded
on first use) plus any assigned in code. Third parties publish toolboxes through the
``drupe.toolboxes`` group; a toolbox created in code is found by its namespace too, or
can be registered explicitly on an application (``app.toolboxes[ns] = toolbox``).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from drupe._config import generation
from drupe._errors import ConfigError, NotFound
from drupe._helper import expose
from drupe._registry import MissingPluginError, registry
from drupe._request import hookpoints
from drupe._serving import serving

__all__ = ["ErrorTool", "HandlerTool", "HandlerWrapperTool", "Tool", "Toolbox", "tools"]

F = TypeVar("F")

_ON_ERROR = (
    "drupe tools cannot be turned on directly. Turn them on with config "
    "(tools.<name>.on = True) or use them as decorators on page handlers."
)


def _argument_names(func: Callable[..., Any]) -> list[str]:
    import inspect

    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return []
    return [
        name for name, param in signature.parameters.items()
        if param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY)
    ]


def accepts_argument(func: Callable[..., Any], name: str) -> bool:
    """True when ``func`` takes a keyword argument ``name`` (or ``**kwargs``)."""
    import inspect

    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return True
    for param_name, param in signature.parameters.items():
        if param.kind is param.VAR_KEYWORD:
            return True
        if param_name == name and param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
            return True
    return False


class Tool:
    """A callable attached at a hook point when the tool is on."""

    namespace = "tools"
    # Set to True in a subclass whose _setup() must see each request (it reads request
    # data); by default the kernel detects that on its own (see _plan.py).
    _setup_per_request = False

    def __init__(self, point: str | None, callable: Callable[..., Any],
                 name: str | None = None, priority: float = 50) -> None:
        if point is not None and point not in hookpoints:
            raise ValueError(
                f"Tool {name or getattr(callable, '__name__', callable)!r}: {point!r} is not a "
                f"hook point. Hook points: {', '.join(hookpoints)}."
            )
        self._point = point
        self.callable = callable
        self._name = name
        self._priority = priority
        self.__doc__ = getattr(callable, "__doc__", None)
        self._setargs()

    def _setargs(self) -> None:
        """Show the callable's parameters as attributes (for ``help()`` and discovery)."""
        target = self.callable
        names = _argument_names(target)
        if not names and hasattr(target, "__call__"):  # noqa: B004
            names = _argument_names(target.__call__)
        for arg in names:
            if not hasattr(type(self), arg) and arg not in self.__dict__:
                setattr(self, arg, None)

    @property
    def on(self) -> bool:
        raise AttributeError(_ON_ERROR)

    @property
    def point(self) -> str | None:
        """The hook point this tool attaches to."""
        return self._point

    @property
    def priority(self) -> float:
        """The default priority (the callable's own ``priority`` attribute wins)."""
        return getattr(self.callable, "priority", self._priority)

    @property
    def name(self) -> str | None:
        return self._name

    def _merged_args(self, d: dict[str, Any] | None = None) -> dict[str, Any]:
        """This tool's config entries for the current request (without ``on``)."""
        conf = dict(d) if d else {}
        toolmap = serving.request.toolmaps.get(self.namespace, {})
        if self._name in toolmap:
            conf.update(toolmap[self._name])
        conf.pop("on", None)
        return conf

    def __call__(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        """Use the tool as a decorator: ``@drupe.tools.gzip(compress_level=6)``."""
        if args:
            raise TypeError(
                f"The {self._name!r} tool does not accept positional arguments; use keyword "
                "arguments."
            )

        def tool_decorator(func: F) -> F:
            target: Any = func
            if not hasattr(target, "_cp_config"):
                target._cp_config = {}
            prefix = f"{self.namespace}.{self._name}."
            target._cp_config[prefix + "on"] = True
            for key, value in kwargs.items():
                target._cp_config[prefix + key] = value
            return func

        return tool_decorator

    def check_settings(self, settings: dict[str, Any]) -> None:
        """Validate this tool's config entries (``on`` and ``priority`` included).

        Called when config is validated at engine start and when a request plan is built,
        before the tool is set up. Argument *names* are already checked against the
        callable's signature; override this to check *values* and raise
        ``drupe.ConfigError`` naming the key (``tools.<name>.<arg>``).
        """

    def _setup(self) -> None:
        """Attach the callable to the request's hooks with this tool's config as kwargs."""
        conf = self._merged_args()
        priority = conf.pop("priority", None)
        if priority is None:
            priority = getattr(self.callable, "priority", self._priority)
        serving.request.hooks.attach(self._point, self.callable, priority=priority, **conf)

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} {self.namespace}.{self._name} at {self._point} "
                f"priority {self._priority}>")


class HandlerTool(Tool):
    """A tool that may answer the request itself (its callable returns True to do so).

    ``tool.handler(**kwargs)`` makes an exposed page handler from it, so it can also be
    mounted as a node of the object tree.
    """

    def __init__(self, callable: Callable[..., Any], name: str | None = None,
                 priority: float = 50) -> None:
        super().__init__("before_handler", callable, name, priority)

    def handler(self, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        """An exposed page handler that runs this tool (404 if it does not answer)."""

        @expose
        def handle_func(*a: Any, **kw: Any) -> Any:
            handled = self.callable(*args, **self._merged_args(kwargs))
            if not handled:
                raise NotFound()
            return serving.response.body

        return handle_func  # type: ignore[no-any-return]

    def _wrapper(self, **kwargs: Any) -> None:
        if self.callable(**kwargs):
            serving.request.handler = None

    def _setup(self) -> None:
        conf = self._merged_args()
        priority = conf.pop("priority", None)
        if priority is None:
            priority = getattr(self.callable, "priority", self._priority)
        serving.request.hooks.attach(self._point, self._wrapper, priority=priority, **conf)


class HandlerWrapperTool(Tool):
    """A tool that wraps the page handler: ``newhandler(inner_handler, *args, **kwargs)``."""

    def __init__(self, newhandler: Callable[..., Any], point: str = "before_handler",
                 name: str | None = None, priority: float = 50) -> None:
        self.newhandler = newhandler
        super().__init__(point, self._wrap_handler, name, priority)

    def _wrap_handler(self, *args: Any, **kwargs: Any) -> None:
        inner = serving.request.handler

        def wrap(*a: Any, **kw: Any) -> Any:
            return self.newhandler(inner, *a, **kw)

        serving.request.handler = wrap

    def _setargs(self) -> None:
        return


class ErrorTool(Tool):
    """A tool that becomes ``request.error_response`` (it answers unanticipated errors)."""

    def __init__(self, callable: Callable[..., Any], name: str | None = None) -> None:
        super().__init__(None, callable, name)

    def _wrapper(self) -> None:
        self.callable(**self._merged_args())

    def _setup(self) -> None:
        serving.request.error_response = self._wrapper


def is_tool(obj: Any) -> bool:
    """A :class:`Tool`, or any object with a callable ``_setup`` (CherryPy does not require
    tools to inherit from its Tool class: the toolbox only calls ``_setup()``)."""
    if isinstance(obj, Tool):
        return True
    return not isinstance(obj, type) and callable(getattr(obj, "_setup", None))


# Toolboxes created in this process, by namespace (the config namespace finds them).
_toolboxes: weakref.WeakValueDictionary[str, Toolbox] = weakref.WeakValueDictionary()


class Toolbox:
    """A config namespace of tools (``<namespace>.<tool>.on``)."""

    namespace: str

    def __init__(self, namespace: str) -> None:
        if not namespace or "." in namespace:
            raise ValueError(f"A toolbox namespace must be a non-empty name without dots, not {namespace!r}")
        object.__setattr__(self, "namespace", namespace)
        _toolboxes[namespace] = self

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, Tool):
            if value._name is None:
                value._name = name
            value.namespace = self.namespace
        object.__setattr__(self, name, value)
        generation.bump()

    def __delattr__(self, name: str) -> None:
        object.__delattr__(self, name)
        generation.bump()

    def register(self, point: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator: make a tool of the function at ``point`` (kwargs: name, priority)."""

        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            attr_name = kwargs.get("name", func.__name__)
            tool = Tool(point, func, **kwargs)
            setattr(self, attr_name, tool)
            return func

        return decorator

    def get_tool(self, name: str, key: str | None = None) -> Tool:
        """The tool called ``name``; a clear error naming ``key`` when there is none."""
        tool = getattr(self, name, None)
        if is_tool(tool):
            return tool  # type: ignore[return-value]  # a duck-typed tool
        import difflib

        installed = self.tool_names()
        matches = difflib.get_close_matches(name, installed, n=1, cutoff=0.6)
        hint = f" Did you mean {matches[0]!r}?" if matches else ""
        raise ConfigError(
            f"Config key {key or self.namespace + '.' + name!r}: the toolbox "
            f"{self.namespace!r} has no tool named {name!r}.{hint} Its tools: "
            + (", ".join(installed) or "none") + "."
        )

    def tool_names(self) -> list[str]:
        """The names of the tools in this toolbox."""
        return sorted(name for name, value in vars(self).items() if is_tool(value))

    # A toolbox also works as a config-namespace handler (a context manager).
    def __enter__(self) -> Callable[[str, Any], None]:
        toolmap: dict[str, dict[str, Any]] = {}
        serving.request.toolmaps[self.namespace] = toolmap

        def populate(key: str, value: Any) -> None:
            toolname, arg = key.split(".", 1)
            toolmap.setdefault(toolname, {})[arg] = value

        return populate

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        toolmap = serving.request.toolmaps.get(self.namespace)
        if toolmap:
            for name, settings in toolmap.items():
                if settings.get("on", False):
                    self.get_tool(name)._setup()

    def __repr__(self) -> str:
        return f"<drupe Toolbox {self.namespace!r}>"


class _DefaultToolbox(Toolbox):
    """``drupe.tools``: tools from the ``drupe.tools`` entry points, loaded on first use."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        tool = registry.load("drupe.tools", name, key=f"tools.{name}")
        if isinstance(tool, Tool):
            if tool._name is None:
                tool._name = name
            tool.namespace = self.namespace
        object.__setattr__(self, name, tool)
        return tool

    def get_tool(self, name: str, key: str | None = None) -> Tool:
        existing = vars(self).get(name)
        if is_tool(existing):
            return existing  # type: ignore[return-value]  # a duck-typed tool
        try:
            tool = registry.load("drupe.tools", name, key=key or f"tools.{name}.on")
        except MissingPluginError as exc:
            in_process = [n for n, v in vars(self).items() if is_tool(v)]
            if in_process:
                import difflib

                installed = sorted(set(exc.installed) | set(in_process))
                matches = difflib.get_close_matches(name, installed, n=1, cutoff=0.6)
                raise MissingPluginError(exc.group, name, exc.key, installed,
                                         matches[0] if matches else None, exc.distribution) from None
            raise
        if isinstance(tool, Tool):
            if tool._name is None:
                tool._name = name
            tool.namespace = self.namespace
        object.__setattr__(self, name, tool)
        return tool  # type: ignore[no-any-return]

    def tool_names(self) -> list[str]:
        return sorted(set(registry.names("drupe.tools")) | set(super().tool_names()))


def _validate_tool(obj: Any) -> str | None:
    if not isinstance(obj, Tool):
        return f"expected a drupe.Tool instance, got {type(obj).__name__}"
    return None


def _validate_toolbox(obj: Any) -> str | None:
    if not isinstance(obj, Toolbox):
        return f"expected a drupe Toolbox instance, got {type(obj).__name__}"
    return None


registry.set_validator("drupe.tools", _validate_tool)
registry.set_validator("drupe.toolboxes", _validate_toolbox)

tools = _DefaultToolbox("tools")


def find_toolbox(namespace: str, app: Any = None) -> Toolbox | None:
    """The toolbox serving config namespace ``namespace`` for ``app``, or ``None``.

    Looked up in order: ``app.toolboxes``, the application class's ``toolboxes`` (CherryPy
    toolboxes register there: ``Application.toolboxes.update(cors=...)``), toolboxes
    created in this process, the ``drupe.toolboxes`` entry points.
    """
    if app is not None:
        toolbox = app.toolboxes.get(namespace)
        if toolbox is None:
            toolbox = getattr(type(app), "toolboxes", {}).get(namespace)
        if toolbox is not None:
            return toolbox  # type: ignore[no-any-return]
    if namespace == "tools":
        return tools
    toolbox = _toolboxes.get(namespace)
    if toolbox is not None:
        return toolbox
    if registry.has("drupe.toolboxes", namespace):
        loaded = registry.load("drupe.toolboxes", namespace, key=f"{namespace}.*")
        return loaded  # type: ignore[no-any-return]
    return None
