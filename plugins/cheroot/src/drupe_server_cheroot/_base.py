"""What the WSGI and the native server share: settings, listening, stopping.

Lifecycle of a server object (the kernel's ``drupe.Server`` drives it from the bus)::

    __init__(settings, ...)   validate every server.* key (ConfigError naming the key),
                              build the TLS context; no thread, no socket yet
    start()                   = prepare() + serve(), in a thread of the kernel's:
      prepare()               take the socket-activated fd 3, or bind the UNIX socket
                              file, or bind host:port; listen; start the worker threads;
                              ``ready`` becomes true and ``bound_addr`` holds the address
      serve()                 accept and dispatch connections until stop()
    stop()                    from another thread: stop accepting, close the socket and
                              the idle connections, end the worker threads (waiting up to
                              server.shutdown_timeout for requests in progress), remove the
                              UNIX socket file we created; returns when all of that is done

Cheroot's ``prepare()`` is replaced rather than extended: it takes fd 3 whenever
``LISTEN_PID`` is set at all (even in a child process the variable leaked into), it
reports bind failures without naming the setting, and a socket whose bind fails is left
for the garbage collector to close. The rest — accepting, keep-alive, the worker pool —
is cheroot's; parsing and writing are ``_connection``'s.

Keep-alive bookkeeping. Two sets are kept beside cheroot's connection manager: the *open*
connections (a connection enters when it is first handed to a worker, ``process_conn``,
and leaves when it is closed) and the *idle* ones (parked with the manager between two
requests: entered in ``put_conn``, left in ``process_conn`` or when closed — expired, or
at shutdown). Set operations are atomic under the GIL, so neither needs a lock.

* ``can_add_keepalive_connection`` (asked after every response: are fewer than
  ``keep_alive_conn_limit`` connections idle?) is the length of the idle set; cheroot
  takes its selector's lock and measures the selector's map every time.
* ``worker_may_wait()``: with cheroot, every request of a keep-alive connection travels
  worker -> selector (register) -> selector thread (wake, unregister) -> queue -> worker,
  two thread hand-offs and three selector system calls per request. When there are no
  more open connections than worker threads, no connection can be starved by a worker
  that keeps its own, so once a connection has carried a second request its worker
  waits up to ``server.keep_alive_wait`` seconds on it for the next request and serves
  it directly (``DrupeHTTPConnection.communicate``). With more
  connections than threads, or once the wait runs out, the connection goes back to the
  manager exactly as cheroot does it. A new connection arriving while every thread
  waits is delayed by at most that wait.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
import stat
import threading
import time
from collections.abc import Mapping
from typing import Any, ClassVar

import cheroot
from cheroot.connections import ConnectionManager
from cheroot.server import HTTPRequest, HTTPServer

import drupe
from drupe_server_cheroot._activation import FIRST_INHERITED_FD, ServerStartError, inherited_socket
from drupe_server_cheroot._connection import DrupeHTTPConnection, DrupeHTTPRequest
from drupe_server_cheroot._settings import OPTIONS, ServerConfig

__all__ = ["ServerBase"]

# How long stop() waits for cheroot's helper thread (the one answering 503 when the
# worker queue is full) after telling it to end; it ends as soon as it reads that.
_HELPER_JOIN_TIMEOUT = 5.0


def _unix_socket_answers(path: str) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(0.5)
    try:
        probe.connect(path)
    except OSError:
        return False
    else:
        return True
    finally:
        probe.close()


class ServerBase(HTTPServer):
    """A cheroot ``HTTPServer`` configured from a ``drupe.Server`` (see the module doc)."""

    options: ClassVar[Mapping[str, Any]] = OPTIONS
    """Extra ``server.*`` keys understood here, with their defaults (for the kernel)."""

    request_class: type[HTTPRequest] = DrupeHTTPRequest
    """The class that parses each request: the hook point for a stricter parser."""

    ConnectionClass = DrupeHTTPConnection

    version = f"drupe/{drupe.__version__} Cheroot/{cheroot.__version__}"

    server_adapter: Any
    """The ``drupe.Server`` this server was configured from (CherryPy's attribute name)."""

    config: ServerConfig
    """The validated settings snapshot."""

    bus: Any
    reverse_dns: bool

    def _configure(self, settings: Any, config: ServerConfig, tls_adapter: Any) -> None:
        """Apply ``config`` to the cheroot attributes that the constructors do not take."""
        self.server_adapter = settings
        self.config = config
        self.bus = config.bus
        self.protocol = config.protocol_version
        self.request_queue_size = config.socket_queue_size
        # Cheroot's type stubs declare these as int; cheroot itself takes any number of
        # seconds (and None to wait without limit).
        self.timeout = config.socket_timeout  # type: ignore[assignment]
        self.shutdown_timeout = config.shutdown_timeout  # type: ignore[assignment]
        self.max_request_header_size = config.max_request_header_size
        self.max_request_body_size = config.max_request_body_size
        self.nodelay = config.nodelay
        self.keep_alive_conn_limit = config.keep_alive_conn_limit  # type: ignore[assignment]
        self.keep_alive_wait = config.keep_alive_wait
        self.reverse_dns = config.reverse_dns
        self.ssl_adapter = tls_adapter
        self.stats["Enabled"] = config.statistics
        self._bound: tuple[str, int] | str | None = None
        self._inherited = False
        self._socket_file_identity: tuple[int, int] | None = None
        self._helper_threads: list[threading.Thread] = []
        # See the module docstring. PERF: set.add/discard/len are atomic under the GIL,
        # so the bookkeeping needs no lock.
        self._open_connections: set[Any] = set()
        self._idle_connections: set[Any] = set()

    # -- keep-alive bookkeeping ----------------------------------------------------------

    keep_alive_wait: float
    """Seconds a worker may wait on its connection for the next request (see the module doc)."""

    @property
    def can_add_keepalive_connection(self) -> bool:
        """May one more connection wait idle for its next request?"""
        limit = self.keep_alive_conn_limit
        # PERF: the length of our own set, instead of cheroot's locked selector count.
        return self.ready and (limit is None or len(self._idle_connections) < limit)

    def worker_may_wait(self) -> bool:
        """May a worker keep its keep-alive connection and wait for the next request?"""
        return (self.ready and self.keep_alive_wait > 0
                and len(self._open_connections) <= self.requests.min)

    def put_conn(self, conn: Any) -> None:
        """A worker is done with ``conn`` for now: park it until its next request."""
        if self.ready:
            self._idle_connections.add(conn)
            self._connections.put(conn)
        else:
            conn.close()

    def process_conn(self, conn: Any) -> None:
        """Hand ``conn`` (new, or back with a request) to the worker threads."""
        self._idle_connections.discard(conn)
        self._open_connections.add(conn)
        super().process_conn(conn)

    def forget_connection(self, conn: Any) -> None:
        """``conn`` is being closed: it no longer counts as open or idle."""
        self._idle_connections.discard(conn)
        self._open_connections.discard(conn)

    # -- what the kernel reads ---------------------------------------------------------

    @property
    def bound_addr(self) -> tuple[str, int] | str | None:
        """The address actually listened on (the real port with ``socket_port = 0``).

        ``None`` until the server has started; kept after it stopped.
        """
        return self._bound

    @property
    def scheme(self) -> str:
        """``"https"`` when TLS is configured, else ``"http"``."""
        return "https" if self.ssl_adapter is not None else "http"

    @property
    def inherited(self) -> bool:
        """True when serving a socket passed in by socket activation."""
        return self._inherited

    def error_log(self, msg: str = "", level: int = 20, traceback: bool = False) -> None:
        """Cheroot's messages go to the engine's log (and so to ``log.error_file``)."""
        if self.bus is None:
            super().error_log(msg, level, traceback)
        else:
            self.bus.log(msg, level, traceback)

    # -- starting ----------------------------------------------------------------------

    def prepare(self) -> None:
        """Listen (inherited fd, UNIX socket file or TCP) and start the worker threads."""
        # Cheroot keeps the interrupt that ended a previous run here; a new run has none.
        self._interrupt = None
        if self.software is None:
            self.software = f"{self.version} Server"
        self._helper_threads = []
        self._inherited = False
        sock = inherited_socket()
        if sock is not None:
            self._adopt(sock)
        elif isinstance(self.bind_addr, (str, bytes)):
            self._bind_unix(os.fsdecode(self.bind_addr))
        else:
            host, port = self.bind_addr
            self._bind_tcp(host, port)
        manager: ConnectionManager | None = None
        try:
            # A timeout on the listening socket lets the accept loop notice stop() even
            # where a closed socket does not wake a blocked accept (Windows).
            self.socket.settimeout(1)
            self.socket.listen(self.request_queue_size)
            manager = ConnectionManager(self)
            self._connections = manager
            self.requests.start()
        except BaseException:
            if manager is not None:
                manager.close()
            self._close_socket()
            raise
        self._bound = self.bind_addr
        self.ready = True
        self._start_time = time.time()

    def _adopt(self, sock: socket.socket) -> None:
        if self.nodelay and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ssl_adapter is not None:
            sock = self.ssl_adapter.bind(sock)
        self.socket = sock
        self.bind_addr = self.resolve_real_bind_addr(sock)  # type: ignore[no-untyped-call]
        self._inherited = True
        self.error_log(f"Socket activation: serving the socket passed in as file descriptor "
                       f"{FIRST_INHERITED_FD} ({self.bind_addr!r}); server.socket_host, "
                       "server.socket_port and server.socket_file are not used.")

    def _bind_tcp(self, host: str, port: int) -> None:
        try:
            candidates = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0,
                                            socket.AI_PASSIVE)
        except socket.gaierror as exc:
            raise ServerStartError(
                f"Config key 'server.socket_host': {host!r} does not resolve to an address to "
                f"listen on ({exc}). Use an IP address, a resolvable name, or '0.0.0.0' / '::' "
                "for every interface."
            ) from exc
        failures: list[OSError] = []
        for family, socket_type, protocol, _, address in candidates:
            try:
                # Cheroot's classmethod sets the options: SO_REUSEADDR (not for port 0),
                # TCP_NODELAY, SO_REUSEPORT, dual-stack for '::'.
                sock = self.prepare_socket(self.bind_addr, family, socket_type, protocol,
                                           self.nodelay, self.ssl_adapter, self.reuse_port)
            except OSError as exc:
                failures.append(exc)
                continue
            try:
                sock.bind(address)
            except OSError as exc:
                # Closed now: an unclosed socket would linger until garbage collection.
                sock.close()
                failures.append(exc)
                continue
            self.socket = sock
            self.bind_addr = self.resolve_real_bind_addr(sock)  # type: ignore[no-untyped-call]
            return
        raise self._bind_error(host, port, failures)

    @staticmethod
    def _bind_error(host: str, port: int, failures: list[OSError]) -> ServerStartError:
        codes = {failure.errno for failure in failures}
        detail = "; ".join(str(failure) for failure in failures) or "no address to bind"
        if errno.EADDRINUSE in codes:
            return ServerStartError(
                errno.EADDRINUSE,
                f"Config key 'server.socket_port': port {port} on {host!r} is already in use "
                f"({detail}). Stop whatever holds it or choose another server.socket_port.",
            )
        if errno.EACCES in codes:
            return ServerStartError(
                errno.EACCES,
                f"Config key 'server.socket_port': this process may not listen on port {port} "
                f"({detail}); ports below 1024 need privileges. Choose a port of 1024 or above "
                "(and put a proxy in front), or use socket activation.",
            )
        if errno.EADDRNOTAVAIL in codes:
            return ServerStartError(
                errno.EADDRNOTAVAIL,
                f"Config key 'server.socket_host': {host!r} is not an address of this machine "
                f"({detail}). Use one of its addresses, or '0.0.0.0' / '::' for every interface.",
            )
        return ServerStartError(
            f"Could not listen on {host!r} port {port} (server.socket_host / "
            f"server.socket_port): {detail}."
        )

    def _bind_unix(self, path: str) -> None:
        abstract = path.startswith("\0")
        if not abstract and os.path.lexists(path):
            # Cheroot deletes whatever is at the path before binding; never let that be a
            # regular file, nor the socket of a server that is still running.
            if not stat.S_ISSOCK(os.lstat(path).st_mode):
                raise ServerStartError(
                    f"Config key 'server.socket_file': {path!r} exists and is not a socket; "
                    "refusing to replace it. Choose another path."
                )
            if _unix_socket_answers(path):
                raise ServerStartError(
                    errno.EADDRINUSE,
                    f"Config key 'server.socket_file': {path!r} is in use: another server "
                    "listens on it. Stop it or choose another server.socket_file.",
                )
        try:
            # Removes a stale socket file, binds, and makes the socket connectable by every
            # user (access is then governed by the permissions of its directory).
            self.bind_unix_socket(path)  # type: ignore[no-untyped-call]
        except (OSError, ValueError) as exc:
            raise ServerStartError(
                f"Config key 'server.socket_file': cannot listen on {path!r} ({exc})."
            ) from exc
        if not abstract:
            info = os.stat(path)
            self._socket_file_identity = (info.st_dev, info.st_ino)

    def _serve_unservicable(self) -> None:
        # Cheroot starts this helper thread in serve() without keeping a handle on it;
        # record it so that stop() can wait for it (no thread may outlive stop()).
        thread = threading.current_thread()
        thread.name = f"drupe-cheroot 503 responder {self._bound!r}"
        self._helper_threads.append(thread)
        super()._serve_unservicable()  # type: ignore[misc]  # private, not in cheroot's stubs

    # -- stopping ----------------------------------------------------------------------

    def stop(self) -> None:
        """Stop serving; return once the worker threads ended and the socket is closed."""
        was_serving = self.ready
        super().stop()
        current = threading.current_thread()
        for thread in self._helper_threads:
            if thread is not current:
                thread.join(_HELPER_JOIN_TIMEOUT)
        self._helper_threads = []
        if was_serving:
            self._remove_socket_file()
            self._idle_connections.clear()
            self._open_connections.clear()
            # Cheroot registers every server's counters in the process-wide
            # logging.statistics; drop ours, or each start/stop cycle would keep a stopped
            # server object alive there for good.
            statistics = getattr(logging, "statistics", None)
            if isinstance(statistics, dict):
                statistics.pop(f"Cheroot HTTPServer {id(self)}", None)

    def _close_socket(self) -> None:
        sock = getattr(self, "socket", None)
        if sock is not None:
            sock.close()
            self.socket = None
        self._remove_socket_file()

    def _remove_socket_file(self) -> None:
        identity = self._socket_file_identity
        self._socket_file_identity = None
        if identity is None or not isinstance(self.bind_addr, str):
            return
        # Only the file this server created: another server may have replaced it since.
        try:
            info = os.stat(self.bind_addr)
        except OSError:
            return
        if (info.st_dev, info.st_ino) == identity:
            with contextlib.suppress(OSError):
                os.unlink(self.bind_addr)
