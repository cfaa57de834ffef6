"""``drupe._cpcompat``: CherryPy's Python 2/3 helpers, which applications and toolboxes still import."""

import base64 as _base64
import html as _html
from http.client import HTTPConnection, HTTPSConnection
from http.cookies import CookieError, SimpleCookie
from urllib.parse import quote, unquote, urljoin

from drupe._compat import ntob, ntou, text_or_bytes, tonative


def assert_native(n: str) -> None:
    """Raise ``TypeError`` unless ``n`` is a native string."""
    if not isinstance(n, str):
        raise TypeError(f"n must be a native str (got {type(n).__name__})")


def escape_html(s: str, escape_quote: bool = False) -> str:
    """``&``, ``<`` and ``>`` (and, when asked, ``"``) as HTML entities."""
    return _html.escape(s, quote=escape_quote)


def base64_decode(n: str | bytes, encoding: str = "ISO-8859-1") -> str | bytes:
    """Decode base64 text to text, or base64 bytes to bytes."""
    decoded = _base64.b64decode(n if isinstance(n, bytes) else n.encode(encoding))
    return decoded if isinstance(n, bytes) else decoded.decode(encoding)


__all__ = ["CookieError", "HTTPConnection", "HTTPSConnection", "SimpleCookie", "assert_native",
           "base64_decode", "escape_html", "ntob", "ntou", "quote", "text_or_bytes", "tonative",
           "unquote", "urljoin"]
