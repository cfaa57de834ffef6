"""The names this distribution gives ``drupe.lib.cptools`` (CherryPy's ``lib.cptools``).

Registered as ``lib.cptools`` in the ``drupe.compat`` entry-point group, next to the
standard tools' and the proxy tool's names: ``SessionAuth`` (the class behind
``tools.session_auth``, to subclass or call directly) and ``session_auth`` (the tool's
callable).
"""

from drupe_sessions._auth import SessionAuth, session_auth

__all__ = ["SessionAuth", "session_auth"]
