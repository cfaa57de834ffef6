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
                              server.shutdown_timeout for requests in progress, then shutting
                              their connections: ``_pool``), remove the UNIX socket file we
                              created; returns when all of that is done

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

Slow clients. A worker thread is held only by a connection that has something to read:

* a new connection goes to a worker at once only if its first bytes are already there;
  otherwise it waits in cheroot's selector, like an idle keep-alive connection, and is
  closed after ``server.socket_timeout`` seconds of silence;
* a request head that arrives in pieces is collected piece by piece, the connection
  going back to the selector between them (``_connection``); :class:`ConnectionManager`
  (cheroot's, extended) answers 408 to a parked connection whose head is not complete
  ``server.header_timeout`` seconds after its first byte, or that stayed silent for
  ``server.socket_timeout``;
* a request body must keep up ``server.min_body_rate`` (``_body``).

Overload. With ``server.accepted_queue_size`` set, a connection finding the queue of
accepted connections full is handed to a helper thread, which waits up to
``server.accepted_queue_timeout`` seconds for room and otherwise answers ``503 Service
Unavailable`` with ``Retry-After: server.retry_after`` and closes it. (Cheroot waits for
room in the selector thread itself, so no other connection is accepted or woken
meanwhile, and its 503 carries no ``Retry-After``.)
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import queue
import socket
import stat
import threading
import time
from collections.abc import Mapping
from typing import Any, ClassVar

import cheroot
from cheroot import connections
from cheroot.server import HTTPRequest, HTTPServer

import drupe
from drupe_server_cheroot._activation import FIRST_INHERITED_FD, ServerStartError, inherited_socket
from drupe_server_cheroot._connection import DrupeHTTPConnection, DrupeHTTPRequest, discard_pending_input
from drupe_server_cheroot._pool import WorkerPool
from drupe_server_cheroot._settings import OPTIONS, ServerConfig

__all__ = ["ConnectionManager", "ServerBase"]

# How long stop() waits for cheroot's helper thread (the one answering 503 when the
# worker queue is full) after telling it to end; it ends as soon as it reads that.
_HELPER_JOIN_TIMEOUT = 5.0

# How often the 503 helper looks for room in a full queue of accepted connections.
_ROOM_POLL_INTERVAL = 0.01

# What the 503 helper is told to end with (cheroot's own sentinel is private).
_HELPER_STOP = object()


class ConnectionManager(connections.ConnectionManager):
    """Cheroot's selector of idle connections, which also enforces the head deadline.

    Cheroot closes a parked connection after ``server.socket_timeout`` seconds of
    silence. One whose request head is incomplete is instead handed to a worker once
    ``server.header_timeout`` seconds passed since its first byte (or after that same
    silence), flagged ``head_expired``: the worker answers 408 without reading.
    """

    def _expire(self, threshold: float) -> None:
        now = time.monotonic()
        server = self.server
        # Cheroot's selector wrapper (private, absent from its stubs).
        selector: Any = self._selector  # type: ignore[attr-defined]
        silent: list[tuple[int, Any]] = []
        overdue: list[tuple[int, Any]] = []
        for descriptor, conn in selector.connections:
            if conn is server:
                continue
            deadline = getattr(conn, "head_deadline", None)
            if deadline is not None and (deadline <= now or conn.last_used < threshold):
                overdue.append((descriptor, conn))
            elif conn.last_used < threshold:
                silent.append((descriptor, conn))
        for descriptor, conn in silent:
            selector.unregister(descriptor)
            conn.close()
        for descriptor, conn in overdue:
            selector.unregister(descriptor)
            conn.head_expired = True
            server.process_conn(conn)


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
    header_timeout: float
    min_body_rate: int
    max_request_line_size: int
    max_request_header_count: int
    retry_after: int
    accepted_queue_timeout: float | None

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
        self.header_timeout = config.header_timeout
        self.min_body_rate = config.min_body_rate
        self.max_request_line_size = config.max_request_line_size
        self.max_request_header_count = config.max_request_header_count
        self.retry_after = config.retry_after
        self.accepted_queue_timeout = config.accepted_queue_timeout
        self.reverse_dns = config.reverse_dns
        # The constructors' pools are cheroot's own; this one keeps to shutdown_timeout (and
        # takes the accepted-connection queue settings, which HTTPServer's ignores).
        self.requests = WorkerPool(
            self,
            min=config.thread_pool,
            max=config.thread_pool_max,
            accepted_queue_size=config.accepted_queue_size,
            # Never wait for room in the selector thread: a full queue goes to the 503
            # helper, which waits server.accepted_queue_timeout.
            accepted_queue_timeout=0,
        )
        # Cheroot's helper reads its private queue and sentinel; ours gets its own queue.
        self._refused: queue.Queue[Any] = queue.Queue()
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
        """A worker is done with ``conn`` for now: park it until it is readable again."""
        if not self.ready:
            conn.close()
            return
        if not getattr(conn, "head_pending", False):
            # A connection in the middle of a slow head is not an idle keep-alive one:
            # it must not use up keep_alive_conn_limit.
            self._idle_connections.add(conn)
        pending = getattr(conn.socket, "pending", None)
        if pending is not None and pending():
            # TLS data already decrypted is invisible to the selector: serve it now.
            self.process_conn(conn)
            return
        self._connections.put(conn)

    def process_conn(self, conn: Any) -> None:
        """Hand ``conn`` (new, or back with a request) to the worker threads.

        A new connection whose first bytes have not arrived yet waits in the selector
        instead, holding no thread (see the module docstring). When the queue of
        accepted connections is full, the connection goes to the 503 helper.
        """
        if getattr(conn, "fresh", False):
            conn.fresh = False
            if self.ready and not conn.has_pending_input():
                self._connections.put(conn)
                return
        self._idle_connections.discard(conn)
        self._open_connections.add(conn)
        try:
            # The pool was built with no put timeout: this never blocks the selector.
            self.requests.put(conn)
        except queue.Full:
            timeout = self.accepted_queue_timeout
            deadline = None if timeout is None else time.monotonic() + timeout
            self._refused.put((conn, deadline))

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
        """The helper thread for connections finding the accepted queue full.

        Cheroot starts it in ``serve()`` (without keeping a handle on it: it is recorded
        here so that ``stop()`` can wait for it). Each connection waits for room until
        its deadline (``server.accepted_queue_timeout``), in arrival order, then is
        answered 503 with ``Retry-After`` and closed.
        """
        thread = threading.current_thread()
        thread.name = f"drupe-cheroot 503 responder {self._bound!r}"
        self._helper_threads.append(thread)
        while True:
            item = self._refused.get()
            if item is _HELPER_STOP:
                return
            conn, deadline = item
            while self.ready:
                try:
                    self.requests.put(conn)
                except queue.Full:
                    if deadline is not None and time.monotonic() >= deadline:
                        break
                    time.sleep(_ROOM_POLL_INTERVAL)
                else:
                    conn = None
                    break
            if conn is not None:
                self._refuse_overloaded(conn)

    def _refuse_overloaded(self, conn: Any) -> None:
        """Answer 503 with ``Retry-After`` on ``conn`` and close it."""
        message = b"The server is busy; try again later."
        response = (
            f"{self.protocol} 503 Service Unavailable\r\n"
            f"Retry-After: {self.retry_after}\r\n"
            f"Content-Length: {len(message)}\r\nContent-Type: text/plain\r\n"
            "Connection: close\r\n\r\n"
        ).encode("ascii") + message
        try:
            conn.wfile.write(response)
            with contextlib.suppress(OSError):
                conn.socket.shutdown(socket.SHUT_WR)
            discard_pending_input(conn.socket)
        except OSError:
            # Being polite failed; the client is gone.
            pass
        except Exception:
            self.error_log("Could not answer 503 to a refused connection", level=logging.ERROR,
                           traceback=True)
        conn.close()

    # -- stopping ----------------------------------------------------------------------

    def stop(self) -> None:
        """Stop serving; return once the worker threads ended and the socket is closed."""
        was_serving = self.ready
        if was_serving:
            self._refused.put(_HELPER_STOP)
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
