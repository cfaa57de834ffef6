"""Exceptions that become HTTP responses, and the error pages they produce.

Raising one of these from a page handler or a hook ends normal processing:

- :class:`HTTPError` (and :class:`NotFound`) sets a 4xx/5xx status and an error page;
  ``HTTPError.handle`` turns other exceptions into one inside a ``with`` block.
- :class:`HTTPRedirect` answers 3xx with a ``Location``.
- :class:`InternalRedirect` restarts processing at another path of the same application,
  with no round trip to the client.
- :class:`TimeoutError` is raised when ``response.timed_out`` is found set.

Error pages are HTML by default, customisable per status through ``error_page.<code>`` or
``error_page.default`` config (a template file using ``%(status)s``, ``%(message)s``,
``%(traceback)s`` and ``%(version)s``, or a callable taking those as keywords). Every
substituted value is HTML-escaped; tracebacks appear only when
``request.show_tracebacks`` is true (never in the production environment).
"""

from __future__ import annotations

import contextlib
import functools
import sys
import urllib.parse
from collections.abc import Iterator
from typing import Any

from drupe import _httputil
from drupe._serving import serving

__all__ = [
    "CherryPyException",
    "ConfigError",
    "DrupeException",
    "HTTPError",
    "HTTPRedirect",
    "InternalRedirect",
    "NotFound",
    "TimeoutError",
    "bare_error",
    "clean_headers",
    "format_exc",
    "get_error_page",
]


class DrupeException(Exception):
    """Base class of the exceptions that steer request processing."""


CherryPyException = DrupeException


class ConfigError(ValueError):
    """A configuration entry is invalid. The message names the key and what is wrong."""

    startup_error = True


class TimeoutError(DrupeException):
    """Raised when ``response.timed_out`` is detected; answered with 503."""


class InternalRedirect(DrupeException):
    """Restart processing at ``path`` (relative to the application) without a round trip.

    The new request is a GET with an empty body; it can read the old one through
    ``request.prev``. Redirecting to a URL already visited in the same chain is an error
    unless the application enables ``recursive`` redirects.
    """

    def __init__(self, path: str, query_string: str = "") -> None:
        self.request = serving.request
        self.query_string = query_string
        if "?" in path:
            path, self.query_string = path.split("?", 1)
        # Relative paths are resolved against the current path_info.
        self.path = urllib.parse.urljoin(self.request.path_info or "/", path)
        super().__init__(self.path, self.query_string)


class HTTPRedirect(DrupeException):
    """Answer with a 3xx redirect to ``urls`` (one URL or several, for 300).

    Relative URLs are resolved against the current URL. The default status is 303 for
    HTTP/1.1 clients and 302 for HTTP/1.0 ones.
    """

    status: int
    urls: list[str]
    encoding = "utf-8"

    def __init__(self, urls: str | list[str] | tuple[str, ...], status: int | str | None = None,
                 encoding: str | None = None) -> None:
        from drupe._helper import url as current_url

        items: list[Any] = [urls] if isinstance(urls, (str, bytes)) else list(urls)
        base = current_url()
        absolute: list[str] = []
        for item in items:
            text = item.decode(encoding or self.encoding) if isinstance(item, bytes) else item
            absolute.append(urllib.parse.urljoin(base, text))
        self.urls = absolute
        code = int(status) if status is not None else self.default_status
        if not 300 <= code <= 399:
            raise ValueError("status must be between 300 and 399.")
        self.status = code
        super().__init__(absolute, code)

    @property
    def default_status(self) -> int:
        protocol = getattr(serving.request, "protocol", (1, 1))
        return 303 if protocol >= (1, 1) else 302

    @property
    def code(self) -> int:
        return self.status

    _messages = {
        300: "This resource can be found at ",
        301: "This resource has permanently moved to ",
        302: "This resource resides temporarily at ",
        303: "This resource can be found at ",
        307: "This resource has moved temporarily to ",
        308: "This resource has been moved to ",
    }

    def set_response(self) -> None:
        """Put the redirect into ``drupe.response``."""
        response = serving.response
        status = self.status
        response.status = status
        headers = response.headers
        if status in self._messages:
            import html

            headers["Content-Type"] = "text/html;charset=utf-8"
            headers["Location"] = self.urls[0]
            message = self._messages[status]
            links = [
                f"{message}<a href={_quoteattr(target)}>{html.escape(target)}</a>."
                for target in self.urls
            ]
            response.body = "<br />\n".join(links).encode("utf-8")
            headers.pop("Content-Length", None)
        elif status == 304:
            for key in ("Allow", "Content-Encoding", "Content-Language", "Content-Length",
                        "Content-Location", "Content-MD5", "Content-Range", "Content-Type",
                        "Expires", "Last-Modified"):
                headers.pop(key, None)
            response.body = None
        elif status == 305:
            headers["Location"] = self.urls[0]
            response.body = None
            headers.pop("Content-Length", None)
        else:
            raise ValueError(f"The {status} status code is unknown.")

    def __call__(self) -> None:
        raise self


def _quoteattr(value: str) -> str:
    import html

    return '"' + html.escape(value, quote=True) + '"'


# Title-cased, as a HeaderMap stores its keys.
_ENTITY_HEADERS = frozenset(name.title() for name in (
    "Accept-Ranges", "Age", "ETag", "Location", "Retry-After", "Vary", "Content-Encoding",
    "Content-Length", "Expires", "Content-Location", "Content-MD5", "Last-Modified"))


def clean_headers(status: int) -> None:
    """Drop response headers that described the original entity, not an error page."""
    headers = serving.response.headers
    # Look only at the keys present (usually a handful) instead of popping every entity
    # header through the case-insensitive map.
    for key in [key for key in headers if (name := str(key).title()) in _ENTITY_HEADERS
                or (name == "Content-Range" and status != 416)]:
        dict.pop(headers, key, None)


class HTTPError(DrupeException):
    """Answer with an error status (4xx or 5xx) and an error page.

    ``message`` is shown on the page (HTML-escaped); by default it is the status' standard
    description.
    """

    status: int | str
    code: int
    reason: str

    def __init__(self, status: int | str = 500, message: str | None = None) -> None:
        self.status = status
        try:
            self.code, self.reason, default_message = _httputil.valid_status(status)
        except ValueError as exc:
            raise self.__class__(500, exc.args[0]) from None
        if self.code < 400 or self.code > 599:
            raise ValueError("status must be between 400 and 599.")
        self._message = message or default_message
        super().__init__(status, message)

    def set_response(self) -> None:
        """Put the error page into ``drupe.response``."""
        response = serving.response
        clean_headers(self.code)
        response.status = self.status
        tb = format_exc() if serving.request.show_tracebacks else None
        response.headers.pop("Content-Length", None)
        response.body = self.get_error_page(self.status, traceback=tb, message=self._message)

    def get_error_page(self, *args: Any, **kwargs: Any) -> Any:
        return get_error_page(*args, **kwargs)

    def __call__(self) -> None:
        """Raise this error (so an HTTPError can stand in for a page handler)."""
        raise self

    @classmethod
    @contextlib.contextmanager
    def handle(cls, exception: type[BaseException] | tuple[type[BaseException], ...],
               status: int | str = 500, message: str = "") -> Iterator[None]:
        """Turn ``exception`` raised in the block into ``HTTPError(status, message)``."""
        try:
            yield
        except exception as exc:
            raise cls(status, message or str(exc)) from exc


class NotFound(HTTPError):
    """404 for ``path`` (by default the current request's path)."""

    def __init__(self, path: str | None = None) -> None:
        if path is None:
            request = serving.request
            path = (request.script_name or "") + (request.path_info or "")
        self.args = (path,)
        super().__init__(404, f"The path '{path}' was not found.")


_ERROR_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>%(status)s</title>
<style>
body { font-family: sans-serif; margin: 2em; }
pre { background: #f4f4f4; padding: 1em; overflow: auto; }
#powered_by { margin-top: 2em; border-top: 1px solid #ccc; font-size: small; color: #666; }
</style>
</head>
<body>
<h2>%(status)s</h2>
<p>%(message)s</p>
<pre id="traceback">%(traceback)s</pre>
<div id="powered_by">Powered by drupe %(version)s</div>
</body>
</html>
"""


@functools.cache
def _version() -> str:
    from drupe._version import __version__

    return __version__


def get_error_page(status: int | str, **kwargs: Any) -> Any:
    """Render the error page for ``status``: the configured template or callable, or ours."""
    import html

    try:
        code, reason, message = _httputil.valid_status(status)
    except ValueError as exc:
        raise HTTPError(500, exc.args[0]) from None
    if kwargs.get("status") is None:
        kwargs["status"] = f"{code} {reason}"
    if kwargs.get("message") is None:
        kwargs["message"] = message
    if kwargs.get("traceback") is None:
        kwargs["traceback"] = ""
    if kwargs.get("version") is None:
        kwargs["version"] = _version()
    for key, value in kwargs.items():
        kwargs[key] = "" if value is None else html.escape(str(value), quote=False)

    request = serving.request
    pages = getattr(request, "error_page", None) or {}
    custom = pages.get(code) or pages.get(str(code)) or pages.get("default")
    template = _ERROR_TEMPLATE
    if custom:
        try:
            if callable(custom):
                result = custom(**kwargs)
                if isinstance(result, str):
                    # Encoded as UTF-8 here, so say so (unless the page chose its own type).
                    headers = serving.response.headers
                    if headers.get("Content-Type") == "text/html":
                        headers["Content-Type"] = "text/html;charset=utf-8"
                    return result.encode("utf-8")
                if isinstance(result, bytes):
                    return result
                if hasattr(result, "__iter__"):
                    return (chunk.encode("utf-8") if isinstance(chunk, str) else chunk
                            for chunk in result)
                raise ValueError(
                    "error page function did not return bytes, str or an iterator - "
                    f"returned object of type {type(result).__name__}."
                )
            with open(custom, encoding="utf-8", newline="") as handle:
                template = handle.read()
            template % kwargs
        except Exception as exc:
            template = _ERROR_TEMPLATE
            from drupe._log import log

            log(f"The custom error page for {code} failed: {exc!r}", "HTTP", severity=40,
                traceback=True)
            note = "In addition, the custom error page failed."
            if getattr(request, "show_tracebacks", False):
                note += "\n<br />" + html.escape(repr(exc), quote=False)
            kwargs["message"] = (kwargs["message"] + "<br />" if kwargs["message"] else "") + note
    response = serving.response
    response.headers["Content-Type"] = "text/html;charset=utf-8"
    try:
        return (template % kwargs).encode("utf-8")
    except (KeyError, ValueError, TypeError):
        return (_ERROR_TEMPLATE % kwargs).encode("utf-8")


def format_exc(exc: BaseException | None = None) -> str:
    """The traceback of ``exc`` (or of the exception being handled) as a string."""
    import traceback

    if exc is None:
        exc = sys.exc_info()[1]
        if exc is None:
            return ""
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def bare_error(extrabody: str | bytes | None = None) -> tuple[str, list[tuple[str, str]], list[bytes]]:
    """A minimal 500 response for when the normal error machinery itself failed."""
    body = b"Unrecoverable error in the server."
    if extrabody:
        if isinstance(extrabody, str):
            extrabody = extrabody.encode("utf-8")
        body += b"\n" + extrabody
    return (
        "500 Internal Server Error",
        [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))],
        [body],
    )
