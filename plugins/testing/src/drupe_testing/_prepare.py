"""Turning a test's request description into the exact request that will be sent.

Both clients start here. :func:`prepare` takes what a test writes — a method, a path or
URL, ``params``, ``headers``, one of ``body`` / ``data`` / ``json`` — and produces a
:class:`PreparedRequest`: the request target as raw bytes and the final header list,
with ``Host``, ``Content-Type``, ``Content-Length`` and ``Cookie`` filled in where the test
did not give them. The in-process client turns it into a WSGI environ; the socket client
writes it on the wire byte for byte.

Convenience never gets in the way of malformed input, because tests of 4xx answers need
to send it: a ``bytes`` URL is sent exactly as given; methods are not upper-cased or
checked; a header value given as ``bytes`` (or ``str``) is passed through unvalidated; a
header set to ``None`` removes the default the client would have added (``Host``,
``Content-Length``, ``Content-Type``, ``Cookie``); a ``Content-Length`` or
``Transfer-Encoding`` given by the test is never corrected.
"""

from __future__ import annotations

import json as json_module
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from drupe_testing._cookies import CookieJar

__all__ = ["HeaderInput", "PreparedRequest", "prepare"]

HeaderValue = str | bytes | int | None
HeaderInput = Mapping[str, HeaderValue] | Iterable[tuple[str, HeaderValue]] | None
ParamsInput = Mapping[str, Any] | Iterable[tuple[str, Any]] | str | bytes | None

# Characters a browser leaves alone in a path or query; anything else in a str URL is
# percent-encoded (UTF-8), so '/echo?message=Hello world' is sendable. '%' is kept so
# that an already encoded URL is not encoded twice.
_PATH_SAFE = "/%!$&'()*+,;=:@-._~"
_QUERY_SAFE = _PATH_SAFE + "?"

# Methods that carry a body by convention: without one, Content-Length: 0 is sent (as
# http.client does), so servers that require a length for them are satisfied.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


@dataclass
class PreparedRequest:
    """A request ready to send. ``target`` is what goes between method and protocol."""

    method: str
    target: bytes
    path: bytes
    query: bytes
    headers: list[tuple[str, str]]
    body: bytes | None
    protocol: str
    scheme: str
    host: str

    @property
    def cookie_path(self) -> str:
        """The request path as cookie matching sees it (before percent-decoding)."""
        return self.path.decode("latin-1") or "/"


def _header_text(name: str, value: str | bytes | int) -> str:
    """A header value as a latin-1 "native string" (PEP 3333's form, and the wire's)."""
    if isinstance(value, bytes):
        return value.decode("latin-1")
    text = str(value)
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(
            f"The value of the {name!r} header contains characters outside latin-1; HTTP "
            f"header values are bytes: pass bytes (e.g. {text.encode('utf-8')!r}) to send "
            "another encoding."
        ) from None
    return text


def _normalize_headers(headers: HeaderInput) -> tuple[list[tuple[str, str]], set[str]]:
    """The test's headers as ``(name, value)`` pairs, and the names it set to ``None``."""
    if headers is None:
        return [], set()
    items = headers.items() if isinstance(headers, Mapping) else headers
    pairs: list[tuple[str, str]] = []
    suppressed: set[str] = set()
    for name, value in items:
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        if value is None:
            suppressed.add(name.lower())
            continue
        pairs.append((name, _header_text(name, value)))
    return pairs, suppressed


def _encode_params(params: ParamsInput) -> bytes:
    if params is None:
        return b""
    if isinstance(params, bytes):
        return params
    if isinstance(params, str):
        return params.encode("utf-8")
    pairs = params if isinstance(params, Mapping) else list(params)
    return urllib.parse.urlencode(pairs, doseq=True).encode("ascii")


def _split_url(url: str | bytes, scheme: str) -> tuple[str, str | None, bytes, bytes]:
    """``(scheme, netloc or None, raw path, raw query)`` of what the test asked for."""
    if isinstance(url, bytes):
        raw_path, question, raw_query = url.partition(b"?")
        return scheme, None, raw_path, raw_query if question else b""
    netloc: str | None = None
    if url.startswith(("http://", "https://")):
        parts = urllib.parse.urlsplit(url)
        scheme, netloc = parts.scheme, parts.netloc
        url = parts.path + ("?" + parts.query if parts.query else "")
    url = url.partition("#")[0]
    path, _, query = url.partition("?")
    raw_path = urllib.parse.quote(path, safe=_PATH_SAFE).encode("ascii")
    raw_query = urllib.parse.quote(query, safe=_QUERY_SAFE).encode("ascii")
    return scheme, netloc, raw_path, raw_query


def _hostname(host_value: str) -> str:
    """The host part of a ``Host`` value (no port, lower case), tolerating garbage."""
    host_value = host_value.strip()
    if host_value.startswith("["):
        return host_value[: host_value.find("]") + 1 or None].lower()
    return host_value.partition(":")[0].lower()


def prepare(
    method: str,
    url: str | bytes,
    *,
    params: ParamsInput = None,
    headers: HeaderInput = None,
    body: str | bytes | None = None,
    data: Any = None,
    json: Any = None,
    protocol: str = "HTTP/1.1",
    scheme: str = "http",
    default_host: str = "localhost",
    cookies: CookieJar | None = None,
    default_content_type: str | None = None,
) -> PreparedRequest:
    """Build the request (see the module docstring for what is filled in).

    ``default_host`` is the ``Host`` value when the test gives none (an absolute URL's
    authority wins over it). ``default_content_type`` is used for a body sent without a
    ``Content-Type`` (``CPWebCase`` sends form data by default, as CherryPy's did).
    """
    if sum(value is not None for value in (body, data, json)) > 1:
        raise TypeError("Give at most one of body=, data= and json=.")
    scheme, netloc, path, query = _split_url(url, scheme)
    extra_query = _encode_params(params)
    if extra_query:
        query = query + b"&" + extra_query if query else extra_query
    target = path + (b"?" + query if query or (isinstance(url, bytes) and b"?" in url) else b"")

    pairs, suppressed = _normalize_headers(headers)
    given = {name.lower() for name, _ in pairs} | suppressed

    content_type: str | None = None
    payload: bytes | None
    if json is not None:
        payload = json_module.dumps(json).encode("utf-8")
        content_type = "application/json"
    elif data is not None:
        if isinstance(data, (str, bytes)):
            payload = data.encode("utf-8") if isinstance(data, str) else data
        else:
            payload = urllib.parse.urlencode(data, doseq=True).encode("ascii")
        content_type = "application/x-www-form-urlencoded"
    elif body is not None:
        payload = body.encode("utf-8") if isinstance(body, str) else body
        content_type = default_content_type
    else:
        payload = None
        if method.upper() in _BODY_METHODS:
            content_type = default_content_type

    if content_type is not None and "content-type" not in given:
        pairs.append(("Content-Type", content_type))
    framed = "content-length" in given or "transfer-encoding" in given
    if not framed and (payload is not None or method.upper() in _BODY_METHODS):
        pairs.append(("Content-Length", str(len(payload or b""))))
    host_value = netloc or default_host
    if "host" not in given:
        pairs.insert(0, ("Host", host_value))
    else:
        host_value = next((value for name, value in pairs if name.lower() == "host"), host_value)
    hostname = _hostname(host_value)
    if cookies is not None and "cookie" not in given:
        value = cookies.header_for(host=hostname, path=path.decode("latin-1") or "/",
                                   secure=scheme == "https")
        if value is not None:
            pairs.append(("Cookie", value))
    return PreparedRequest(
        method=method,
        target=target,
        path=path,
        query=query,
        headers=pairs,
        body=payload,
        protocol=protocol,
        scheme=scheme,
        host=hostname,
    )
