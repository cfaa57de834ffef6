"""The default server (``server.type = "cheroot"``): cheroot serving a WSGI application.

``CherootServer(settings, app)`` is what the kernel creates on ``engine.start()``:
``settings`` is the ``drupe.Server`` holding the ``server.*`` keys, ``app`` the WSGI
application (``drupe.tree`` unless ``server.wsgi_app`` names another). Grafted foreign
WSGI applications and drupe applications are served alike, since the tree routes both.

The gateway is this module's own complete PEP 3333 gateway (cheroot's ``Gateway_10``
rebuilt for speed; same environ, same errors):

* **environ**: the entries that cannot change while a connection lives (server name
  and port, client address, ``wsgi.*`` constants, TLS ``SSL_*`` / ``HTTPS``, peer
  credentials ``X_REMOTE_*`` on UNIX sockets, ``REMOTE_HOST`` when
  ``server.reverse_dns`` is on) are built at its first request and copied for each
  request; the request's own entries and its headers are added to the copy, each header
  name turned into its ``HTTP_*`` key once per process. Keys: PEP 3333's, plus cheroot's
  ``ACTUAL_SERVER_PROTOCOL`` and ``REQUEST_URI``.
* **start_response** checks its arguments (status ``str`` starting with a three-digit
  code, headers a list of ``(str, str)``), may be called again with ``exc_info`` until
  the head is on the wire (the new status and headers then *replace* the old ones;
  afterwards the exception is re-raised), and returns the ``write()`` callable.
* **body**: blocks are written as the application produces them; the head goes out
  with the first one. A body longer than its ``Content-Length`` is refused (500 when
  nothing was sent yet, else cut at the declared length and the connection dropped); a
  shorter one drops the connection too, so the client cannot mistake what follows for
  the rest of it. ``close()`` is always called.
"""

from __future__ import annotations

import sys
from typing import Any

from cheroot import wsgi
from cheroot.server import Gateway

from drupe_server_cheroot._base import ServerBase
from drupe_server_cheroot._settings import read_config
from drupe_server_cheroot._tls import build_tls_adapter

__all__ = ["CherootServer", "WSGIGateway", "WSGIGatewayU0"]

# Header name (bytes, as parsed) -> environ key. Filled as names are met; bounded so that
# a client inventing names cannot grow it without end.
_ENVIRON_KEYS: dict[bytes, str] = {b"Content-Type": "CONTENT_TYPE",
                                   b"Content-Length": "CONTENT_LENGTH"}
_ENVIRON_KEYS_MAX = 1024

# Bytes of the request line that recur on every request -> their text.
_TEXTS: dict[bytes, str] = {
    text.encode("latin-1"): text
    for text in ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS",
                 "HTTP/1.1", "HTTP/1.0", "http", "https", "")
}


def _environ_key(name: bytes) -> str:
    key = _ENVIRON_KEYS.get(name)
    if key is None:
        key = "HTTP_" + name.decode("latin-1").upper().replace("-", "_")
        if len(_ENVIRON_KEYS) < _ENVIRON_KEYS_MAX:
            _ENVIRON_KEYS[name] = key
    return key


def _text(data: bytes) -> str:
    text = _TEXTS.get(data)
    return data.decode("latin-1") if text is None else text


class WSGIGateway(Gateway):
    """WSGI 1.0 (PEP 3333): ``server.wsgi_version = (1, 0)``, the default."""

    version: tuple[Any, int] = (1, 0)

    def __init__(self, req: Any) -> None:
        self.req = req
        self.started_response = False
        self.remaining_bytes_out: int | None = None
        self.env = self.get_environ()

    # -- the environ ---------------------------------------------------------------------

    def connection_environ(self) -> dict[str, Any]:
        """The environ entries shared by every request of this request's connection."""
        req = self.req
        server = req.server
        conn = req.conn
        environ: dict[str, Any] = {
            # Not PEP 3333: what the server speaks (the client's version is SERVER_PROTOCOL).
            "ACTUAL_SERVER_PROTOCOL": server.protocol,
            "REMOTE_ADDR": conn.remote_addr or "",
            "REMOTE_PORT": str(conn.remote_port or ""),
            "SCRIPT_NAME": "",
            "SERVER_NAME": server.server_name,
            "SERVER_SOFTWARE": server.software,
            "wsgi.multiprocess": False,
            "wsgi.multithread": True,
            "wsgi.run_once": False,
            "wsgi.version": self.version,
        }
        if isinstance(server.bind_addr, str):
            # A UNIX socket: no port (WSGI has no word for these sockets).
            environ["SERVER_PORT"] = ""
            try:
                environ["X_REMOTE_PID"] = str(conn.peer_pid)
                environ["X_REMOTE_UID"] = str(conn.peer_uid)
                environ["X_REMOTE_GID"] = str(conn.peer_gid)
                environ["X_REMOTE_USER"] = str(conn.peer_user)
                environ["X_REMOTE_GROUP"] = str(conn.peer_group)
                environ["REMOTE_USER"] = environ["X_REMOTE_USER"]
            except RuntimeError:
                # Peer credentials off (server.peercreds / peercreds_resolve) or not
                # available: the entries read so far stay, as with cheroot.
                pass
        else:
            environ["SERVER_PORT"] = str(server.bind_addr[1])
        if getattr(server, "reverse_dns", False) and environ["REMOTE_ADDR"]:
            environ["REMOTE_HOST"] = conn.remote_host_name()
        if conn.ssl_env:
            environ.update(conn.ssl_env)
        return environ

    def get_environ(self) -> dict[str, Any]:
        """The WSGI environ of this request (see the module docstring)."""
        req = self.req
        conn = req.conn
        cached = getattr(conn, "wsgi_environ_base", None)
        if cached is None or cached[0] is not type(self):
            cached = (type(self), self.connection_environ())
            conn.wsgi_environ_base = cached
        # PERF: one C-level copy of the connection's entries, then only the request's own.
        environ = cached[1].copy()
        environ["REQUEST_METHOD"] = _text(req.method)
        environ["PATH_INFO"] = req.path.decode("latin-1")
        environ["QUERY_STRING"] = req.qs.decode("latin-1")
        environ["REQUEST_URI"] = req.uri.decode("latin-1")
        # The client's version (the server's is ACTUAL_SERVER_PROTOCOL).
        environ["SERVER_PROTOCOL"] = _text(req.request_protocol)
        environ["wsgi.url_scheme"] = _text(req.scheme)
        environ["wsgi.input"] = req.rfile
        environ["wsgi.input_terminated"] = bool(req.chunked_read)
        # Read per request: the application may redirect sys.stderr meanwhile.
        environ["wsgi.errors"] = sys.stderr
        keys = _ENVIRON_KEYS
        for name, value in req.inheaders.items():
            environ[keys.get(name) or _environ_key(name)] = value.decode("latin-1")
        return environ

    # -- the response --------------------------------------------------------------------

    def respond(self) -> None:
        """Call the application and write what it returns."""
        result = self.req.server.wsgi_app(self.env, self.start_response)
        try:
            write = self.write
            for chunk in result:
                if not chunk:
                    continue
                if not isinstance(chunk, bytes):
                    raise ValueError("WSGI Applications must yield bytes")
                write(chunk)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if not self.started_response:
            raise RuntimeError("The WSGI application returned without calling start_response.")
        remaining = self.remaining_bytes_out
        if remaining and self._body_expected():
            # Fewer bytes than Content-Length promised: the client would wait for the rest
            # (or read the next response as part of this one). Closing ends it for sure.
            self.req.close_connection = True
            self.req.server.error_log(
                f"The response to {self.env['REQUEST_METHOD']} {self.env['REQUEST_URI']} was "
                f"{remaining} bytes shorter than its Content-Length; the connection is closed.",
                level=30,
            )

    def _body_expected(self) -> bool:
        """Does this response carry a body (not HEAD, 1xx, 204, 205 or 304)?"""
        req = self.req
        code = int(req.status[:3])
        return not (code < 200 or code in (204, 205, 304) or req.method == b"HEAD"
                    or getattr(req, "_no_body", False))

    def start_response(self, status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Any:
        """PEP 3333's ``start_response``; returns the ``write()`` callable."""
        req = self.req
        if exc_info:
            try:
                if req.sent_headers:
                    # Too late to change the response: PEP 3333 says re-raise.
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None  # no reference cycle through the traceback
        elif self.started_response:
            raise RuntimeError("WSGI start_response called a second time with no exc_info.")

        if not isinstance(status, str):
            raise TypeError("WSGI response status is not of type str.")
        if not (len(status) >= 3 and status[:3].isdigit() and status[3:4] in ("", " ")):
            raise ValueError(f"WSGI response status {status!r} does not start with a three-digit code.")
        encoded: list[tuple[bytes, bytes]] = []
        length = None
        for name, value in headers:
            if not isinstance(name, str):
                raise TypeError(f"WSGI response header key {name!r} is not of type str.")
            if not isinstance(value, str):
                raise TypeError(f"WSGI response header value {value!r} is not of type str.")
            if len(name) == 14 and name.lower() == "content-length":
                length = int(value)
            encoded.append((name.encode("latin-1"), value.encode("latin-1")))
        req.status = status.encode("latin-1")
        # A second call (with exc_info) replaces the first one's headers.
        req.outheaders = encoded
        self.remaining_bytes_out = length
        self.started_response = True
        return self.write

    def write(self, chunk: bytes) -> None:
        """PEP 3333's ``write()`` callable (also used for the returned blocks)."""
        if not self.started_response:
            raise RuntimeError("WSGI write called before start_response.")
        if not isinstance(chunk, bytes):
            raise TypeError(f"WSGI write() takes bytes, not {type(chunk).__name__}.")
        req = self.req
        remaining = self.remaining_bytes_out
        if remaining is not None:
            size = len(chunk)
            if size > remaining:
                self.remaining_bytes_out = 0
                if not req.sent_headers:
                    req.simple_response(
                        "500 Internal Server Error",
                        "The requested resource returned more bytes than the declared "
                        "Content-Length.",
                    )
                    req.sent_headers = True
                else:
                    # Part of it is out: send what was announced, then drop the connection.
                    req.write(chunk[:remaining])
                req.close_connection = True
                raise ValueError("Response body exceeds the declared Content-Length.")
            self.remaining_bytes_out = remaining - size
        if not req.sent_headers:
            req.ensure_headers_sent()
        req.write(chunk)


class WSGIGatewayU0(WSGIGateway):
    """Cheroot's experimental all-text WSGI: ``server.wsgi_version = ('u', 0)``.

    ``PATH_INFO`` and ``QUERY_STRING`` are decoded with ``wsgi.url_encoding`` (UTF-8),
    falling back to latin-1 (and saying so in ``wsgi.url_encoding``) when they are not
    valid in it.
    """

    version = ("u", 0)

    def get_environ(self) -> dict[str, Any]:
        environ = super().get_environ()
        encoding = environ.setdefault("wsgi.url_encoding", "utf-8")
        req = self.req
        try:
            path = req.path.decode(encoding)
            query = req.qs.decode(encoding)
        except UnicodeDecodeError:
            # The latin-1 texts already in the environ stand.
            environ["wsgi.url_encoding"] = "ISO-8859-1"
        else:
            environ["PATH_INFO"] = path
            environ["QUERY_STRING"] = query
        return environ


GATEWAYS: dict[tuple[Any, int], type[WSGIGateway]] = {
    (1, 0): WSGIGateway,
    ("u", 0): WSGIGatewayU0,
}


class CherootServer(ServerBase, wsgi.Server):
    """Cheroot's WSGI server, configured from a ``drupe.Server`` (the ``cheroot`` entry point)."""

    def __init__(self, settings: Any, app: Any) -> None:
        # Everything that can be wrong is checked before cheroot's constructor runs, so a
        # bad setting leaves nothing behind (cheroot registers each server in
        # logging.statistics as it is created).
        config = read_config(settings)
        tls_adapter = build_tls_adapter(config)
        wsgi.Server.__init__(
            self,
            config.bind_addr,
            app,
            numthreads=config.thread_pool,
            server_name=config.server_name,
            max=config.thread_pool_max,
            request_queue_size=config.socket_queue_size,
            # Cheroot's stubs say int for the next three; any number of seconds works.
            timeout=config.socket_timeout,  # type: ignore[arg-type]
            shutdown_timeout=config.shutdown_timeout,  # type: ignore[arg-type]
            accepted_queue_size=config.accepted_queue_size,
            # Never wait for room in the selector thread: a full queue goes to the 503
            # helper, which waits server.accepted_queue_timeout (see _base).
            accepted_queue_timeout=0,
            peercreds_enabled=config.peercreds,
            peercreds_resolve_enabled=config.peercreds_resolve,
            reuse_port=config.reuse_port,
        )
        self._configure(settings, config, tls_adapter)
        self.wsgi_version = config.wsgi_version
        self.gateway = GATEWAYS[config.wsgi_version]
