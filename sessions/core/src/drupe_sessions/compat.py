"""The names this distribution gives ``drupe.lib.sessions`` (CherryPy's ``lib.sessions``).

Registered as ``lib.sessions`` in the ``drupe.compat`` entry-point group.
``FileSession`` and ``MemcachedSession`` live in their own distributions; they are looked
up in the ``drupe.sessions`` group when first asked for, and a missing one is an
ImportError naming the distribution to install.
"""

from __future__ import annotations

from typing import Any

from drupe_sessions._base import LockTimeout, Session, generate_id, valid_id
from drupe_sessions._ram import RamSession
from drupe_sessions._tool import close, expire, init, save, set_response_cookie

__all__ = [
    "BackendNotInstalled",
    "LockTimeout",
    "RamSession",
    "Session",
    "close",
    "expire",
    "generate_id",
    "init",
    "save",
    "set_response_cookie",
    "valid_id",
]

_BACKENDS = {
    "FileSession": ("file", "drupe-session-file"),
    "MemcachedSession": ("memcached", "drupe-session-memcached"),
    "SqlSession": ("sql", "drupe-session-sqlalchemy"),
}


class BackendNotInstalled(ImportError):
    """A session backend named through ``drupe.lib.sessions`` is not installed."""


def __getattr__(name: str) -> Any:
    backend = _BACKENDS.get(name)
    if backend is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    storage_type, distribution = backend
    import drupe

    if not drupe.registry.has("drupe.sessions", storage_type):
        raise BackendNotInstalled(
            f"drupe.lib.sessions.{name} is the {storage_type!r} session backend, which is not "
            f"installed: pip install {distribution}"
        )
    return drupe.registry.load("drupe.sessions", storage_type, key=f"drupe.lib.sessions.{name}")
