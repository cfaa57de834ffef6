"""``drupe.lib``: CherryPy's helper library.

Kernel helpers live here (iteration helpers, ``set_vary_header``) and in
``drupe.lib.httputil``, ``drupe.lib.reprconf`` and ``drupe.lib.headers``. The other
modules (``drupe.lib.sessions``, ``drupe.lib.static``, ``drupe.lib.auth_basic``, ...) are
compatibility facades whose names come from the plugin providing them (see
``drupe._compat``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

_SUBMODULES = frozenset({
    "auth_basic", "auth_digest", "caching", "cpstats", "cptools", "encoding", "gctools",
    "headers", "httputil", "jsontools", "locking", "profiler", "reprconf", "sessions", "static",
    "xmlrpcutil",
})


def __getattr__(name: str) -> Any:
    # ``drupe.lib.cptools.accept`` works without importing drupe.lib.cptools first, as in
    # CherryPy; the submodule (a thin facade) is imported on first access.
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "file_generator",
    "file_generator_limited",
    "is_closable_iterator",
    "is_iterator",
    "lazy_exports",
    "set_vary_header",
]


def lazy_exports(package: str, locations: dict[str, str], namespace: dict[str, Any]) -> tuple[
        Any, Any]:
    """A package's ``__getattr__`` and ``__dir__`` importing each name's submodule on first use.

    ``locations`` maps an exported name to the submodule (relative to ``package``) defining
    it; ``namespace`` is the package's ``globals()``, where a loaded name is kept. Plugin
    packages use it so that importing them (as entry points do) loads nothing more::

        __getattr__, __dir__ = drupe.lib.lazy_exports(__name__, {"JsonInTool": "_tools"}, globals())
    """
    import importlib

    def __getattr__(name: str) -> Any:
        submodule = locations.get(name)
        if submodule is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{submodule}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(locations))

    return __getattr__, __dir__


def is_iterator(obj: Any) -> bool:
    """True for iterators and generators (not for lists, str or bytes)."""
    from collections.abc import Iterator as IteratorABC

    if isinstance(obj, (list, tuple, str, bytes, dict)):
        return False
    return isinstance(obj, IteratorABC)


def is_closable_iterator(obj: Any) -> bool:
    """True for an iterator with a ``close()`` (a generator, say)."""
    import inspect

    if inspect.isgenerator(obj):
        return True
    return is_iterator(obj) and callable(getattr(obj, "close", None))


class file_generator:
    """Yield a file's content in chunks, closing the file at the end."""

    def __init__(self, input: Any, chunkSize: int = 65536) -> None:
        self.input = input
        self.chunkSize = chunkSize

    def __iter__(self) -> file_generator:
        return self

    def __next__(self) -> bytes:
        chunk = self.input.read(self.chunkSize)
        if chunk:
            return chunk  # type: ignore[no-any-return]
        self.close()
        raise StopIteration()

    def close(self) -> None:
        closer = getattr(self.input, "close", None)
        if closer is not None:
            closer()


def file_generator_limited(fileobj: Any, count: int, chunk_size: int = 65536) -> Iterator[bytes]:
    """Yield at most ``count`` bytes of ``fileobj`` in chunks."""
    remaining = count
    while remaining > 0:
        chunk = fileobj.read(min(chunk_size, remaining))
        if not chunk:
            return
        remaining -= len(chunk)
        yield chunk


def set_vary_header(response: Any, header_name: str) -> None:
    """Add ``header_name`` to the response's Vary header (once, whatever its case).

    A ``Vary: *`` already says the response varies on everything and is left alone.
    """
    varies = str(response.headers.get("Vary", "") or "")
    names = [name.strip() for name in varies.split(",") if name.strip()]
    if "*" in names or header_name.lower() in (name.lower() for name in names):
        return
    names.append(header_name)
    response.headers["Vary"] = ", ".join(names)
