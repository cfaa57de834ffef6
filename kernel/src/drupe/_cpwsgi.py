"""``drupe._cpwsgi``: CherryPy's module path for the WSGI glue (``cherrypy.wsgi``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from drupe._wsgi import ClosingBody, WSGIPipeline, downgrade_wsgi_ux_to_1x

CPWSGIApp = WSGIPipeline

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class VirtualHost:
    """A WSGI application choosing another WSGI application by the request's host.

    ``domains`` maps a host name (``"www.example.com"``, or with a port,
    ``"www.example.com:8080"``) to an application; a request for any other host goes to
    ``default``. With ``use_x_forwarded_host`` (the default, as CherryPy), a proxy's
    ``X-Forwarded-Host`` header names the host, else ``Host``. Only the first value of
    either header counts, compared without case.
    """

    def __init__(self, default: WSGIApp, domains: Mapping[str, WSGIApp] | None = None,
                 use_x_forwarded_host: bool = True) -> None:
        self.default = default
        self.domains = {name.lower(): app for name, app in (domains or {}).items()}
        self.use_x_forwarded_host = use_x_forwarded_host

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        host = ""
        if self.use_x_forwarded_host:
            host = environ.get("HTTP_X_FORWARDED_HOST", "")
        host = (host or environ.get("HTTP_HOST", "")).split(",")[0].strip().lower()
        app = self.domains.get(host)
        if app is None and ":" in host and not host.endswith("]"):
            app = self.domains.get(host.rsplit(":", 1)[0])
        return (app or self.default)(environ, start_response)


__all__ = ["CPWSGIApp", "ClosingBody", "VirtualHost", "WSGIPipeline", "downgrade_wsgi_ux_to_1x"]
