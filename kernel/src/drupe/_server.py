"""Running HTTP servers on the engine: ``drupe.server`` and extra servers.

A :class:`ServerAdapter` ties one HTTP server object to the bus: on ``start`` (priority
75) it runs the server's blocking ``start()`` in a thread and returns once the server is
``ready`` *and* its port answers; on ``stop`` (priority 25) it calls ``stop()`` and returns
once the port is free again.

:class:`Server` is the configurable kind (``drupe.server`` is one): its attributes are the
``server.*`` config keys, and on start it creates the HTTP server named by
``server.type`` through the ``drupe.servers`` entry-point group (``"cheroot"`` by
default), unless ``server.instance`` or ``server.httpserver`` supplies one. Several
servers can run at once: create more ``Server()`` objects and ``subscribe()`` them, or use
``server.<name>.<key>`` config entries (``drupe.servers[name]``).

A server object honours this contract (see ``drupe.protocols.HTTPServer``): ``start()``
blocks while serving; ``stop()`` blocks until its threads ended and its socket is closed;
``ready`` is true once it listens; ``bound_addr`` (optional) is the address actually
bound (useful with port 0).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from drupe._errors import ConfigError

__all__ = ["Server", "ServerAdapter", "server", "servers"]


class Timeouts:
    """How long to wait for a port to become occupied (start) or free (stop)."""

    occupied = 5.0
    free = 5.0


def _client_host(host: str) -> str:
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host in ("::", "::0", "::0.0.0.0"):
        return "::1"
    return host


def port_is_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    import socket

    host = _client_host(host)
    try:
        infos = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM)
    except socket.gaierror:
        return False
    for family, socktype, proto, _, address in infos:
        sock = socket.socket(family, socktype, proto)
        sock.settimeout(timeout)
        try:
            sock.connect(address)
            return True
        except OSError:
            continue
        finally:
            sock.close()
    return False


def wait_for_occupied_port(host: str, port: int, timeout: float = Timeouts.occupied) -> None:
    """Wait until ``host:port`` accepts connections; ``OSError`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_is_open(host, port, timeout=0.2):
            return
        time.sleep(0.01)
    raise OSError(f"Port {port} not bound on {host!r} after {timeout} seconds.")


def wait_for_free_port(host: str, port: int, timeout: float = Timeouts.free) -> None:
    """Wait until nothing accepts connections on ``host:port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not port_is_open(host, port, timeout=0.2):
            return
        time.sleep(0.01)
    raise OSError(f"Port {port} not free on {host!r} after {timeout} seconds.")


class ServerAdapter:
    """Runs one HTTP server object on the bus (see the module docstring)."""

    def __init__(self, bus: Any, httpserver: Any = None, bind_addr: Any = None) -> None:
        self.bus = bus
        self.httpserver = httpserver
        self.bind_addr = bind_addr
        self.interrupt: BaseException | None = None
        self.running = False
        self._thread: threading.Thread | None = None

    def subscribe(self) -> None:
        self.bus.subscribe("start", self.start)
        self.bus.subscribe("stop", self.stop)

    def unsubscribe(self) -> None:
        self.bus.unsubscribe("start", self.start)
        self.bus.unsubscribe("stop", self.stop)

    def start(self) -> None:
        """Start serving in a thread; return when the server answers on its port."""
        if self.running:
            self.bus.log(f"Already serving on {self.description}")
            return
        self.interrupt = None
        if not self.httpserver:
            raise ValueError("No HTTP server has been created.")
        if not os.environ.get("LISTEN_PID") and isinstance(self.bind_addr, tuple) and not self._shares_port():
            host, port = self.bind_addr
            if port and port_is_open(host, port):
                raise OSError(
                    f"Port {port} is already in use on {_client_host(host)!r}: another process "
                    f"listens there. Stop it or choose another server.socket_port."
                )
        thread = threading.Thread(target=self._run_server, name="HTTPServer " + self.describe_short())
        thread.daemon = True
        self._thread = thread
        thread.start()
        self.wait()
        self.running = True
        self.bus.log(f"Serving on {self.description}")

    start.priority = 75  # type: ignore[attr-defined]

    def _shares_port(self) -> bool:
        """True when the server listens with SO_REUSEPORT: other processes may hold the
        same port, so "the port answers" says nothing about this server."""
        return bool(getattr(self.httpserver, "reuse_port", False))

    def describe_short(self) -> str:
        if isinstance(self.bind_addr, tuple):
            return f"{self.bind_addr[0]}:{self.bind_addr[1]}"
        return str(self.bind_addr)

    def _run_server(self) -> None:
        # Servers run in their own thread so the main thread stays free for signals and
        # Ctrl-C. A server that dies takes the bus down with it.
        try:
            self.httpserver.start()
        except KeyboardInterrupt as exc:
            self.bus.log("<Ctrl-C> hit: shutting down HTTP server")
            self.interrupt = exc
            self.bus.exit()
        except SystemExit as exc:
            self.bus.log("SystemExit raised: shutting down HTTP server")
            self.interrupt = exc
            self.bus.exit()
            raise
        except Exception as exc:
            self.interrupt = exc
            if self.running:
                self.bus.log("Error in HTTP server: shutting down", level=40, traceback=True)
                threading.Thread(target=self.bus.exit, name="bus exit").start()

    def wait(self) -> None:
        """Wait until the server is ready and its port answers (re-raising its failure)."""
        deadline = time.monotonic() + max(Timeouts.occupied, 10.0)
        while not getattr(self.httpserver, "ready", True):
            if self.interrupt is not None:
                raise self.interrupt
            if self._thread is not None and not self._thread.is_alive() and self.interrupt is None:
                raise RuntimeError(f"The HTTP server {self.httpserver!r} stopped before it was ready.")
            if time.monotonic() > deadline:
                raise OSError(f"The HTTP server {self.httpserver!r} did not become ready.")
            time.sleep(0.005)
        if self.interrupt is not None:
            raise self.interrupt
        if os.environ.get("LISTEN_PID") or not isinstance(self.bind_addr, tuple):
            return
        host, port = self.bound_addr
        wait_for_occupied_port(host, port)

    @property
    def bound_addr(self) -> Any:
        """The address bound (with the real port when bound to port 0)."""
        bound = getattr(self.httpserver, "bound_addr", None)
        if bound:
            return bound
        if isinstance(self.bind_addr, tuple):
            host, port = self.bind_addr
            sock = getattr(self.httpserver, "socket", None)
            if port == 0 and sock is not None:
                port = sock.getsockname()[1]
            return host, port
        return self.bind_addr

    @property
    def description(self) -> str:
        """Where this server listens: ``http://127.0.0.1:8080`` or ``socket file: ...``."""
        if self.bind_addr is None:
            return "unknown interface (dynamic?)"
        if isinstance(self.bind_addr, tuple):
            return self._get_base()
        return f"socket file: {self.bind_addr}"

    def _get_base(self) -> str:
        if not self.httpserver:
            return ""
        host, port = self.bound_addr
        scheme = getattr(self.httpserver, "scheme", None)
        if scheme is None:
            scheme = "https" if getattr(self.httpserver, "ssl_adapter", None) else "http"
        default = 443 if scheme == "https" else 80
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        if port != default:
            host += f":{port}"
        return f"{scheme}://{host}"

    def stop(self) -> None:
        """Stop the server; return when its port is free."""
        if not self.running:
            self.bus.log(f"HTTP Server {self.httpserver} already shut down")
            return
        bound = self.bound_addr
        self.httpserver.stop()
        # The server's own thread stops the bus after a KeyboardInterrupt: it cannot wait
        # for itself, and returns as soon as this listener has run.
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=Timeouts.free)
        # What was bound, not what the settings say now: they may have changed while the
        # server ran (socket_file set back to None, say).
        if isinstance(bound, tuple) and not os.environ.get("LISTEN_PID") and not self._shares_port():
            wait_for_free_port(*bound)
        self.running = False
        self.bus.log(f"HTTP Server {self.httpserver} shut down")

    stop.priority = 25  # type: ignore[attr-defined]

    def restart(self) -> None:
        """Stop, then start again."""
        self.stop()
        self.start()


# server.* keys and their defaults (CherryPy's, plus ``type``).
SERVER_SETTINGS: dict[str, Any] = {
    "type": "cheroot",
    "socket_port": 8080,
    "socket_file": None,
    "socket_queue_size": 5,
    "socket_timeout": 10,
    "accepted_queue_size": -1,
    "accepted_queue_timeout": 10,
    "shutdown_timeout": 5,
    "protocol_version": "HTTP/1.1",
    "thread_pool": 10,
    "thread_pool_max": -1,
    "max_request_header_size": 500 * 1024,
    "max_request_body_size": 100 * 1024 * 1024,
    "instance": None,
    "ssl_context": None,
    "ssl_certificate": None,
    "ssl_certificate_chain": None,
    "ssl_private_key": None,
    "ssl_ciphers": None,
    "ssl_module": "builtin",
    "statistics": False,
    "nodelay": True,
    "wsgi_version": (1, 0),
    "peercreds": False,
    "peercreds_resolve": False,
    "reverse_dns": False,
}
# Also CherryPy's test helper's flags (``using_apache``, ``using_wsgi``): attributes it sets on
# the server and reads back, which no server acts on.
_OTHER_NAMES = {"socket_host", "bind_addr", "httpserver", "bus", "interrupt", "running", "on",
                "wsgi_app", "using_apache", "using_wsgi"}


class Server(ServerAdapter):
    """A configurable HTTP server on the engine (``drupe.server`` and friends)."""

    _socket_host = "127.0.0.1"
    _extra: dict[str, Any]
    #: Every ``server.*`` key with its default (``socket_host`` is ``"127.0.0.1"``).
    defaults: Mapping[str, Any] = MappingProxyType({**SERVER_SETTINGS, "socket_host": "127.0.0.1"})
    # The server.* settings (defaults in SERVER_SETTINGS, set per instance).
    type: str
    socket_port: Any
    socket_file: Any
    socket_queue_size: int
    socket_timeout: float
    accepted_queue_size: int
    accepted_queue_timeout: float
    shutdown_timeout: float
    protocol_version: str
    thread_pool: int
    thread_pool_max: int
    max_request_header_size: int
    max_request_body_size: int
    instance: Any
    ssl_context: Any
    ssl_certificate: Any
    ssl_certificate_chain: Any
    ssl_private_key: Any
    ssl_ciphers: Any
    ssl_module: Any
    statistics: bool
    nodelay: bool
    wsgi_version: Any
    peercreds: bool
    peercreds_resolve: bool
    reverse_dns: bool

    def __init__(self, bus: Any = None) -> None:
        if bus is None:
            from drupe._engine import engine

            bus = engine
        object.__setattr__(self, "_extra", {})
        for name, value in SERVER_SETTINGS.items():
            object.__setattr__(self, name, value)
        # Not ServerAdapter.__init__: bind_addr is derived from the socket settings here.
        self.bus = bus
        self.httpserver = None
        self.interrupt = None
        self.running = False
        self._thread = None
        self.wsgi_app: Any = None

    def __setattr__(self, name: str, value: Any) -> None:
        if name in SERVER_SETTINGS or name in _OTHER_NAMES or name.startswith("_") or hasattr(
                type(self), name) or name in self.__dict__:
            object.__setattr__(self, name, value)
        else:
            # Adapter-specific keys are checked when the adapter is known (on start).
            self._extra[name] = value
            object.__setattr__(self, name, value)

    @property
    def socket_host(self) -> Any:
        """The interface to listen on ('0.0.0.0' or '::' for all)."""
        return self._socket_host

    @socket_host.setter
    def socket_host(self, value: Any) -> None:
        if value == "":
            raise ValueError(
                "The empty string ('') is not an allowed value. Use '0.0.0.0' instead to "
                "listen on all active interfaces (INADDR_ANY)."
            )
        self._socket_host = value

    @property
    def bind_addr(self) -> Any:
        """``socket_file`` if set, else ``(socket_host, socket_port)``."""
        if self.socket_file:
            return self.socket_file
        if self.socket_host is None and self.socket_port is None:
            return None
        return (self.socket_host, self.socket_port)

    @bind_addr.setter
    def bind_addr(self, value: Any) -> None:
        if value is None:
            self.socket_file = None
            self.socket_host = None
            self.socket_port = None
        elif isinstance(value, str):
            self.socket_file = value
            self.socket_host = None
            self.socket_port = None
        else:
            try:
                self.socket_host, self.socket_port = value
                self.socket_file = None
            except ValueError:
                raise ValueError(
                    "bind_addr must be a (host, port) tuple (for TCP sockets) or a string "
                    f"(for Unix domain sockets), not {value!r}"
                ) from None

    def httpserver_from_self(self, httpserver: Any = None) -> tuple[Any, Any]:
        """Create the HTTP server this configuration describes."""
        if httpserver is None:
            httpserver = self.instance
        if httpserver is None:
            from drupe._registry import registry

            adapter_class = registry.load("drupe.servers", self.type, key="server.type")
            self._check_settings(adapter_class)
            app = self.wsgi_app
            if app is None:
                from drupe._tree import current

                app = current()
            httpserver = adapter_class(self, app)
        elif isinstance(httpserver, str):
            from drupe._config import attributes

            httpserver = attributes(httpserver)(self)
        return httpserver, self.bind_addr

    def _check_settings(self, adapter_class: Any) -> None:
        import difflib

        options = set(getattr(adapter_class, "options", {}) or {})
        for name in self._extra:
            if name not in options:
                known = sorted(set(SERVER_SETTINGS) | options | {"socket_host"})
                match = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
                hint = f" Did you mean 'server.{match[0]}'?" if match else ""
                raise ConfigError(
                    f"Config key 'server.{name}': neither drupe nor the {self.type!r} server "
                    f"understands it.{hint}"
                )

    def start(self) -> None:
        """Create the HTTP server (if needed) and start it."""
        if not self.httpserver:
            self.httpserver, _ = self.httpserver_from_self()
            self._created_httpserver = True
        super().start()

    start.priority = 75  # type: ignore[attr-defined]

    def stop(self) -> None:
        super().stop()
        if getattr(self, "_created_httpserver", False):
            # A fresh server object on the next start picks up changed settings; one the
            # user assigned (server.httpserver = ...) is theirs to keep.
            self.httpserver = None
            self._created_httpserver = False

    stop.priority = 25  # type: ignore[attr-defined]

    def base(self) -> str:
        """``scheme://host[:port]`` of this server, for URLs built outside a request."""
        if self.socket_file:
            return str(self.socket_file)
        host = str(self.socket_host)
        if host in ("0.0.0.0", "::"):
            import socket

            host = socket.gethostname()
        port = self.socket_port
        scheme = getattr(self.httpserver, "scheme", None) or (
            "https" if self.ssl_certificate or self.ssl_context else "http")
        default = 443 if scheme == "https" else 80
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        if port != default:
            host += f":{port}"
        return f"{scheme}://{host}"

    def __repr__(self) -> str:
        return f"<drupe.Server {self.type} {self.describe_short()}>"


class _Servers(dict[str, Server]):
    """``drupe.servers``: extra servers created by ``server.<name>.<key>`` config."""


servers = _Servers()
server = Server.__new__(Server)


def _init_default_server() -> None:
    from drupe._engine import engine

    Server.__init__(server, engine)
    server.subscribe()


def _server_namespace_handler(key: str, value: Any) -> None:
    """Handler of the ``server`` config namespace."""
    target = server
    name, dot, rest = key.partition(".")
    if dot and name not in SERVER_SETTINGS and name not in _OTHER_NAMES:
        extra = servers.get(name)
        if extra is None:
            extra = Server()
            servers[name] = extra
            extra.subscribe()
        if rest == "on":
            if value:
                extra.subscribe()
            else:
                extra.unsubscribe()
            return
        target, key = extra, rest
    try:
        setattr(target, key, value)
    except ValueError as exc:
        raise ConfigError(f"Config key 'server.{key}': {exc}") from None


def describe_exception() -> str:
    exc = sys.exc_info()[1]
    return repr(exc)
