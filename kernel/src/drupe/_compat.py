"""Compatibility modules: CherryPy's module paths, resolved lazily to the kernel or plugins.

CherryPy applications import helpers from paths such as ``cherrypy.lib.static`` or
``cherrypy.process.plugins``. In drupe those names live in plugin distributions, which the
kernel must not import by name. Each compatibility module (``drupe.lib.static``, ...) is a
thin facade: its missing attributes are looked up, on first use, in the modules that
distributions register under its name in the ``drupe.compat`` entry-point group
(``lib.static = "drupe_tool_static.compat"``). Several distributions may contribute to one
compatibility module; one name provided twice is an error naming both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drupe._registry import KNOWN_DISTRIBUTIONS, DuplicatePluginError, registry

__all__ = ["MissingCompatError", "facade", "ntob", "ntou", "text_or_bytes", "tonative"]


class MissingCompatError(ImportError):
    """A compatibility module's provider is not installed."""


def facade(module_name: str, compat_name: str, namespace: dict[str, Any]) -> Callable[[str], Any]:
    """A module ``__getattr__`` resolving names through ``drupe.compat`` / ``compat_name``."""

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        providers = registry.load_all("drupe.compat", compat_name)
        found: list[tuple[Any, Any]] = []
        for provider in providers:
            if hasattr(provider, name):
                value = getattr(provider, name)
                if not any(value is other for _, other in found):
                    found.append((provider, value))
        if not found:
            if not providers:
                distribution = KNOWN_DISTRIBUTIONS.get(("drupe.compat", compat_name))
                install = (f"pip install {distribution}" if distribution else
                           f"install a distribution registering {compat_name!r} in the "
                           "'drupe.compat' entry-point group")
                raise MissingCompatError(
                    f"{module_name}.{name} is provided by a plugin that is not installed: "
                    f"{install}"
                )
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        if len(found) > 1:
            owners = " and ".join(getattr(p, "__name__", repr(p)) for p, _ in found)
            raise DuplicatePluginError(f"{module_name}.{name} is provided twice: by {owners}.")
        value = found[0][1]
        namespace[name] = value
        return value

    return __getattr__


# CherryPy's Python 2/3 helpers, still used by applications and toolboxes.
text_or_bytes = (str, bytes)


def ntob(n: str, encoding: str = "ISO-8859-1") -> bytes:
    """A native string as bytes."""
    return n.encode(encoding)


def ntou(n: str, encoding: str = "ISO-8859-1") -> str:
    """A native string as text (it already is)."""
    return n


def tonative(n: str | bytes, encoding: str = "ISO-8859-1") -> str:
    """Bytes or text as a native string."""
    return n.decode(encoding) if isinstance(n, bytes) else n
