"""Tools around the page handler's input and output: ``params`` and ``flatten``.

* ``params`` (``before_handler`` 15) converts ``request.params`` with the page handler's
  annotations before the handler is called: ``def page(self, limit: int = 10)`` receives
  an int. A value the conversion refuses is the client's mistake: ``error`` (400) with a
  message naming the parameter, never a 500. Understood annotations: any callable taking
  the text (``int``, ``float``, ``decimal.Decimal`` — whose InvalidOperation counts as a
  ValueError —, ``uuid.UUID``, an ``Enum``, your own function), ``bool`` (``true/false``,
  ``1/0``, ``yes/no``, ``on/off``; anything else is refused rather than taken as true),
  ``datetime.date``/``datetime``/``time`` (ISO format), ``X | None`` / ``Optional[X]``
  (as ``X``), ``list[X]`` (each value, repeated parameters allowed) and
  ``Annotated[X, ...]`` (as ``X``). ``str``, ``Any`` and annotations that cannot be
  resolved leave the value alone. The annotations of each handler are read once and
  cached.
* ``flatten`` (``before_finalize`` 50) lets a handler's body contain iterators (generators
  yielding generators): the body is iterated depth first into one flat stream of chunks.
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import enum
import types
import typing
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import drupe
from drupe.lib import is_closable_iterator, is_iterator

__all__ = ["ParamsTool", "convert_params", "flatten"]

_MISSING = object()
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})

Converter = Callable[[Any], Any]


def _to_bool(value: str) -> bool:
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{value!r} is not a boolean (true/false, 1/0, yes/no, on/off)")


def _iso(kind: type) -> Converter:
    def convert(value: str) -> Any:
        return kind.fromisoformat(value)  # type: ignore[attr-defined]

    return convert


def _decimal(kind: type[decimal.Decimal]) -> Converter:
    def convert(value: str) -> decimal.Decimal:
        try:
            return kind(value)
        except decimal.InvalidOperation:
            # An ArithmeticError, not the ValueError every other converter raises.
            raise ValueError(f"{value!r} is not a decimal number") from None

    return convert


class _ListOf:
    """Converts one value or a list of them with ``item``; always gives a list."""

    __slots__ = ("item",)

    def __init__(self, item: Converter | None) -> None:
        self.item = item

    def __call__(self, value: Any) -> list[Any]:
        values = value if isinstance(value, list) else [value]
        return [self.item(one) for one in values] if self.item else list(values)


def _converter(hint: Any) -> Converter | None:
    """How to convert text for annotation ``hint`` (``None``: leave the value alone)."""
    if hint in (str, Any, typing.Any, None, type(None)) or isinstance(hint, str):
        return None
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        return _converter(typing.get_args(hint)[0])
    if origin is typing.Union or (hasattr(types, "UnionType") and origin is types.UnionType):
        members = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _converter(members[0]) if len(members) == 1 else None
    if origin in (list, typing.List):  # noqa: UP006 - the old spelling is a different object
        arguments = typing.get_args(hint)
        return _ListOf(_converter(arguments[0]) if arguments else None)
    if origin is not None:
        # Other generics (dict[str, int], tuple[...]) cannot be built from query text.
        return None
    if hint is bool:
        return _to_bool
    if isinstance(hint, type) and issubclass(hint, (datetime.date, datetime.time)):
        return _iso(hint)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint
    if isinstance(hint, type) and issubclass(hint, decimal.Decimal):
        return _decimal(hint)
    return hint if callable(hint) else None


# Converters per handler function (weakly keyed: handlers of unmounted apps go away).
_cache: weakref.WeakKeyDictionary[Any, dict[str, Converter]] = weakref.WeakKeyDictionary()


def _target(handler_callable: Any) -> Any:
    target = getattr(handler_callable, "__func__", handler_callable)
    if not hasattr(target, "__annotations__") and hasattr(target, "__call__"):  # noqa: B004
        call = target.__call__
        target = getattr(call, "__func__", call)
    return target


def converters_for(handler_callable: Any) -> dict[str, Converter]:
    """Parameter name -> converter, from ``handler_callable``'s annotations (cached)."""
    target = _target(handler_callable)
    try:
        cached = _cache.get(target)
    except TypeError:
        cached = None
    if cached is not None:
        return cached
    try:
        hints = typing.get_type_hints(target, include_extras=True)
    except Exception:
        # Unresolvable names (a forward reference to something never imported): use the
        # annotations as written; strings among them are left alone.
        hints = dict(getattr(target, "__annotations__", None) or {})
    converters = {name: converter for name, hint in hints.items()
                  if name != "return" and (converter := _converter(hint)) is not None}
    with contextlib.suppress(TypeError):
        _cache[target] = converters
    return converters


def _convert(name: str, value: Any, converter: Converter,
             exception: type[BaseException] | tuple[type[BaseException], ...], error: int) -> Any:
    if isinstance(value, list) and not isinstance(converter, _ListOf):
        raise drupe.HTTPError(error, f"The parameter {name!r} was given {len(value)} times; it "
                                     "takes one value.")
    # Text a converter refuses raises `exception`; anything else (a file upload given
    # where a number is expected) is refused with a TypeError, also the client's doing.
    caught = exception if isinstance(value, (str, list)) else (exception, TypeError)
    try:
        return converter(value)
    except caught as exc:  # type: ignore[misc]
        raise drupe.HTTPError(error, f"The parameter {name!r} has an invalid value: {exc}")


def convert_params(exception: type[BaseException] | tuple[type[BaseException], ...] = ValueError,
                   error: int = 400, debug: bool = False) -> None:
    """Convert ``request.params`` with the page handler's annotations.

    A conversion raising ``exception`` becomes ``HTTPError(error)`` naming the parameter.
    """
    request = drupe.serving.request
    handler_callable = getattr(request.handler, "callable", _MISSING)
    if handler_callable is _MISSING or handler_callable is None:
        return
    converters = converters_for(handler_callable)
    if not converters:
        return
    params = request.params
    for name, converter in converters.items():
        value = params.get(name, _MISSING)
        if value is not _MISSING:
            params[name] = _convert(name, value, converter, exception, error)
            if debug:
                drupe.log(f"Converted {name!r}: {value!r} -> {params[name]!r}", "TOOLS.PARAMS")


class ParamsTool(drupe.Tool):
    """The ``params`` tool: :func:`convert_params` at ``before_handler``, priority 15."""

    def __init__(self) -> None:
        super().__init__("before_handler", convert_params, name="params", priority=15)

    def check_settings(self, settings: dict[str, Any]) -> None:
        """``exception`` must be exception classes; ``error`` an error status."""
        prefix = f"{self.namespace}.{self.name or 'params'}."
        if "exception" in settings:
            value = settings["exception"]
            classes = value if isinstance(value, tuple) else (value,)
            if not classes or not all(isinstance(item, type) and issubclass(item, BaseException)
                                      for item in classes):
                raise drupe.ConfigError(f"Config key {prefix + 'exception'!r}: expected an "
                                        f"exception class or a tuple of them, not {value!r}.")
        if "error" in settings:
            value = settings["error"]
            if not isinstance(value, int) or isinstance(value, bool) or not 400 <= value <= 599:
                raise drupe.ConfigError(f"Config key {prefix + 'error'!r}: expected an error "
                                        f"status (400 to 599), not {value!r}.")


# -- flatten ------------------------------------------------------------------------------


def _flattened(body: Iterable[Any], counter: list[int]) -> Iterator[Any]:
    try:
        for chunk in body:
            if is_iterator(chunk):
                yield from _flattened(chunk, counter)
            else:
                counter[0] += 1
                yield chunk
    finally:
        if is_closable_iterator(body):
            body.close()  # type: ignore[attr-defined]


def flatten(debug: bool = False) -> None:
    """Make the response body one flat iterator of chunks, however deeply nested."""
    response = drupe.serving.response
    counter = [0]

    def flattened() -> Iterator[Any]:
        yield from _flattened(response_body, counter)
        if debug:
            drupe.log(f"Flattened {counter[0]} chunks.", "TOOLS.FLATTEN")

    response_body = response.body
    response.body = flattened()
