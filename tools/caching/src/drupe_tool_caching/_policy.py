"""HTTP caching rules (RFC 9111), as pure functions of header values.

Which statuses may be stored, how long a stored response stays fresh, what the request's
and the response's ``Cache-Control`` say, and whether a stored response answers a
conditional request with 304. Nothing here touches a request or a store.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drupe.lib.httputil import parse_http_date, split_outside_quotes

__all__ = [
    "CACHEABLE_STATUSES",
    "cache_control",
    "freshness_lifetime",
    "not_modified",
    "vary_names",
]

# RFC 9110 §15.1's heuristically cacheable statuses, less 204 and 206 (no stored body to
# replay: a 204 has none, a 206 is one part of one request's ranges).
CACHEABLE_STATUSES = frozenset({200, 203, 300, 301, 308, 404, 405, 410, 414, 501})


def cache_control(value: str | None) -> dict[str, str | None]:
    """A ``Cache-Control`` value as ``{directive (lower case): argument or None}``.

    Quoted arguments are unquoted. When a directive is repeated, the first one counts.
    """
    directives: dict[str, str | None] = {}
    if not value:
        return directives
    for item in split_outside_quotes(value, ","):
        name, equals, argument = item.strip().partition("=")
        name = name.strip().lower()
        if not name or name in directives:
            continue
        if equals:
            argument = argument.strip()
            if len(argument) >= 2 and argument.startswith('"') and argument.endswith('"'):
                argument = argument[1:-1]
            directives[name] = argument
        else:
            directives[name] = None
    return directives


def delta_seconds(directives: Mapping[str, str | None], name: str) -> int | None:
    """The argument of directive ``name`` as seconds; None when absent.

    ``ValueError`` when it is present but not a non-negative integer.
    """
    if name not in directives:
        return None
    argument = directives[name]
    if argument is None or not argument.isascii() or not argument.isdigit():
        raise ValueError(f"Cache-Control {name} needs a number of seconds, not {argument!r}.")
    return int(argument)


def vary_names(value: str | None) -> tuple[str, ...] | None:
    """The header names in a ``Vary`` value, lower-cased, in order, once each.

    ``None`` for ``Vary: *`` (the response varies on things no request header shows, so it
    can never be reused).
    """
    names: list[str] = []
    if not value:
        return ()
    for item in str(value).split(","):
        name = item.strip().lower()
        if name == "*":
            return None
        if name and name not in names:
            names.append(name)
    return tuple(names)


def freshness_lifetime(headers: Mapping[str, Any], created: float, delay: float) -> float:
    """How long a response stays fresh, in seconds, at most ``delay``.

    ``s-maxage`` wins over ``max-age``, which wins over ``Expires`` minus ``Date`` (or
    minus ``created``); with none of them, ``delay``. A malformed value means stale (0), as
    RFC 9111 §4.2.1 asks.
    """
    directives = cache_control(headers.get("Cache-Control"))
    for name in ("s-maxage", "max-age"):
        if name in directives:
            try:
                seconds = delta_seconds(directives, name)
            except ValueError:
                return 0.0
            return float(min(seconds or 0, delay))
    expires = headers.get("Expires")
    if expires is not None:
        expiry = parse_http_date(str(expires))
        if expiry is None:
            return 0.0
        date = parse_http_date(str(headers.get("Date", ""))) or created
        return float(max(0.0, min(expiry - date, delay)))
    return float(delay)


def _entity_tags(value: str) -> tuple[bool, list[str]]:
    """An If-None-Match value: (``*`` given, opaque tags with any ``W/`` removed)."""
    tags: list[str] = []
    for item in split_outside_quotes(value, ","):
        item = item.strip()
        if item == "*":
            return True, []
        if item.startswith("W/"):
            item = item[2:]
        if item:
            tags.append(item)
    return False, tags


def not_modified(stored: Mapping[str, Any], request_headers: Mapping[str, Any]) -> bool:
    """Whether a stored response answers the request's ``If-None-Match`` / ``If-Modified-Since``.

    ``If-None-Match`` uses the weak comparison (RFC 9110 §13.1.2), and when present
    ``If-Modified-Since`` is ignored. Unparseable dates count as absent.
    """
    if_none_match = request_headers.get("If-None-Match")
    if if_none_match:
        etag = stored.get("ETag")
        star, tags = _entity_tags(str(if_none_match))
        if star:
            return True
        if not etag:
            return False
        opaque = str(etag)[2:] if str(etag).startswith("W/") else str(etag)
        return opaque in tags
    since_text = request_headers.get("If-Modified-Since")
    last_modified = stored.get("Last-Modified")
    if since_text and last_modified:
        since = parse_http_date(str(since_text))
        modified = parse_http_date(str(last_modified))
        if since is not None and modified is not None:
            return int(modified) <= int(since)
    return False
