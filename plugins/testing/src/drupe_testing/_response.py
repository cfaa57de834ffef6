"""What every drupe-testing client returns: one finished HTTP response.

The in-process :class:`~drupe_testing.Client` and the live-server clients build the same
:class:`Response`, so a test reads ``response.status``, ``response.headers`` and
``response.body`` the same way whether the request crossed a socket or not.
"""

from __future__ import annotations

import json as json_module
from typing import Any

from drupe_testing._headers import Headers

__all__ = ["Response"]


class Response:
    """A complete response: status, headers (in order, repeats kept) and body bytes.

    ``environ`` is the WSGI environ the in-process client sent (``None`` for a response
    read from a socket); ``protocol`` is the response's HTTP version (``"HTTP/1.1"``)
    when it came over the wire, ``None`` in-process.
    """

    def __init__(self, status_line: str, header_list: list[tuple[str, str]], body: bytes, *,
                 environ: dict[str, Any] | None = None, protocol: str | None = None) -> None:
        self.status_line = status_line
        code, _, reason = status_line.partition(" ")
        self.status = int(code)
        self.reason = reason
        self.header_list = header_list
        self.headers = Headers(header_list)
        self.body = body
        self.environ = environ
        self.protocol = protocol

    @property
    def content_type(self) -> str | None:
        """The media type of ``Content-Type`` in lower case, without parameters."""
        value = self.headers.get("Content-Type")
        if value is None:
            return None
        return value.split(";", 1)[0].strip().lower()

    @property
    def charset(self) -> str | None:
        """The ``charset`` parameter of ``Content-Type``, if there is one."""
        value = self.headers.get("Content-Type")
        if value is None:
            return None
        for parameter in value.split(";")[1:]:
            name, _, param_value = parameter.partition("=")
            if name.strip().lower() == "charset":
                return param_value.strip().strip('"') or None
        return None

    @property
    def text(self) -> str:
        """The body decoded with the response's charset (UTF-8 when it names none)."""
        return self.body.decode(self.charset or "utf-8")

    def json(self) -> Any:
        """The body parsed as JSON (decoded with the charset, when the response names one)."""
        if self.charset is not None:
            return json_module.loads(self.text)
        # Without a charset, json detects UTF-8/16/32 itself (RFC 8259 §8.1).
        return json_module.loads(self.body)

    def __repr__(self) -> str:
        return f"<Response {self.status_line!r}, {len(self.body)} bytes>"


class VerbShortcuts:
    """``get``, ``post``, ... for anything with a ``request(method, path, **kwargs)``."""

    def request(self, method: str, path: str | bytes, **kwargs: Any) -> Response:
        raise NotImplementedError

    def get(self, path: str | bytes, **kwargs: Any) -> Response:
        return self.request("GET", path, **kwargs)

    def head(self, path: str | bytes, **kwargs: Any) -> Response:
        return self.request("HEAD", path, **kwargs)

    def options(self, path: str | bytes, **kwargs: Any) -> Response:
        return self.request("OPTIONS", path, **kwargs)

    def post(self, path: str | bytes, **kwargs: Any) -> Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str | bytes, **kwargs: Any) -> Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str | bytes, **kwargs: Any) -> Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str | bytes, **kwargs: Any) -> Response:
        return self.request("DELETE", path, **kwargs)
