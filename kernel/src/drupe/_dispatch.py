"""What dispatchers give the kernel, and the page-handler wrappers they use.

A dispatcher finds the page handler for a path. Two contracts are supported:

* **CherryPy's**: ``dispatcher(path_info)`` sets ``request.handler`` (a callable taking no
  arguments), ``request.config`` (the merged flat config) and ``request.is_index``. Any
  callable works; the kernel then builds the request's plan every time.
* **drupe's**, for subclasses of :class:`DispatcherBase`: ``plan_key(request, path_info)``
  says which requests share a result, and ``resolve(request, path_info)`` returns a
  :class:`Resolution`. The kernel caches the plan built from a resolution under its key, so
  a path is dispatched once, not on every request. ``DispatcherBase.__call__`` still speaks
  CherryPy's contract, so a subclass that overrides ``__call__`` (the documentation's
  ``ForceLowerDispatcher``) keeps working; the kernel notices the override and calls it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Hashable
from typing import Any

from drupe._errors import HTTPError, NotFound
from drupe._serving import serving

__all__ = [
    "DispatcherBase",
    "ErrorHandler",
    "LateParamPageHandler",
    "PageHandler",
    "Resolution",
    "test_callable_spec",
]


class Resolution:
    """What a dispatcher found for a path.

    ``handler`` is the exposed callable (``None`` when nothing matched: 404), ``args`` the
    leftover path segments passed positionally, ``config`` the merged flat config for the
    path, ``is_index`` what the trailing_slash tool needs (True: an index handler; False:
    not one; None: unknown). ``params`` are parameters the dispatch took from the path
    (``popargs``); they are added to ``request.params`` whenever the cached plan is reused.
    ``cacheable`` is False when the result depended on anything but the plan key (a
    user-written ``_cp_dispatch``, say). ``wrap`` turns ``handler`` and ``args`` into the
    request's handler (default: :class:`LateParamPageHandler`).
    """

    __slots__ = ("args", "cacheable", "config", "extra", "handler", "is_index", "params", "wrap")

    def __init__(self, handler: Callable[..., Any] | None, args: tuple[str, ...] = (),
                 config: dict[str, Any] | None = None, is_index: bool | None = None,
                 params: dict[str, Any] | None = None, cacheable: bool = True,
                 wrap: Callable[..., Any] | None = None, extra: dict[str, Any] | None = None) -> None:
        self.handler = handler
        self.args = tuple(args)
        self.config = {} if config is None else config
        self.is_index = is_index
        self.params = params
        self.cacheable = cacheable
        self.wrap = wrap
        self.extra = extra

    def __repr__(self) -> str:
        return (f"Resolution(handler={self.handler!r}, args={self.args!r}, "
                f"is_index={self.is_index!r}, cacheable={self.cacheable!r})")

    def page_handler(self) -> Callable[[], Any]:
        """The request handler: the wrapped callable, or one that raises ``NotFound``."""
        if self.handler is None:
            return ErrorHandler(404, path=_current_path())
        args = tuple(arg.replace("%2F", "/") for arg in self.args)
        wrap = self.wrap or LateParamPageHandler
        return wrap(self.handler, *args)


def _current_path() -> str:
    request = serving.request
    return (request.script_name or "") + (request.path_info or "")


class ErrorHandler:
    """A page handler that raises ``HTTPError(status, message)`` — a fresh one each call.

    Plans are shared between requests; a shared exception instance would accumulate a
    traceback entry on every raise, so the handler keeps only the status and message.
    With ``status=404`` and a ``path``, it raises ``NotFound(path)``.
    """

    __slots__ = ("message", "path", "status")

    def __init__(self, status: int, message: str | None = None, path: str | None = None) -> None:
        self.status = status
        self.message = message
        self.path = path

    def __call__(self) -> Any:
        if self.status == 404 and self.message is None:
            raise NotFound(self.path)
        raise HTTPError(self.status, self.message)

    def __repr__(self) -> str:
        return f"ErrorHandler({self.status!r}, {self.message!r})"


def _resolves(func: Callable[..., Any]) -> Callable[..., Any]:
    func._drupe_resolves = True  # type: ignore[attr-defined]
    return func


class DispatcherBase:
    """Base class for dispatchers whose results the kernel may cache per path."""

    def plan_key(self, request: Any, path_info: str) -> Hashable | None:
        """Requests with equal keys get the same resolution; ``None`` disables caching."""
        return path_info

    def resolve(self, request: Any, path_info: str) -> Resolution:  # pragma: no cover
        """Find the handler and config for ``path_info``."""
        raise NotImplementedError

    @_resolves
    def __call__(self, path_info: str) -> None:
        """CherryPy's contract: set ``request.handler``, ``request.config``, ``is_index``."""
        request = serving.request
        resolution = self.resolve(request, path_info)
        request.config = resolution.config
        request.handler = resolution.page_handler()
        request.is_index = resolution.is_index


def resolves_with_plan(dispatcher: Any) -> bool:
    """True when the kernel may use ``plan_key``/``resolve`` instead of calling it."""
    # The class's __call__, not the instance's: a subclass overriding it opts out.
    call = type(dispatcher).__dict__.get("__call__") or getattr(type(dispatcher), "__call__", None)  # noqa: B004
    return bool(getattr(call, "_drupe_resolves", False)) and hasattr(dispatcher, "resolve")


# ---------------------------------------------------------------------------
# Page handlers


class PageHandler:
    """Calls a page handler with fixed positional and keyword arguments.

    A ``TypeError`` raised by the call itself (a signature mismatch, not a bug inside the
    handler) becomes 404 (missing or extra path/query parameters) or 400 (body
    parameters), as :func:`test_callable_spec` decides.
    """

    def __init__(self, callable: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self.callable = callable
        self.args = args
        self._kwargs = kwargs

    @property
    def kwargs(self) -> dict[str, Any]:
        return self._kwargs

    @kwargs.setter
    def kwargs(self, kwargs: dict[str, Any]) -> None:
        serving.request.kwargs = kwargs
        self._kwargs = kwargs

    def __call__(self) -> Any:
        args = self.args
        kwargs = self.kwargs
        try:
            return self.callable(*args, **kwargs)
        except TypeError as exc:
            tb = exc.__traceback__
            # Raised by the call itself (no frame of the handler on the stack)?
            if tb is not None and tb.tb_next is None:
                test_callable_spec(self.callable, args, kwargs)
            raise

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.callable!r} args={self.args!r}>"


class LateParamPageHandler(PageHandler):
    """A page handler whose keyword arguments are ``request.params`` at call time.

    One instance serves every request of a cached plan: it keeps no per-request state
    (a ``kwargs`` assignment is stored on the request).
    """

    @property
    def kwargs(self) -> dict[str, Any]:
        request = serving.request
        assigned = request.kwargs
        if assigned is not None:
            return assigned  # type: ignore[no-any-return]
        if self._kwargs:
            merged = dict(request.params)
            merged.update(self._kwargs)
            return merged
        return request.params  # type: ignore[no-any-return]

    @kwargs.setter
    def kwargs(self, kwargs: dict[str, Any]) -> None:
        serving.request.kwargs = kwargs


def _signature(callable: Callable[..., Any]) -> Any:
    import inspect

    try:
        return inspect.signature(callable)
    except (TypeError, ValueError):
        call = getattr(callable, "__call__", None)  # noqa: B004
        if call is None:
            return None
        try:
            return inspect.signature(call)
        except (TypeError, ValueError):
            return None


def test_callable_spec(callable: Callable[..., Any], callable_args: tuple[Any, ...],
                       callable_kwargs: dict[str, Any]) -> None:
    """Raise 404 or 400 when ``callable`` cannot take the given arguments.

    Missing parameters, extra path segments and unexpected query-string parameters mean
    the URL names nothing: 404. Unexpected or duplicated body parameters mean a bad
    request: 400. With ``request.show_mismatched_params`` the message names them.
    """
    signature = _signature(callable)
    if signature is None:
        return
    show = getattr(serving.request, "show_mismatched_params", False)
    positional: list[str] = []
    keyword_only: list[str] = []
    has_varargs = has_varkw = False
    required: set[str] = set()
    for name, param in signature.parameters.items():
        kind = param.kind
        if kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
            positional.append(name)
        elif kind is param.KEYWORD_ONLY:
            keyword_only.append(name)
        elif kind is param.VAR_POSITIONAL:
            has_varargs = True
        elif kind is param.VAR_KEYWORD:
            has_varkw = True
        if param.default is param.empty and kind not in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            required.add(name)

    usage: dict[str, int] = dict.fromkeys(positional + keyword_only, 0)
    extra_positional = 0
    for index in range(len(callable_args)):
        if index < len(positional):
            usage[positional[index]] += 1
        else:
            extra_positional += 1
    extra_keywords: set[str] = set()
    for key in callable_kwargs:
        if key in usage:
            usage[key] += 1
        else:
            extra_keywords.add(key)

    missing = [name for name in usage if usage[name] == 0 and name in required]
    multiple = [name for name in usage if usage[name] > 1]

    if missing:
        raise HTTPError(404, "Missing parameters: " + ",".join(missing) if show else None)
    if extra_positional and not has_varargs:
        raise HTTPError(404)
    body = getattr(serving.request, "body", None)
    body_params = set((getattr(body, "params", None) or {}).keys()) if body is not None else set()
    query_params = set(callable_kwargs) - body_params
    if multiple:
        # A duplicate from the URL means the URL names nothing (404); one from the body
        # is a bad request (400). Either way the client's doing, never a 500.
        status = 404 if query_params.intersection(multiple) else 400
        raise HTTPError(status, "Multiple values for parameters: " + ",".join(multiple) if show else None)
    if extra_keywords and not has_varkw:
        extra_query = sorted(query_params & extra_keywords)
        if extra_query:
            raise HTTPError(404, "Unexpected query string parameters: " + ", ".join(extra_query)
                            if show else None)
        extra_body = sorted(body_params & extra_keywords)
        if extra_body:
            raise HTTPError(400, "Unexpected body parameters: " + ", ".join(extra_body)
                            if show else None)


def exc_is_call_error() -> bool:
    """True when the TypeError being handled was raised by a call's argument binding."""
    exc = sys.exc_info()[1]
    return isinstance(exc, TypeError) and exc.__traceback__ is not None and exc.__traceback__.tb_next is None
