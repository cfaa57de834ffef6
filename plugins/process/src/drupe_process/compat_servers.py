"""The names drupe-process adds to ``drupe.process.servers`` (CherryPy's module path).

Registered as ``process.servers`` in the ``drupe.compat`` entry-point group; the kernel's
facade holds ``ServerAdapter``, ``wait_for_occupied_port`` and the other public names.
Any attribute of this module becomes reachable through the facade, so the imports are
kept private.
"""

from __future__ import annotations

import contextlib as _contextlib
import warnings as _warnings
from collections.abc import Iterator as _Iterator

__all__ = ["_safe_wait"]

_ALL_INTERFACES = frozenset({"", "0.0.0.0", "::", "::0", "::0.0.0.0"})


def _is_timeout(exc: BaseException) -> bool:
    # TimeoutError, and the OSErrors that port waits raise when time runs out (drupe's
    # wait_for_occupied_port, portend.Timeout): made from a message, with no errno. A real
    # socket error carries its errno and is never taken for a timeout.
    return isinstance(exc, TimeoutError) or (isinstance(exc, OSError) and exc.errno is None)


@_contextlib.contextmanager
def _safe_wait(host: str, port: int) -> _Iterator[None]:
    """Wait for a server's port inside this block, tolerating what cannot be checked.

    A server bound to all interfaces (``0.0.0.0``, ``::``) is checked through the
    loopback address, which a host may lack; a port wait in the block that runs out of
    time is then only a ``UserWarning`` ("Unable to verify that the server is bound on
    ..."). For any other host, and for every other error, the exception propagates.
    """
    try:
        yield
    except OSError as exc:
        if host not in _ALL_INTERFACES or not _is_timeout(exc):
            raise
        _warnings.warn(f"Unable to verify that the server is bound on {port!r} ({host!r}): {exc}",
                       stacklevel=3)
