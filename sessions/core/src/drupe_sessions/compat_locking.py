"""The name this distribution gives ``drupe.lib.locking`` (CherryPy's ``lib.locking``).

Registered as ``lib.locking`` in the ``drupe.compat`` entry-point group: ``LockTimeout``,
raised when a session lock is not acquired within ``tools.sessions.lock_timeout``.
"""

from drupe_sessions._base import LockTimeout

__all__ = ["LockTimeout"]
