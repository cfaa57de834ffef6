"""Systemd socket activation: serve the listening socket the service manager passed in.

With socket activation, systemd (or any manager speaking its protocol: ``systemd-socket-
activate``, ``s6``, ...) opens and binds the listening socket itself, then starts the
service with that socket as file descriptor 3 and two environment variables:
``LISTEN_PID`` (the pid of the process meant to use the sockets) and ``LISTEN_FDS`` (how
many sockets, starting at fd 3). The server then must not bind anything.

``LISTEN_PID`` is checked against our own pid, as the protocol requires: the variables
are inherited by child processes, which must not take over a socket that was not meant
for them. Only fd 3 is served; a process that runs several servers serves it from each.
"""

from __future__ import annotations

import os
import socket

__all__ = ["FIRST_INHERITED_FD", "ServerStartError", "activation_requested", "inherited_socket"]

FIRST_INHERITED_FD = 3


class ServerStartError(OSError):
    """The server could not start listening; the message names the ``server.*`` key.

    ``startup_error`` tells the engine to log the message alone, without a traceback
    (as it does for configuration errors).
    """

    startup_error = True

    def __str__(self) -> str:
        # OSError(errno, message) would print "[Errno 98] message"; the message alone
        # reads better in the log, and the number stays available as ``errno``.
        return self.strerror or super().__str__()


def activation_requested() -> bool:
    """True when this very process was started with sockets to serve."""
    try:
        pid = int(os.environ.get("LISTEN_PID", ""))
        count = int(os.environ.get("LISTEN_FDS", ""))
    except ValueError:
        return False
    return pid == os.getpid() and count >= 1


def inherited_socket() -> socket.socket | None:
    """A new socket object on the inherited listening socket, or ``None``.

    The descriptor is duplicated, so stopping the server closes our copy only: fd 3 stays
    open for a later start in the same process (``engine.restart()`` re-executes the
    process and hands it on).
    """
    if not activation_requested():
        return None
    try:
        descriptor = os.dup(FIRST_INHERITED_FD)
    except OSError as exc:
        raise ServerStartError(
            f"Socket activation: LISTEN_PID and LISTEN_FDS ask to serve file descriptor "
            f"{FIRST_INHERITED_FD}, but it is not open ({exc})."
        ) from exc
    try:
        # Without family/type arguments the socket module asks the descriptor itself, so
        # TCP (IPv4 or IPv6) and UNIX sockets all work.
        sock = socket.socket(fileno=descriptor)
    except OSError as exc:
        os.close(descriptor)
        raise ServerStartError(
            f"Socket activation: file descriptor {FIRST_INHERITED_FD} is not a socket ({exc})."
        ) from exc
    if sock.type != socket.SOCK_STREAM:
        sock.close()
        raise ServerStartError(
            f"Socket activation: file descriptor {FIRST_INHERITED_FD} is not a stream socket "
            "(set ListenStream=, not ListenDatagram=, in the .socket unit)."
        )
    return sock
