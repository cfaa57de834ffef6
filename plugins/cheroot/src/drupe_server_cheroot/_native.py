"""The native server: cheroot running drupe applications without the WSGI layer.

CherryPy documents a server that skips WSGI for pure CherryPy applications
(``cherrypy._cpnative_server.CPHTTPServer``). Here the gateway talks to the kernel through
its server-facing API, for each request:

1. find the application in the tree (``tree.script_name(path)``, ``tree.apps``);
2. ``app.get_serving(local, remote, scheme, server_protocol)`` creates the request and
   response and makes them current in this thread;
3. ``request.run(method, path, query_string, protocol, headers, rfile)`` runs the
   pipeline; an ``InternalRedirect`` escapes from it and is followed here, as the WSGI
   layer would;
4. the response's status, header list and body are written by cheroot;
5. ``app.release_serving()`` ends the request (``on_end_request`` hooks) once the body,
   which may be a stream produced while it is written, has been sent.

Only drupe applications can be served this way: a foreign WSGI callable grafted on the
tree answers 500 with a message saying so (as CherryPy's documentation warns), and the
error log says where it is grafted.
"""

from __future__ import annotations

import io
from typing import Any

from cheroot.server import Gateway, HTTPServer

import drupe
from drupe.lib.httputil import Host
from drupe_server_cheroot._base import ServerBase
from drupe_server_cheroot._settings import read_config
from drupe_server_cheroot._tls import build_tls_adapter

__all__ = ["NativeGateway", "NativeServer"]

_MAX_REDIRECTS = 100
# Headers describing the original request's body, which an internal redirect drops.
_BODY_HEADERS = frozenset({"content-length", "content-type", "transfer-encoding"})


class ResponseTooLong(RuntimeError):
    """The body outgrew its Content-Length: the connection must be dropped."""


def _decode(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _collapse_slashes(path: str) -> str:
    # The tree does the same before looking up mount points (``//a`` is ``/a``).
    while "//" in path:
        path = path.replace("//", "/")
    return path


def _latin1(text: str) -> bytes:
    return text.encode("latin-1")


class NativeGateway(Gateway):
    """Runs one request through the kernel (see the module docstring)."""

    def respond(self) -> None:
        request = self.req
        try:
            self._respond()
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception:
            if request.sent_headers:
                # Part of the response is on the wire: only dropping the connection tells
                # the client it is incomplete. Cheroot logs the error and does that.
                raise
            request.server.error_log("Error in the native HTTP server's gateway:", level=40,
                                     traceback=True)
            self._send_text("500 Internal Server Error",
                            "The server could not process this request.")

    def _respond(self) -> None:
        request = self.req
        server = request.server
        tree = server.tree
        raw_path: bytes = request.path
        path = _decode(raw_path, "utf-8")
        if path is None:
            path = raw_path.decode("latin-1")
        path = _collapse_slashes(path)
        mount = tree.script_name(path or "/")
        if mount is None:
            self._send_text("404 Not Found", "Nothing is mounted at this path.")
            return
        app = tree.apps[mount]
        if not isinstance(app, drupe.Application):
            where = mount or "/"
            server.error_log(
                f"The native HTTP server cannot serve {app!r}, grafted at {where!r}: it runs "
                "drupe applications only, without WSGI. Serve foreign WSGI applications with "
                "the WSGI server (server.type = 'cheroot', the default).",
                level=40,
            )
            self._send_text(
                "500 Internal Server Error",
                f"The application at {where!r} is a foreign WSGI application, which the "
                "native HTTP server cannot run.",
            )
            return

        # Paths arrive percent-decoded as bytes; their text is in the application's
        # request.uri_encoding (UTF-8 unless configured otherwise), as on the WSGI path.
        encoding = app.uri_encoding_for(path[len(mount):] or "/")
        exact = _decode(raw_path, encoding)
        if exact is None:
            self._send_text("400 Bad Request", f"The request path is not valid {encoding}.")
            return
        path = _collapse_slashes(exact)
        query_string = _decode(request.qs, encoding)
        if query_string is None:
            query_string = request.qs.decode("latin-1")
        self._run(app, mount, path, query_string)

    def _run(self, app: Any, mount: str, path: str, query_string: str) -> None:
        request = self.req
        server = request.server
        connection = request.conn
        # Without reverse DNS the name is empty, as on the WSGI path (no REMOTE_HOST).
        remote = Host(connection.remote_addr or "", connection.remote_port or -1,
                      connection.remote_host_name() if server.reverse_dns else "")
        scheme = request.scheme.decode("ascii") if isinstance(request.scheme, bytes) else request.scheme
        method = request.method.decode("latin-1")
        protocol = request.request_protocol.decode("latin-1")
        headers = [(name.decode("latin-1"), value.decode("latin-1"))
                   for name, value in request.inheaders.items()]
        rfile: Any = request.rfile
        previous = None
        visited: list[str] = []
        while True:
            try:
                drupe_request, response = app.get_serving(server.local_host, remote, scheme,
                                                          server.protocol)
                drupe_request.multithread = True
                drupe_request.multiprocess = False
                drupe_request.prev = previous
                drupe_request.run(method, path, query_string, protocol, headers, rfile)
            except drupe.InternalRedirect as redirect:
                app.release_serving()
                previous = drupe_request
                visited.append(path + ("?" + query_string if query_string else ""))
                path, query_string = self._follow(app, mount, redirect, visited)
                method = "GET"
                rfile = io.BytesIO()
                headers = [(name, value) for name, value in headers
                           if name.lower() not in _BODY_HEADERS]
                continue
            except BaseException:
                app.release_serving()
                raise
            break
        try:
            self._send_response(response)
        finally:
            app.release_serving()

    @staticmethod
    def _follow(app: Any, mount: str, redirect: Any, visited: list[str]) -> tuple[str, str]:
        """Where an internal redirect leads: the same checks as on the WSGI path."""
        path = mount + redirect.path
        target = path + ("?" + redirect.query_string if redirect.query_string else "")
        recursive = app.find_config(redirect.path, "request.recursive_redirect", False)
        if not recursive and target in visited:
            raise RuntimeError(f"InternalRedirect visited the same URL twice: {target!r}")
        if len(visited) > _MAX_REDIRECTS:
            raise RuntimeError(f"More than {_MAX_REDIRECTS} internal redirects for {visited[0]!r}")
        return path, redirect.query_string or ""

    def _send_response(self, response: Any) -> None:
        request = self.req
        status = response.output_status or _latin1(str(response.status))
        request.status = status
        declared: int | None = None
        for name, value in response.header_list or ():
            request.outheaders.append((_latin1(name), _latin1(value)))
            if name.lower() == "content-length" and value.strip().isdigit():
                declared = int(value)
        remaining = declared
        for chunk in response.body:
            if response.timed_out:
                raise RuntimeError("The response timed out while its body was being sent.")
            if type(chunk) is str:
                chunk = chunk.encode("utf-8")
            if not chunk:
                continue
            if remaining is not None:
                if len(chunk) > remaining:
                    # Sending more than announced would be read as the start of the next
                    # response on this connection.
                    request.ensure_headers_sent()
                    request.write(chunk[:remaining])
                    raise ResponseTooLong(
                        f"The response body is longer than its Content-Length ({declared})."
                    )
                remaining -= len(chunk)
            request.ensure_headers_sent()
            request.write(chunk)
        request.ensure_headers_sent()

    def _send_text(self, status: str, text: str) -> None:
        request = self.req
        body = text.encode("utf-8")
        request.status = _latin1(status)
        request.outheaders = [
            (b"Content-Type", b"text/plain;charset=utf-8"),
            (b"Content-Length", str(len(body)).encode("ascii")),
        ]
        request.ensure_headers_sent()
        request.write(body)


class NativeServer(ServerBase):
    """Cheroot with the native gateway, serving the applications of a ``drupe.Tree``."""

    local_host: Host
    """This server's address, as the kernel's requests see it (``request.local``)."""

    def __init__(self, settings: Any, tree: Any = None) -> None:
        if tree is None:
            tree = drupe.tree
        if not isinstance(tree, drupe.Tree):
            raise drupe.ConfigError(
                f"The native HTTP server serves a drupe.Tree of drupe applications, not "
                f"{tree!r}. Serve other WSGI applications with the WSGI server "
                "(server.type = 'cheroot')."
            )
        config = read_config(settings)
        tls_adapter = build_tls_adapter(config)
        HTTPServer.__init__(
            self,
            config.bind_addr,
            NativeGateway,
            minthreads=config.thread_pool,
            maxthreads=config.thread_pool_max,
            server_name=config.server_name,
            peercreds_enabled=config.peercreds,
            peercreds_resolve_enabled=config.peercreds_resolve,
            reuse_port=config.reuse_port,
        )
        # _configure replaces the base constructor's pool (see _base and _pool).
        self._configure(settings, config, tls_adapter)
        self.tree = tree
        self.local_host = Host("", 0, config.server_name or "")

    def prepare(self) -> None:
        super().prepare()
        address = self.bind_addr
        if isinstance(address, tuple):
            host, port = address[0], address[1]
            self.local_host = Host(host, port, self.config.server_name or host)
        else:
            self.local_host = Host("", 0, address)
