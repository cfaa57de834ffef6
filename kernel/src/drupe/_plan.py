"""Per-(application, path) request plans: decide once, apply on every request.

A plan holds everything about a request that depends only on where it goes: the page
handler, the merged config, the attributes config sets on the request, the response and
the request body, the error pages, and the hooks of every hook point with the tools'
arguments bound. Building one walks the config and runs each enabled tool's ``_setup()``;
applying one is a few dict updates.

Plans are cached per application under the dispatcher's ``plan_key`` (the path, for the
object-tree dispatcher) and rebuilt when any config, toolbox or mount changes (a global
generation counter moves). Plans are not cached when:

* the dispatcher speaks only CherryPy's contract (a callable, or a subclass overriding
  ``__call__``) — it is called on every request;
* the resolution says it depended on more than the key (a hand-written ``_cp_dispatch``).

A tool whose ``_setup()`` reads per-request state (headers, params, the response...) is
noticed while the plan is built: its setup is then re-run on every request instead of
being frozen into the plan. The cache holds at most ``MAX_PLANS`` entries per application
(oldest dropped first), so URLs made up by clients cannot grow it without bound.
"""

from __future__ import annotations

from typing import Any

from drupe._config import generation
from drupe._dispatch import resolves_with_plan
from drupe._errors import ConfigError
from drupe._request import Hook, HookMap, Request
from drupe._serving import serving

__all__ = ["Plan", "build_plan", "plan_for"]

MAX_PLANS = 4096

# Namespaces that act on the process or the application, not on requests: their keys sit
# in the merged config (global config is the base of every request's config) but do
# nothing per request.
SITE_NAMESPACES = frozenset({"engine", "server", "log", "checker", "tree", "wsgi"})
REQUEST_NAMESPACES = frozenset({"hooks", "request", "response", "error_page"})

# Request attributes a tool's _setup() may read without tying the plan to one request.
_PLAN_STABLE = frozenset({
    "app", "config", "toolmaps", "hooks", "error_page", "error_response", "handler",
    "show_tracebacks", "show_mismatched_params", "throw_errors", "throws",
    "methods_with_bodies", "process_request_body", "query_string_encoding", "is_index",
    "namespaces", "dispatch", "script_name", "path_info", "stage", "closed", "uri_encoding",
    "max_params",
})


class Plan:
    """The planned part of a request (see the module docstring)."""

    __slots__ = (
        "body_attrs", "config", "custom_namespaces", "dynamic_tools", "error_page",
        "generation", "handler", "hooks", "is_index", "params", "request_attrs",
        "response_attrs", "response_headers", "toolmaps",
    )

    def __init__(self) -> None:
        self.handler: Any = None
        self.config: dict[str, Any] = {}
        self.is_index: bool | None = None
        self.hooks = HookMap()
        self.request_attrs: dict[str, Any] = {}
        self.response_attrs: dict[str, Any] = {}
        self.response_headers: dict[str, Any] = {}
        self.body_attrs: dict[str, Any] = {}
        self.error_page: dict[Any, Any] = {}
        self.toolmaps: dict[str, dict[str, dict[str, Any]]] = {}
        self.dynamic_tools: list[Any] = []
        self.custom_namespaces: dict[str, Any] = {}
        self.params: dict[str, Any] | None = None
        self.generation = generation.value

    def describe(self) -> dict[str, list[tuple[float, str]]]:
        """Hook point -> ``[(priority, callable name)]``, for inspection and ``drupe plugins``."""
        return {
            point: [(hook.priority, _callable_name(hook.callback)) for hook in hooks]
            for point, hooks in self.hooks.items() if hooks
        }


def _callable_name(func: Any) -> str:
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)
    module = getattr(func, "__module__", None)
    return f"{module}.{name}" if module else str(name)


class _SetupRecorder:
    """Stands in for ``drupe.request`` while a tool's ``_setup()`` runs at plan time.

    Hooks attach to the plan, attribute assignments become plan attributes, and reading
    anything that belongs to one request marks the tool as per-request.
    """

    def __init__(self, real: Any, hooks: HookMap, toolmaps: dict[str, Any], config: dict[str, Any],
                 stable: frozenset[str]) -> None:
        d = self.__dict__
        d["_real"] = real
        d["hooks"] = hooks
        d["toolmaps"] = toolmaps
        d["config"] = config
        d["_stable"] = stable
        d["assigned"] = {}
        d["dynamic"] = False

    def __getattr__(self, name: str) -> Any:
        assigned = self.__dict__["assigned"]
        if name in assigned:
            return assigned[name]
        if name not in self.__dict__["_stable"]:
            self.__dict__["dynamic"] = True
        return getattr(self.__dict__["_real"], name)

    def __setattr__(self, name: str, value: Any) -> None:
        self.__dict__["assigned"][name] = value


class _ResponseRecorder:
    """Stands in for ``drupe.response`` at plan time: any use makes the tool per-request."""

    def __init__(self, real: Any, request_recorder: _SetupRecorder) -> None:
        self.__dict__["_real"] = real
        self.__dict__["_recorder"] = request_recorder

    def __getattr__(self, name: str) -> Any:
        self.__dict__["_recorder"].__dict__["dynamic"] = True
        return getattr(self.__dict__["_real"], name)

    def __setattr__(self, name: str, value: Any) -> None:
        self.__dict__["_recorder"].__dict__["dynamic"] = True
        setattr(self.__dict__["_real"], name, value)


def _request_attribute_names(request_class: type) -> frozenset[str]:
    from drupe._request import _LAZY

    cached = request_class.__dict__.get("_drupe_attribute_names")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    names = {name for name in dir(request_class) if not name.startswith("_")}
    names.update(_LAZY)
    names.update({"json", "kwargs", "args"})
    result = frozenset(names)
    request_class._drupe_attribute_names = result  # type: ignore[attr-defined]
    return result


def _unknown_attribute(kind: str, key: str, name: str, known: frozenset[str]) -> ConfigError:
    import difflib

    matches = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    hint = f" Did you mean {kind}.{matches[0]}?" if matches else ""
    return ConfigError(f"Config key {key!r}: the {kind} has no attribute {name!r}.{hint}")


def build_plan(request: Any, handler: Any, config: dict[str, Any], is_index: bool | None,
               params: dict[str, Any] | None = None) -> Plan:
    """Build the plan for ``request``'s path from the dispatcher's findings."""
    plan = Plan()
    plan.handler = handler
    plan.config = config
    plan.is_index = is_index
    plan.params = params or None
    toolbox_for = classify(config, request.app, type(request), plan)
    if plan.toolmaps:
        # Tools may look at the handler and is_index while they set up (both belong to
        # the plan, not to one request).
        state = request.__dict__
        state["handler"] = handler
        state["is_index"] = is_index
        _setup_tools(request, plan, plan.toolmaps, toolbox_for)
    _bind_observers(plan)
    return plan


def classify(config: dict[str, Any], app: Any, request_class: type, plan: Plan) -> dict[str, Any]:
    """Sort ``config`` entries into ``plan``; raise ``ConfigError`` for any bad key.

    Returns the toolbox serving each tool namespace found. Used both to build plans and to
    validate config at engine start.
    """
    from drupe._config import attributes
    from drupe._config import config as global_config
    from drupe._tools import find_toolbox

    hooks = plan.hooks
    request_names = _request_attribute_names(request_class)
    custom_request_namespaces = getattr(request_class, "namespaces", None) or {}
    app_namespaces = getattr(app, "namespaces", {}) or {}
    toolmaps = plan.toolmaps
    toolbox_for: dict[str, Any] = {}

    for key, value in config.items():
        namespace, dot, rest = str(key).partition(".")
        if not dot:
            continue
        if namespace == "request":
            if rest == "dispatch":
                continue
            if rest.startswith("body."):
                plan.body_attrs[rest[5:]] = value
                continue
            if rest not in request_names:
                raise _unknown_attribute("request", key, rest, request_names)
            plan.request_attrs[rest] = value
        elif namespace == "response":
            if rest.startswith("headers."):
                plan.response_headers[rest[8:]] = value
                continue
            response_names = _response_attribute_names()
            if rest not in response_names:
                raise _unknown_attribute("response", key, rest, response_names)
            plan.response_attrs[rest] = value
        elif namespace == "hooks":
            point = rest.split(".", 1)[0]
            if point not in hooks:
                raise ConfigError(f"Config key {key!r}: {point!r} is not a hook point.")
            if isinstance(value, str):
                try:
                    callback = attributes(value)
                except (ValueError, ImportError) as exc:
                    raise ConfigError(f"Config key {key!r}: {exc}") from None
            else:
                callback = value
            if isinstance(callback, Hook):
                hooks[point].append(callback)
                hooks[point].sort(key=lambda hook: hook.priority)
            elif callable(callback):
                hooks.attach(point, callback)
            else:
                raise ConfigError(f"Config key {key!r}: a hook must be callable, not {callback!r}.")
        elif namespace == "error_page":
            plan.error_page[int(rest) if rest.isdigit() else rest] = value
        elif namespace in SITE_NAMESPACES:
            continue
        elif namespace in custom_request_namespaces and namespace not in REQUEST_NAMESPACES:
            plan.custom_namespaces[namespace] = custom_request_namespaces[namespace]
        elif namespace in app_namespaces or namespace in global_config.namespaces:
            continue
        else:
            toolbox = toolbox_for.get(namespace)
            if toolbox is None:
                toolbox = find_toolbox(namespace, app)
                if toolbox is None:
                    raise unknown_namespace(key, namespace, app)
                toolbox_for[namespace] = toolbox
            tool_name, dot, arg = rest.partition(".")
            if not dot:
                raise ConfigError(
                    f"Config key {key!r}: tool keys look like '{namespace}.<tool>.<argument>'"
                    f" (e.g. '{namespace}.{tool_name}.on')."
                )
            toolmaps.setdefault(namespace, {}).setdefault(tool_name, {})[arg] = value

    for namespace, toolmap in toolmaps.items():
        toolbox = toolbox_for[namespace]
        for tool_name, settings in toolmap.items():
            tool = toolbox.get_tool(tool_name, key=f"{namespace}.{tool_name}.on")
            _check_arguments(tool, namespace, tool_name, settings)
    return toolbox_for


def _response_attribute_names() -> frozenset[str]:
    from drupe._request import Response

    cached = Response.__dict__.get("_drupe_attribute_names")
    if cached is None:
        cached = frozenset(name for name in dir(Response) if not name.startswith("_")) | {
            "cookie", "time", "headers"}
        Response._drupe_attribute_names = cached  # type: ignore[attr-defined]
    return cached


def unknown_namespace(key: str, namespace: str, app: Any) -> ConfigError:
    """The error for a config key whose namespace nothing handles."""
    import difflib

    from drupe._config import config as global_config
    from drupe._registry import registry
    from drupe._tools import _toolboxes

    known = set(REQUEST_NAMESPACES) | set(SITE_NAMESPACES) | {"tools"}
    known.update(global_config.namespaces)
    if app is not None:
        known.update(app.toolboxes)
        known.update(getattr(app, "namespaces", {}) or {})
        known.update(getattr(app.request_class, "namespaces", None) or {})
    known.update(_toolboxes.keys())
    known.update(registry.names("drupe.toolboxes"))
    matches = difflib.get_close_matches(namespace, sorted(known), n=1, cutoff=0.6)
    hint = f" Did you mean {matches[0]!r}?" if matches else ""
    return ConfigError(
        f"Config key {key!r}: no handler for the config namespace {namespace!r}.{hint} "
        f"Known namespaces: {', '.join(sorted(known))}. A toolbox namespace comes from a "
        "distribution registering it in the 'drupe.toolboxes' entry-point group, from "
        "app.toolboxes, or from a drupe.Toolbox created in your code."
    )


def _setup_tools(request: Any, plan: Plan, toolmaps: dict[str, dict[str, dict[str, Any]]],
                 toolbox_for: dict[str, Any]) -> None:
    stable = _PLAN_STABLE | frozenset(plan.request_attrs)
    real_request = serving.request
    real_response = serving.response
    for namespace, toolmap in toolmaps.items():
        toolbox = toolbox_for[namespace]
        for tool_name, settings in toolmap.items():
            tool = toolbox.get_tool(tool_name, key=f"{namespace}.{tool_name}.on")
            if not settings.get("on", False):
                continue
            if getattr(tool, "_setup_per_request", False):
                plan.dynamic_tools.append(tool)
                continue
            snapshot = {point: list(hooks) for point, hooks in plan.hooks.items()}
            recorder = _SetupRecorder(real_request, plan.hooks, plan.toolmaps, plan.config, stable)
            serving.request = recorder
            serving.response = _ResponseRecorder(real_response, recorder)
            try:
                tool._setup()
            finally:
                serving.request = real_request
                serving.response = real_response
            if recorder.dynamic:
                # It looked at this request: undo what it attached, run it per request.
                for point, hooks in snapshot.items():
                    plan.hooks[point] = hooks
                plan.dynamic_tools.append(tool)
            else:
                plan.request_attrs.update(recorder.assigned)


def _check_arguments(tool: Any, namespace: str, tool_name: str, settings: dict[str, Any]) -> None:
    from drupe._tools import accepts_argument

    check_settings = getattr(tool, "check_settings", None)
    target = getattr(tool, "callable", None)
    if target is None or type(tool).__dict__.get("_skip_argument_check") or _reads_own_arguments(tool):
        if callable(check_settings):
            check_settings(dict(settings))
        return
    for arg in settings:
        if arg in ("on", "priority"):
            continue
        if not accepts_argument(target, arg):
            import difflib

            from drupe._tools import _argument_names

            names = _argument_names(target)
            matches = difflib.get_close_matches(arg, names, n=1, cutoff=0.6)
            hint = f" Did you mean {matches[0]!r}?" if matches else ""
            raise ConfigError(
                f"Config key '{namespace}.{tool_name}.{arg}': the {tool_name!r} tool takes no "
                f"argument {arg!r}.{hint} Its arguments: {', '.join(names) or 'none'}."
            )
    if callable(check_settings):
        check_settings(dict(settings))


def _reads_own_arguments(tool: Any) -> bool:
    """True for a Tool subclass from application code that overrides ``_setup``.

    Such a ``_setup`` may take any argument from ``_merged_args()`` (CherryPy's own test
    tools do), so the arguments cannot be checked against the tool's callable. drupe's own
    tool distributions override ``_setup`` too, and keep the check. ``check_settings``
    runs either way.
    """
    from drupe._tools import ErrorTool, HandlerTool, HandlerWrapperTool, Tool

    owner = next((klass for klass in type(tool).__mro__ if "_setup" in klass.__dict__), None)
    if owner is None or owner in (Tool, HandlerTool, HandlerWrapperTool, ErrorTool):
        return False
    package = (owner.__module__ or "").split(".", 1)[0]
    return package != "drupe" and not package.startswith("drupe_")


def _bind_observers(plan: Plan) -> None:
    from drupe._boot import observers

    started, finished = observers()
    if started is not None:
        plan.hooks.attach("on_start_resource", started, failsafe=True, priority=0)
    if finished is not None:
        plan.hooks.attach("on_end_request", finished, failsafe=True, priority=100)


def plan_for(request: Request, path_info: str) -> None:
    """Find (or build) the plan for ``path_info`` and apply it to ``request``."""
    app = request.app
    plan: Plan | None
    # PERF: the common case, one dispatcher for the whole application speaking drupe's
    # contract, is decided once per generation and kept on the application.
    fast = app._fast_dispatch
    if fast is not None and fast[0] == generation.value:
        dispatch = fast[1]
        key = dispatch.plan_key(request, path_info)
        plan = app._plans.get(key)
        if plan is not None and plan.generation == fast[0]:
            if plan.params:
                request.params.update(plan.params)
            apply_plan(request, plan)
            return
    dispatch = app.dispatcher_for(path_info)
    if resolves_with_plan(dispatch):
        if app._dispatch_cache is not None and app._dispatch_cache[2] is None:
            app._fast_dispatch = (generation.value, dispatch)
        key = dispatch.plan_key(request, path_info)
        plans = app._plans
        plan = plans.get(key) if key is not None else None
        if plan is not None and plan.generation == generation.value:
            if plan.params:
                request.params.update(plan.params)
        else:
            resolution = dispatch.resolve(request, path_info)
            plan = build_plan(request, resolution.page_handler(), resolution.config,
                              resolution.is_index, resolution.params)
            if key is not None and resolution.cacheable:
                if len(plans) >= MAX_PLANS:
                    plans.pop(next(iter(plans)), None)
                plans[key] = plan
    else:
        request.dispatch = dispatch
        dispatch(path_info)
        config = request.__dict__.get("config")
        if config is None:
            raise ConfigError(
                f"The dispatcher {dispatch!r} did not set request.config for {path_info!r}."
            )
        plan = build_plan(request, request.handler, config, request.is_index)
    apply_plan(request, plan)


def apply_plan(request: Request, plan: Plan) -> None:
    """Put ``plan`` into effect on ``request`` and the current response."""
    state = request.__dict__
    state["_plan"] = plan
    state["handler"] = plan.handler
    state["is_index"] = plan.is_index
    if plan.request_attrs:
        state.update(plan.request_attrs)
    if plan.error_page:
        state["error_page"] = dict(plan.error_page)
    if plan.toolmaps:
        state["toolmaps"] = plan.toolmaps
    if plan.response_attrs or plan.response_headers:
        response = serving.response
        for name, value in plan.response_attrs.items():
            setattr(response, name, value)
        headers = response.headers
        for name, value in plan.response_headers.items():
            headers[name] = value
