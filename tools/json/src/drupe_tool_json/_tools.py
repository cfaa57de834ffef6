"""The ``json_in`` and ``json_out`` tools.

**json_in** (``before_request_body``, priority 30) makes the JSON processor parse the
request body of its content types into ``request.json``. With ``force`` (the default)
every other body processor is removed for the request, so a body of another media type is
answered ``415 Unsupported Media Type`` instead of being parsed as a form. Its
``max_bytes`` and ``max_depth`` arguments (drupe's) set the JSON limits for the request;
see :mod:`drupe_tool_json._decode` for what the processor checks.

**json_out** (``before_handler``, priority 30) wraps the page handler so that its return
value is JSON-encoded, and sets the response's Content-Type. It works as CherryPy's does,
so custom ``handler`` functions written for CherryPy keep working: the inner page handler
is kept as ``request._json_inner_handler`` and ``request.handler`` becomes ``handler``,
called with no arguments. The default :func:`json_handler` encodes with the standard
library, as compact as CherryPy's output (``{"key": "value"}``), into one UTF-8 ``bytes``
body, so the response gets a Content-Length whether or not it is streamed.

A value JSON cannot represent (an object of an unknown type, NaN or an infinity, a cycle)
is a server error: a ``TypeError`` naming the value's problem, logged with its traceback
and answered ``500``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import drupe
from drupe_tool_json._decode import DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, json_processor

__all__ = [
    "DEFAULT_CONTENT_TYPES",
    "JsonInTool",
    "JsonOutTool",
    "encode",
    "json_handler",
    "json_in",
    "json_in_tool",
    "json_out",
    "json_out_tool",
]

DEFAULT_CONTENT_TYPES = ("application/json", "text/javascript")
"""The media types ``json_in`` parses by default (CherryPy's)."""

F = TypeVar("F")

# allow_nan=False: NaN and Infinity are not JSON; sending them breaks strict clients.
_ENCODER = json.JSONEncoder(allow_nan=False)


def _content_types(value: str | Iterable[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def json_in(content_type: str | Iterable[str] = DEFAULT_CONTENT_TYPES, force: bool = True,
            debug: bool = False, processor: Callable[[Any], None] = json_processor,
            max_bytes: int | None = DEFAULT_MAX_BYTES,
            max_depth: int | None = DEFAULT_MAX_DEPTH) -> None:
    """Parse JSON request bodies of ``content_type`` into ``request.json``.

    ``force``: refuse bodies of any other media type with ``415``. ``processor``: the
    body processor to use (it receives the entity). ``max_bytes`` / ``max_depth``: the
    body's size and nesting limits (``None``: no limit of this tool's own).
    """
    request = drupe.serving.request
    types = _content_types(content_type)
    body = request.body
    body.json_max_bytes = max_bytes
    body.json_max_depth = max_depth
    if force:
        if debug:
            drupe.log(f"Removing body processors {sorted(body.processors)!r}", "TOOLS.JSON_IN")
        body.processors.clear()
        body.default_proc = _Refusal(types)
    for media_type in types:
        if debug:
            drupe.log(f"Adding body processor for {media_type}", "TOOLS.JSON_IN")
        body.processors[media_type.strip().lower()] = processor


class _Refusal:
    """``request.body.default_proc`` under ``force``: a body of another type is a 415."""

    __slots__ = ("types",)

    def __init__(self, types: list[str]) -> None:
        self.types = types

    def __call__(self) -> None:
        request = drupe.serving.request
        sent = request.headers.get("Content-Type") or "none"
        raise drupe.HTTPError(
            415, f"Expected a request body of content type {', '.join(self.types)}; "
                 f"the request's Content-Type is {sent}.")


def encode(value: Any) -> bytes:
    """``value`` as compact JSON text in UTF-8 (``TypeError`` when JSON cannot hold it)."""
    try:
        text = _ENCODER.encode(value)
    except (TypeError, ValueError, RecursionError) as exc:
        raise TypeError(
            f"json_out: the page handler's return value cannot be encoded as JSON: {exc}") from exc
    return text.encode("utf-8")


def json_handler(*args: Any, **kwargs: Any) -> bytes:
    """Call the page handler ``json_out`` wrapped and encode what it returns."""
    value = drupe.serving.request._json_inner_handler(*args, **kwargs)
    return encode(value)


def json_out(content_type: str | None = "application/json", debug: bool = False,
             handler: Callable[..., Any] = json_handler) -> None:
    """Make ``handler`` the page handler, keeping the original as ``request._json_inner_handler``.

    ``content_type`` (``None``: leave the header alone) is set on the response.
    """
    request = drupe.serving.request
    # A tool that already answered (caching, static files) set the handler to None: there
    # is nothing to wrap.
    if request.handler is None:
        return
    if debug:
        drupe.log(f"Replacing {request.handler!r} with the JSON handler", "TOOLS.JSON_OUT")
    request._json_inner_handler = request.handler
    request.handler = handler
    if content_type is not None:
        if debug:
            drupe.log(f"Setting Content-Type to {content_type}", "TOOLS.JSON_OUT")
        drupe.serving.response.headers["Content-Type"] = content_type


def _check_limit(settings: dict[str, Any], name: str, key: str, minimum: int) -> None:
    if name not in settings:
        return
    value = settings[name]
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise drupe.ConfigError(
            f"Config key {key!r}: expected an integer of at least {minimum} (or None for no "
            f"limit), not {value!r}.")


def _check_flag(settings: dict[str, Any], name: str, key: str) -> None:
    if name in settings and not isinstance(settings[name], bool):
        raise drupe.ConfigError(f"Config key {key!r}: expected True or False, not {settings[name]!r}.")


class JsonInTool(drupe.Tool):
    """``json_in``: :func:`json_in` at ``before_request_body``, priority 30."""

    def __init__(self) -> None:
        super().__init__("before_request_body", json_in, name="json_in", priority=30)

    def __call__(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        """The decorator checks its arguments at once (``@drupe.tools.json_in(...)``)."""
        self.check_settings(kwargs)
        return super().__call__(*args, **kwargs)

    def check_settings(self, settings: dict[str, Any]) -> None:
        """Validate ``content_type``, ``force``, ``debug``, ``processor`` and the limits."""
        prefix = f"{self.namespace}.{self.name or 'json_in'}."
        if "content_type" in settings:
            value = settings["content_type"]
            types = [value] if isinstance(value, str) else value
            if (not isinstance(types, (list, tuple)) or not types
                    or not all(isinstance(item, str) and "/" in item for item in types)):
                raise drupe.ConfigError(
                    f"Config key {prefix + 'content_type'!r}: expected a media type or a list of "
                    f"media types (like 'application/json'), not {value!r}.")
        _check_flag(settings, "force", prefix + "force")
        _check_flag(settings, "debug", prefix + "debug")
        if "processor" in settings and not callable(settings["processor"]):
            raise drupe.ConfigError(
                f"Config key {prefix + 'processor'!r}: expected a callable taking the request "
                f"entity, not {settings['processor']!r}.")
        _check_limit(settings, "max_bytes", prefix + "max_bytes", 0)
        _check_limit(settings, "max_depth", prefix + "max_depth", 1)


class JsonOutTool(drupe.Tool):
    """``json_out``: :func:`json_out` at ``before_handler``, priority 30.

    A plain Tool that replaces ``request.handler``, as CherryPy's is: a
    ``HandlerWrapperTool`` would call ``handler(inner, ...)``, breaking the custom
    ``handler`` functions written for CherryPy, which call
    ``request._json_inner_handler`` themselves.
    """

    def __init__(self) -> None:
        super().__init__("before_handler", json_out, name="json_out", priority=30)

    def __call__(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        """The decorator checks its arguments at once (``@drupe.tools.json_out(...)``)."""
        self.check_settings(kwargs)
        return super().__call__(*args, **kwargs)

    def check_settings(self, settings: dict[str, Any]) -> None:
        """Validate ``content_type``, ``debug`` and ``handler``."""
        prefix = f"{self.namespace}.{self.name or 'json_out'}."
        if "content_type" in settings:
            value = settings["content_type"]
            if value is not None and not isinstance(value, str):
                raise drupe.ConfigError(
                    f"Config key {prefix + 'content_type'!r}: expected a Content-Type string or "
                    f"None, not {value!r}.")
        _check_flag(settings, "debug", prefix + "debug")
        if "handler" in settings and not callable(settings["handler"]):
            raise drupe.ConfigError(
                f"Config key {prefix + 'handler'!r}: expected a callable, not {settings['handler']!r}.")


json_in_tool = JsonInTool()
json_out_tool = JsonOutTool()
