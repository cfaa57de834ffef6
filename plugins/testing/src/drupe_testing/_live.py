"""A real HTTP server on a free loopback port, run by ``drupe.engine``, for one test.

:class:`LiveServer` mounts nothing: it serves ``drupe.tree`` (or whatever
``drupe.server`` is configured to serve) exactly as an application would be served in
production, through the HTTP server named by ``server.type`` (``cheroot`` by default,
from drupe-server-cheroot). Its life::

    LiveServer()          nothing happens yet: mount applications, update config
      .start()            drupe.server -> 127.0.0.1, port 0 (the OS picks a free one),
                          log.screen off, the autoreloader unsubscribed;
                          drupe.engine.start(); host and port read from bound_addr
      .get(...), ...      real requests over real sockets (a cookie jar is kept)
      .stop()             drupe.engine.exit(); the port must refuse connections;
                          the settings it changed are put back

Applications can be mounted before ``start()`` (the engine's startup checks then see
them) or while it runs: ``drupe.tree`` looks each request's mount point up anew.

When the HTTP server is not installed, ``start()`` raises :class:`ServerUnavailable`, a
``unittest.SkipTest``: under pytest and under unittest the test is skipped with a message
naming the distribution to install.
"""

from __future__ import annotations

import socket
import unittest
from types import TracebackType
from typing import Any

from drupe_testing._cookies import CookieJar
from drupe_testing._prepare import HeaderInput, ParamsInput, prepare
from drupe_testing._response import Response, VerbShortcuts
from drupe_testing._wire import WireClient, client_host

__all__ = ["LiveServer", "ServerUnavailable", "port_accepts_connections"]


class ServerUnavailable(unittest.SkipTest):
    """The HTTP server a live test needs is not installed (the test is skipped)."""


def port_accepts_connections(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when something accepts a TCP connection on ``host:port``."""
    try:
        with socket.create_connection((client_host(host), port), timeout=timeout):
            return True
    except OSError:
        return False


def check_server_available() -> None:
    """Raise :class:`ServerUnavailable` unless ``drupe.server``'s HTTP server is installed."""
    import drupe

    server_type = drupe.server.type
    if drupe.registry.has("drupe.servers", server_type):
        return
    if server_type == "cheroot":
        raise ServerUnavailable(
            "This test needs a real HTTP server: install drupe-server-cheroot "
            "(it registers 'cheroot' in the 'drupe.servers' entry-point group)."
        )
    raise ServerUnavailable(
        f"This test needs the HTTP server {server_type!r} (server.type), and no installed "
        "distribution registers it in the 'drupe.servers' entry-point group."
    )


def _subscribed(bus: Any, plugin: Any) -> bool:
    """True when some method of ``plugin`` listens on a channel of ``bus``."""
    return any(getattr(listener, "__self__", None) is plugin
               for listeners in bus.listeners.values() for listener in listeners)


class LiveServer(VerbShortcuts):
    """``drupe.server`` on ``host``:(a free port), started and stopped with the engine."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, timeout: float = 10.0) -> None:
        self.requested_host = host
        self.requested_port = port
        self.timeout = timeout
        self.host = host
        self.port = port
        self.running = False
        self.cookies = CookieJar()
        self._saved: dict[str, Any] = {}
        self._autoreload: Any = None
        self._connections: list[WireClient] = []

    # -- life --------------------------------------------------------------------------

    def start(self) -> LiveServer:
        """Start the engine with the HTTP server on a free port (see the module docstring)."""
        import drupe

        if self.running:
            raise RuntimeError("This LiveServer is already running.")
        check_server_available()
        if drupe.engine.state in (drupe.states.STARTING, drupe.states.STARTED):
            raise RuntimeError(
                "drupe.engine is already started: a LiveServer starts (and exits) the engine "
                "itself. Call drupe.engine.exit() or drupe.reset() first."
            )
        # Booting now lets plugin config defaults (say, an autoreloader that subscribes
        # itself) apply before we turn things off, not during engine.start().
        drupe.boot()
        server = drupe.server
        self._saved = {
            "socket_host": server.socket_host,
            "socket_port": server.socket_port,
            "socket_file": server.socket_file,
            "log.screen": drupe.log.screen,
        }
        server.socket_file = None
        server.socket_host = self.requested_host
        server.socket_port = self.requested_port
        drupe.log.screen = False
        self._suspend_autoreload()
        try:
            drupe.engine.start()
        except BaseException:
            self._restore()
            raise
        host, port = server.bound_addr[:2]
        self.host, self.port = host, int(port)
        self.running = True
        return self

    def _suspend_autoreload(self) -> None:
        # A file-watching thread restarting the process in the middle of a test run
        # would be a disaster; a test never wants it.
        import drupe

        self._autoreload = None
        if not drupe.registry.has("drupe.engine", "autoreload"):
            return
        plugin = drupe.engine.autoreload
        if _subscribed(drupe.engine, plugin):
            plugin.unsubscribe()
            self._autoreload = plugin

    def _restore(self) -> None:
        import drupe

        saved, self._saved = self._saved, {}
        if not saved:
            return
        server = drupe.server
        server.socket_host = saved["socket_host"]
        server.socket_port = saved["socket_port"]
        server.socket_file = saved["socket_file"]
        if drupe.log.screen != saved["log.screen"]:
            drupe.log.screen = saved["log.screen"]
        if self._autoreload is not None:
            self._autoreload.subscribe()
            self._autoreload = None

    def stop(self) -> None:
        """Exit the engine, check that the port is free again, put the settings back."""
        import drupe

        if not self.running:
            return
        self.running = False
        for connection in self._connections:
            connection.close()
        self._connections.clear()
        try:
            drupe.engine.exit()
        finally:
            self._restore()
        if port_accepts_connections(self.host, self.port):
            raise AssertionError(
                f"Port {self.port} on {self.host} still accepts connections after "
                "drupe.engine.exit(): the HTTP server did not release its socket."
            )

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------------

    @property
    def netloc(self) -> str:
        """``host:port`` (IPv6 hosts in brackets), the ``Host`` header requests send."""
        host = client_host(self.host)
        if ":" in host:
            host = f"[{host}]"
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: the server's base URL (no trailing slash)."""
        if not self.running:
            raise RuntimeError("The LiveServer is not running: call start() first.")
        return f"http://{self.netloc}"

    # -- requests ----------------------------------------------------------------------

    def connection(self, *, persistent: bool = True) -> WireClient:
        """A client keeping its connection open across requests (closed at ``stop()``)."""
        connection = WireClient(self.host, self.port, timeout=self.timeout, persistent=persistent)
        self._connections.append(connection)
        return connection

    def request(self, method: str, path: str | bytes, *, params: ParamsInput = None,
                headers: HeaderInput = None, body: str | bytes | None = None, data: Any = None,
                json: Any = None, protocol: str = "HTTP/1.1",
                connection: WireClient | None = None) -> Response:
        """Send one request over a socket; same arguments as ``Client.request``.

        A new connection is opened and closed for the request unless ``connection`` (from
        :meth:`connection`) is given. Cookies are kept in ``self.cookies``.
        """
        if not self.running:
            raise RuntimeError("The LiveServer is not running: call start() first.")
        prepared = prepare(
            method, path, params=params, headers=headers, body=body, data=data, json=json,
            protocol=protocol, default_host=self.netloc, cookies=self.cookies,
        )
        if connection is None:
            response = WireClient(self.host, self.port, timeout=self.timeout).send(prepared)
        else:
            response = connection.send(prepared)
        self.cookies.extract(response.headers.get_all("Set-Cookie"), host=prepared.host,
                             path=prepared.cookie_path)
        return response

    def raw(self, data: bytes, *, half_close: bool = True) -> bytes:
        """Send raw bytes on a new connection; every byte of the answer (see ``WireClient.raw``)."""
        if not self.running:
            raise RuntimeError("The LiveServer is not running: call start() first.")
        return WireClient(self.host, self.port, timeout=self.timeout).raw(data, half_close=half_close)

    def __repr__(self) -> str:
        state = f"on {self.netloc}" if self.running else "stopped"
        return f"<drupe_testing.LiveServer {state}>"
