"""Application-facing helpers: ``expose``, ``popargs`` and ``url``."""

from __future__ import annotations

import sys
import types
import urllib.parse
from collections.abc import Callable
from typing import Any

from drupe._serving import serving

__all__ = ["expose", "popargs", "url"]


def expose(func: Any = None, alias: str | list[str] | tuple[str, ...] | None = None) -> Any:
    """Mark a function, method or class as reachable through URLs.

    ``@expose``, ``@expose()``, ``@expose("alias")``, ``@expose(["a", "b"])`` and
    ``@expose(alias=...)`` all work. Aliases are added to the enclosing class body under
    those names (dots become underscores), so ``/alias`` reaches the same handler.
    """

    def bind_aliases(target: Any, names: Any, namespace: dict[str, Any]) -> Any:
        target.exposed = True
        if names is not None:
            for name in [names] if isinstance(names, str) else names:
                namespace[name.replace(".", "_")] = target
        return target

    decoratable = (types.FunctionType, types.MethodType, type)
    if isinstance(func, decoratable):
        if alias is None:
            target: Any = func
            target.exposed = True
            return target
        # expose(func, alias): the caller's frame is the class body being built.
        return bind_aliases(func, alias, sys._getframe(1).f_locals)
    if func is not None and not isinstance(func, (str, list, tuple)):
        # An object with __call__, a functools.partial, a staticmethod...
        try:
            func.exposed = True
        except AttributeError:
            raise TypeError(f"expose() cannot mark {func!r}: it does not take attributes") from None
        return func
    names = alias if func is None else func
    namespace = sys._getframe(1).f_locals

    def decorator(target: Any) -> Any:
        return bind_aliases(target, names, namespace)

    return decorator


def popargs(*args: str, handler: Any = None) -> Any:
    """Turn leading path segments into named parameters.

    As a class decorator (``@popargs("band", "album")``) it installs a ``_cp_dispatch`` on
    the class; it can also be assigned directly (``_cp_dispatch = popargs("id")``).
    ``handler`` is the object (or a callable returning the object) that handles the rest
    of the path; by default, the object itself.
    """
    if not all(isinstance(name, str) for name in args):
        raise TypeError("popargs() takes parameter names (str)")
    handler_call = handler is not None and (callable(handler) or isinstance(handler, type))

    def decorated(cls_or_self: Any = None, vpath: list[str] | None = None) -> Any:
        if isinstance(cls_or_self, type):
            cls: Any = cls_or_self
            cls._cp_dispatch = decorated
            return cls
        self = cls_or_self
        segments = vpath if vpath is not None else []
        taken: dict[str, str] = {}
        for name in args:
            if not segments:
                break
            taken[name] = segments.pop(0)
        if handler is not None:
            if handler_call:
                return handler(**taken)
            serving.request.params.update(taken)
            return handler
        serving.request.params.update(taken)
        if segments:
            # Resolve the next segment directly so this _cp_dispatch is not re-entered.
            return getattr(self, segments.pop(0), None)
        return self

    # Dispatchers that cache plans per path may replay this deterministically.
    decorated._drupe_popargs = (args, handler, handler_call)  # type: ignore[attr-defined]
    return decorated


def _normalize_path(path: str) -> str:
    """Remove ``.`` and ``..`` segments (RFC 3986 section 5.2.4)."""
    if "./" not in path and not path.endswith("/.") and not path.endswith("/.."):
        return path
    output: list[str] = []
    segments = path.split("/")
    for index, segment in enumerate(segments):
        if segment == ".":
            if index == len(segments) - 1:
                output.append("")
            continue
        if segment == "..":
            if len(output) > 1:
                output.pop()
            if index == len(segments) - 1:
                output.append("")
            continue
        output.append(segment)
    result = "/".join(output)
    if path.startswith("/") and not result.startswith("/"):
        result = "/" + result
    return result


def url(path: str = "", qs: Any = "", script_name: str | None = None, base: str | None = None,
        relative: bool | str | None = None) -> str:
    """An absolute URL for ``path`` in the current application.

    A relative ``path`` is resolved against the current ``path_info``; ``qs`` may be a
    string or a mapping/sequence to urlencode. ``relative=True`` gives a URL relative to
    the current one, ``relative='server'`` one starting with ``/``. Outside a request the
    base comes from ``drupe.server.base()``.
    """
    if isinstance(qs, (tuple, list, dict)):
        qs = urllib.parse.urlencode(qs)
    if qs:
        qs = "?" + qs
    request = serving.request
    if request.app is not None:
        if not path.startswith("/"):
            path_info = request.path_info
            if request.is_index is True:
                if not path_info.endswith("/"):
                    path_info += "/"
            elif request.is_index is False and path_info.endswith("/") and path_info != "/":
                path_info = path_info[:-1]
            path = path_info if path == "" else urllib.parse.urljoin(path_info, path)
        if script_name is None:
            script_name = request.script_name
        if base is None:
            base = request.base
        new_url = base + script_name + _normalize_path(path) + qs
    else:
        if base is None:
            from drupe._server import server

            base = server.base()
        new_url = base + _normalize_path((script_name or "") + path) + qs

    if relative is None:
        relative = getattr(request.app, "relative_urls", False)
    if relative == "server":
        new_url = "/" + "/".join(new_url.split("/", 3)[3:])
    elif relative:
        old = url(relative=False).split("/")[:-1]
        new = new_url.split("/")
        while old and new and old[0] == new[0]:
            old.pop(0)
            new.pop(0)
        new_url = "/".join([".."] * len(old) + new)
    return str(new_url)


def is_exposed(obj: Any) -> bool:
    """True when ``obj`` was marked with :func:`expose`."""
    return bool(getattr(obj, "exposed", False))


Handler = Callable[..., Any]
