"""The HTTP connection and request classes: where the bytes of a request are parsed.

Cheroot reads requests with two classes: an ``HTTPConnection`` per accepted socket, whose
``communicate()`` creates one ``HTTPRequest`` per request on it (several with
keep-alive), and the ``HTTPRequest``, which parses the request line, the headers and the
body framing before handing over to the gateway (WSGI or native).

The hook point is the server's ``request_class`` attribute: :class:`DrupeHTTPConnection`
asks its server which request class to use for every request, so a stricter parser is
plugged by subclassing :class:`DrupeHTTPRequest` (overriding ``read_request_line``,
``read_request_headers`` or ``respond``) and naming the subclass::

    class StrictRequest(DrupeHTTPRequest):
        def read_request_headers(self) -> bool: ...

    class StrictServer(CherootServer):
        request_class = StrictRequest

Connection-level behaviour (timeouts, what happens between requests) is changed the same
way through the server's ``ConnectionClass``, cheroot's own hook.
"""

from __future__ import annotations

import contextlib
import socket
from typing import Any

from cheroot.server import HTTPConnection, HTTPRequest

__all__ = ["DrupeHTTPConnection", "DrupeHTTPRequest"]


class DrupeHTTPRequest(HTTPRequest):
    """One HTTP request as cheroot parses it (the parser's extension point).

    Requests in absolute form (``GET http://host/path HTTP/1.1``) are accepted, as HTTP/1.1
    requires of servers and as CherryPy has always done: cheroot's ``proxy_mode``.
    """

    def __init__(self, server: Any, conn: Any, proxy_mode: bool = True,
                 strict_mode: bool = True) -> None:
        super().__init__(server, conn, proxy_mode=proxy_mode, strict_mode=strict_mode)


class DrupeHTTPConnection(HTTPConnection):
    """An accepted socket; builds requests with the server's ``request_class``."""

    # Resolved lazily for `server.reverse_dns`, once per connection: a client sends many
    # requests on one keep-alive connection, and a DNS round trip per request would be
    # the slowest part of serving them.
    _remote_host_name: str | None = None

    @property
    def RequestHandlerClass(self) -> type[HTTPRequest]:
        # Cheroot reads this class attribute in communicate(); asking the server instead
        # lets one attribute on the server class choose the parser for every connection.
        return self.server.request_class  # type: ignore[no-any-return]

    def remote_host_name(self) -> str:
        """The client's host name by reverse DNS (its address when it has none)."""
        name = self._remote_host_name
        if name is None:
            address = self.remote_addr or ""
            name = address
            if address:
                # No name (or no DNS at all) is normal: the address stands in for it.
                with contextlib.suppress(OSError, UnicodeError):
                    name = socket.gethostbyaddr(address)[0]
            self._remote_host_name = name
        return name
