"""drupe-sessions: server-side sessions for drupe (CherryPy's ``tools.sessions``).

This distribution registers:

* ``sessions`` and ``session_auth`` in ``drupe.tools``;
* ``ram`` in ``drupe.sessions`` -> :class:`RamSession` (the default storage);
* ``lib.sessions`` and ``lib.locking`` in ``drupe.compat`` -> :mod:`drupe_sessions.compat`
  (``drupe.lib.sessions.Session``, ``RamSession``, ``FileSession``, ``init``, ...).

Backends subclass :class:`Session` (see ``_base``) and register in ``drupe.sessions``;
the shared contract is in this distribution's README.
"""

from __future__ import annotations

from drupe_sessions._base import (
    DEFAULT_LOCK_TIMEOUT,
    LOG_CONTEXT,
    LockTimeout,
    Session,
    generate_id,
    redacted,
    valid_id,
)
from drupe_sessions._locks import IdLocks
from drupe_sessions._ram import RamSession
from drupe_sessions._serializer import JSONSerializer, PickleSerializer, Serializer, make_serializer

__all__ = [
    "DEFAULT_LOCK_TIMEOUT",
    "LOG_CONTEXT",
    "IdLocks",
    "JSONSerializer",
    "LockTimeout",
    "PickleSerializer",
    "RamSession",
    "Serializer",
    "Session",
    "generate_id",
    "make_serializer",
    "redacted",
    "valid_id",
]


def __getattr__(name: str) -> object:
    # The tools import the kernel's request machinery; load them on first use only.
    if name in ("sessions_tool", "session_auth_tool", "SessionTool", "SessionAuthTool",
                "init", "save", "close", "expire", "set_response_cookie", "SessionAuth"):
        from drupe_sessions import _auth, _tool

        for module in (_tool, _auth):
            if hasattr(module, name):
                return getattr(module, name)
    raise AttributeError(f"module 'drupe_sessions' has no attribute {name!r}")
