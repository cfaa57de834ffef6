"""HTTP parsing and formatting helpers shared by the kernel and every plugin.

This is the implementation behind ``drupe.lib.httputil`` (CherryPy's ``cherrypy.lib.httputil``):
case-insensitive header maps, header elements with parameters and quality values, status
validation, query-string parsing, HTTP dates, byte ranges and host parsing.

The functions here are strict where the input comes from a client: a malformed value is
either ignored (where RFC 9110 says a recipient may ignore it) or reported with a
``ValueError`` whose message is safe to show to that client. They never raise anything
else for bad input.
"""

from __future__ import annotations

import itertools
import re
import time
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

__all__ = [
    "AcceptElement",
    "CaseInsensitiveDict",
    "EntityTag",
    "HTTPDate",
    "HeaderElement",
    "HeaderMap",
    "Host",
    "SanitizedHost",
    "decode_TEXT",
    "decode_TEXT_maybe",
    "get_ranges",
    "header_elements",
    "is_token",
    "parse_entity_tags",
    "parse_http_date",
    "parse_query_string",
    "protocol_from_http",
    "response_codes",
    "split_host",
    "split_outside_quotes",
    "urljoin",
    "urljoin_bytes",
    "valid_status",
]


# ---------------------------------------------------------------------------
# URLs and protocols


def urljoin(*atoms: str) -> str:
    """Join URL path pieces with single slashes; an empty result is ``'/'``.

    ``urljoin('/app', '/x/', 'y')`` is ``'/app/x/y'``: unlike ``urllib.parse.urljoin`` this
    never drops earlier pieces.
    """
    url = "/".join(x for x in atoms if x)
    while "//" in url:
        url = url.replace("//", "/")
    return url or "/"


def urljoin_bytes(*atoms: bytes) -> bytes:
    """The bytes twin of :func:`urljoin`."""
    url = b"/".join(x for x in atoms if x)
    while b"//" in url:
        url = url.replace(b"//", b"/")
    return url or b"/"


def protocol_from_http(protocol_str: str) -> tuple[int, int]:
    """``'HTTP/1.1'`` -> ``(1, 1)``. Raises ``ValueError`` for anything else."""
    match = re.fullmatch(r"HTTP/(\d)\.(\d)", protocol_str)
    if match is None:
        raise ValueError(f"Malformed HTTP version {protocol_str!r}")
    return int(match.group(1)), int(match.group(2))


# ---------------------------------------------------------------------------
# Status lines

class _ResponseCodes(dict[int, tuple[str, str]]):
    """Status code -> (reason, description), filled from ``http.HTTPStatus`` on first use."""

    _filled = False

    def _fill(self) -> None:
        from http import HTTPStatus

        for status in HTTPStatus:
            dict.setdefault(self, status.value, (status.phrase, status.description))
        # RFC 9110's names, and codes the stdlib lacks on older Pythons.
        dict.__setitem__(self, 413, ("Content Too Large", "Request entity is larger than the limit."))
        dict.__setitem__(self, 422, ("Unprocessable Content", "The request was well-formed but invalid."))
        dict.setdefault(self, 418, ("I'm a Teapot", "The server refuses to brew coffee."))
        dict.setdefault(self, 425, ("Too Early", "The server is unwilling to risk a replay."))
        self._filled = True

    def __missing__(self, code: int) -> tuple[str, str]:
        if not self._filled:
            self._fill()
            if dict.__contains__(self, code):
                return dict.__getitem__(self, code)
        raise KeyError(code)

    def get(self, code: int, default: Any = None) -> Any:
        try:
            return self[code]
        except KeyError:
            return default

    def __contains__(self, code: object) -> bool:
        if not self._filled:
            self._fill()
        return dict.__contains__(self, code)

    def __iter__(self) -> Iterator[int]:
        if not self._filled:
            self._fill()
        return dict.__iter__(self)

    def __len__(self) -> int:
        if not self._filled:
            self._fill()
        return dict.__len__(self)


# PERF: the common statuses are known without importing http.HTTPStatus (an enum).
_COMMON_CODES = {
    200: ("OK", "Request fulfilled, document follows"),
    301: ("Moved Permanently", "Object moved permanently -- see URI list"),
    302: ("Found", "Object moved temporarily -- see URI list"),
    303: ("See Other", "Object moved -- see Method and URL list"),
    304: ("Not Modified", "Document has not changed since given time"),
    400: ("Bad Request", "Bad request syntax or unsupported method"),
    404: ("Not Found", "Nothing matches the given URI"),
    # RFC 2616 §10.5.1's description (the stdlib's "Server got itself in trouble" says less).
    500: ("Internal Server Error",
          "The server encountered an unexpected condition which prevented it from fulfilling "
          "the request."),
}
response_codes = _ResponseCodes(_COMMON_CODES)


_valid_statuses: dict[Any, tuple[int, str, str]] = {}


def valid_status(status: Any) -> tuple[int, str, str]:
    """Return ``(code, reason, message)`` for an int or ``'NNN [reason]'`` status.

    ``None`` means 200. A code outside 100..599 or a reason containing control
    characters raises ``ValueError``.
    """
    # PERF: every response validates its status; applications use a handful of them.
    try:
        return _valid_statuses[status]
    except (KeyError, TypeError):
        pass
    result = _check_status(status)
    if type(status) in (int, str) and len(_valid_statuses) < 512:
        _valid_statuses[status] = result
    return result


def _check_status(status: Any) -> tuple[int, str, str]:
    if not status:
        status = 200
    code: int
    reason: str | None
    if isinstance(status, int):
        code, reason = status, None
    elif not isinstance(status, (str, bytes)):
        raise ValueError(f"Illegal response status from server ({status!r} is non-numeric).")
    else:
        text = status.decode("latin-1") if isinstance(status, bytes) else status
        code_part, _, reason_part = text.strip().partition(" ")
        reason = reason_part.strip() or None
        try:
            code = int(code_part)
        except ValueError:
            raise ValueError(f"Illegal response status from server ({code_part!r} is non-numeric).")
    if code < 100 or code > 599:
        raise ValueError(f"Illegal response status from server ({code} is out of range).")
    default_reason, message = response_codes.get(code, ("", ""))
    if reason is None:
        reason = default_reason or "Unknown"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in reason):
        raise ValueError("Illegal response status: the reason contains control characters.")
    return code, reason, message


# ---------------------------------------------------------------------------
# Header elements


class HeaderElement:
    """One element of a comma-separated header value, with its ``;``-parameters."""

    def __init__(self, value: str, params: dict[str, str] | None = None) -> None:
        self.value = value
        self.params: dict[str, str] = params if params is not None else {}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HeaderElement):
            return NotImplemented
        return (self.value, self.params) == (other.value, other.params)

    def __lt__(self, other: HeaderElement) -> bool:
        return self.value < other.value

    def __hash__(self) -> int:
        return hash(self.value)

    def __str__(self) -> str:
        params = "".join(f";{key}={value}" for key, value in self.params.items())
        return f"{self.value}{params}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.value!r}, {self.params!r})"

    @staticmethod
    def parse(elementstr: str) -> tuple[str, dict[str, str]]:
        """Split ``'text/html;level=1'`` into ``('text/html', {'level': '1'})``."""
        atoms = [atom.strip() for atom in split_outside_quotes(elementstr, ";")]
        initial_value = atoms.pop(0) if atoms else ""
        params: dict[str, str] = {}
        for atom in atoms:
            if not atom:
                continue
            key, sep, val = atom.partition("=")
            key = key.strip()
            val = val.strip()
            if len(val) >= 2 and val[0] == val[-1] == '"':
                val = val[1:-1]
            if key:
                params[key] = val if sep else ""
        return initial_value, params

    @classmethod
    def from_str(cls, elementstr: str) -> HeaderElement:
        initial_value, params = cls.parse(elementstr)
        return cls(initial_value, params)


_Q_VALUE = re.compile(r"(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)")


class AcceptElement(HeaderElement):
    """An element of an Accept-* header, ordered by quality value.

    A malformed ``q`` parameter (``q=high``, ``q=2``) is treated as absent, as RFC 9110
    lets a recipient do; it never raises.
    """

    @classmethod
    def from_str(cls, elementstr: str) -> AcceptElement:
        qvalue = None
        # The first "q" parameter (if any) separates the initial media-range parameters
        # from the accept-params.
        atoms = re.split(r"; *[qQ] *=", elementstr, maxsplit=1)
        media_range = atoms.pop(0).strip()
        if atoms:
            qvalue = HeaderElement.from_str(atoms[0].strip())
        media_type, params = cls.parse(media_range)
        if qvalue is not None:
            params["q"] = str(qvalue)
        return cls(media_type, params)

    @property
    def qvalue(self) -> float:
        """The quality value (1.0 when absent or malformed)."""
        raw = str(self.params.get("q", "1")).strip()
        if not _Q_VALUE.fullmatch(raw):
            return 1.0
        return float(raw)

    def __lt__(self, other: HeaderElement) -> bool:
        if not isinstance(other, AcceptElement):
            return NotImplemented
        if self.qvalue == other.qvalue:
            return str(self) < str(other)
        return self.qvalue < other.qvalue

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AcceptElement):
            return NotImplemented
        return self.qvalue == other.qvalue and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))


def split_outside_quotes(text: str, separator: str = ",") -> list[str]:
    """Split on ``separator`` except inside double-quoted strings (items not stripped)."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    escaped = False
    for ch in text:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\" and quoted:
            current.append(ch)
            escaped = True
        elif ch == '"':
            quoted = not quoted
            current.append(ch)
        elif ch == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def header_elements(fieldname: str, fieldvalue: str | None) -> list[HeaderElement]:
    """Parse a header value into elements, best first for Accept-* headers."""
    if not fieldvalue:
        return []
    result: list[HeaderElement] = []
    accept = fieldname.startswith("Accept") or fieldname == "TE"
    for element in split_outside_quotes(fieldvalue, ","):
        if not element.strip():
            continue
        if accept:
            result.append(AcceptElement.from_str(element))
        else:
            result.append(HeaderElement.from_str(element))
    if accept:
        # Stable: equal qualities keep the order the client sent.
        result.sort(key=lambda el: -el.qvalue if isinstance(el, AcceptElement) else -1.0)
    return result


_RFC2047 = re.compile(r"=\?([^?]+)\?([qQbB])\?([^?]*)\?=")


def decode_TEXT(value: str) -> str:
    """Decode RFC 2047 encoded-words (``=?utf-8?b?...?=``) in a header value."""
    from email.header import decode_header, make_header

    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError, UnicodeDecodeError):
        return value


def decode_TEXT_maybe(value: str) -> str:
    """Decode RFC 2047 only when the value contains an encoded-word."""
    return decode_TEXT(value) if "=?" in value else value


# ---------------------------------------------------------------------------
# Header maps


class CaseInsensitiveDict(dict[str, Any]):
    """A dict whose keys are header names: looked up without regard to case.

    Keys are stored in Title-Case (``content-type`` -> ``Content-Type``).
    """

    __slots__ = ()

    @staticmethod
    def transform_key(key: Any) -> str:
        return key.title() if type(key) is str else str(key).title()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        if args or kwargs:
            self.update(*args, **kwargs)

    def __getitem__(self, key: Any) -> Any:
        return dict.__getitem__(self, self.transform_key(key))

    def __setitem__(self, key: Any, value: Any) -> None:
        dict.__setitem__(self, self.transform_key(key), value)

    def __delitem__(self, key: Any) -> None:
        dict.__delitem__(self, self.transform_key(key))

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, self.transform_key(key))

    def get(self, key: Any, default: Any = None) -> Any:
        return dict.get(self, self.transform_key(key), default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for source in (*args, kwargs):
            items = source.items() if hasattr(source, "items") else source
            for key, value in items:
                self[key] = value

    @classmethod
    def fromkeys(cls, seq: Iterable[Any], value: Any = None) -> CaseInsensitiveDict:  # type: ignore[override]
        new = cls()
        for key in seq:
            new[key] = value
        return new

    def setdefault(self, key: Any, default: Any = None) -> Any:
        return dict.setdefault(self, self.transform_key(key), default)

    def pop(self, key: Any, *default: Any) -> Any:
        return dict.pop(self, self.transform_key(key), *default)

    def copy(self) -> CaseInsensitiveDict:
        new = type(self)()
        dict.update(new, self)
        return new


_HEADER_UNSAFE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


class HeaderMap(CaseInsensitiveDict):
    """Response (and request) headers.

    Setting a value that contains CR, LF, NUL or another control character raises
    ``ValueError`` at once: a header value can never split the response.
    """

    __slots__ = ("protocol",)

    encodings = ("ISO-8859-1",)
    use_rfc_2047 = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.protocol = (1, 1)
        super().__init__(*args, **kwargs)

    def __setitem__(self, key: Any, value: Any) -> None:
        name = key if type(key) is str else str(key)
        if type(value) is str:
            if _HEADER_UNSAFE.search(value):
                raise ValueError(f"Header {name!r}: the value contains a control character.")
        elif isinstance(value, bytes) and _HEADER_UNSAFE.search(value.decode("latin-1")):
            raise ValueError(f"Header {name!r}: the value contains a control character.")
        dict.__setitem__(self, name.title(), value)

    def copy(self) -> HeaderMap:
        new = HeaderMap()
        dict.update(new, self)
        new.protocol = self.protocol
        return new

    def elements(self, key: str) -> list[HeaderElement]:
        """Sorted elements of the named header (Accept-* by quality)."""
        key = self.transform_key(key)
        return header_elements(key, dict.get(self, key))

    def values(self, key: str | None = None) -> Any:
        """With a key: the element values of that header; without: the dict values."""
        if key is None:
            return dict.values(self)
        return [element.value for element in self.elements(key)]

    def output(self) -> list[tuple[str, str]]:
        """The headers as a list of ``(name, value)`` native strings for WSGI."""
        return [(name, self.encode(value)) for name, value in dict.items(self)]

    def encode_header_items(self, header_items: Iterable[tuple[Any, Any]]) -> Iterator[tuple[bytes, bytes]]:
        """Yield ``(name, value)`` as bytes, for servers that speak bytes."""
        for name, value in header_items:
            raw_name = name.encode("latin-1") if isinstance(name, str) else bytes(name)
            yield raw_name, self.encode(value).encode("latin-1")

    @classmethod
    def encode(cls, value: Any) -> str:
        """A header value as a latin-1-safe native string (RFC 2047 if needed)."""
        if type(value) is str and value.isascii():
            return value
        if type(value) is not str:
            value = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            if not cls.use_rfc_2047:
                raise ValueError(f"Could not encode header value {value!r} as latin-1.")
            import base64

            value = "=?utf-8?b?" + base64.b64encode(value.encode("utf-8")).decode("ascii") + "?="
        return str(value)


def is_token(text: str) -> bool:
    """True when ``text`` is an RFC 9110 token (header names, methods)."""
    return bool(_TOKEN.fullmatch(text))


# ---------------------------------------------------------------------------
# Hosts


class Host:
    """An address: ``ip``, ``port`` and an optional resolved ``name``."""

    __slots__ = ("ip", "name", "port")

    def __init__(self, ip: str, port: int, name: str | None = None) -> None:
        self.ip = ip
        self.port = port
        self.name = name if name is not None else ip

    def __repr__(self) -> str:
        return f"drupe.lib.httputil.Host({self.ip!r}, {self.port!r}, {self.name!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Host):
            return NotImplemented
        return (self.ip, self.port, self.name) == (other.ip, other.port, other.name)

    def __hash__(self) -> int:
        return hash((self.ip, self.port, self.name))


_REG_NAME = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=%]*")
_PORT = re.compile(r"\d{1,5}")


def split_host(value: str) -> tuple[str, int | None]:
    """Validate a Host header / URL authority and split it into ``(host, port)``.

    Accepts a reg-name or IPv4 address, or a bracketed IPv6 literal, each with an optional
    ``:port``. Userinfo, whitespace, control characters and out-of-range ports raise
    ``ValueError``.
    """
    if not value:
        raise ValueError("The Host header is empty.")
    if value.startswith("["):
        end = value.find("]")
        if end == -1:
            raise ValueError("The Host header has an unterminated IPv6 literal.")
        host, rest = value[: end + 1], value[end + 1 :]
        literal = host[1:-1]
        if not literal or not re.fullmatch(r"[0-9A-Fa-f:.]+|v[0-9A-Fa-f]+\.[\w.~!$&'()*+,;=:-]+", literal):
            raise ValueError("The Host header has an invalid IPv6 literal.")
    else:
        host, colon, port_text = value.partition(":")
        rest = colon + port_text
        if not _REG_NAME.fullmatch(host) or not host:
            raise ValueError("The Host header is not a valid host name.")
    port: int | None = None
    if rest:
        if not rest.startswith(":"):
            raise ValueError("The Host header is not a valid host name.")
        port_text = rest[1:]
        if port_text:
            if not _PORT.fullmatch(port_text) or int(port_text) > 65535:
                raise ValueError("The Host header has an invalid port.")
            port = int(port_text)
    return host, port


class SanitizedHost(str):
    """A Host header value that passed :func:`split_host` (raises ``ValueError`` otherwise)."""

    def __new__(cls, raw: str) -> SanitizedHost:
        split_host(raw)
        return super().__new__(cls, raw)


# ---------------------------------------------------------------------------
# Query strings

_IMAGE_MAP = re.compile(r"[0-9]+,[0-9]+")


def parse_query_string(
    query_string: str,
    keep_blank_values: bool = True,
    encoding: str = "utf-8",
    max_num_fields: int | None = None,
) -> dict[str, Any]:
    """Parse a query string into a dict; repeated keys give lists.

    ``"12,34"`` (a server-side image map click) gives ``{'x': 12, 'y': 34}``. Undecodable
    bytes raise ``UnicodeDecodeError``; more than ``max_num_fields`` fields raise
    ``ValueError``.
    """
    if _IMAGE_MAP.fullmatch(query_string):
        x, y = query_string.split(",", 1)
        return {"x": int(x), "y": int(y)}
    pairs = urllib.parse.parse_qsl(
        query_string,
        keep_blank_values=keep_blank_values,
        encoding=encoding,
        errors="strict",
        max_num_fields=max_num_fields,
    )
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            existing = result[key]
            if isinstance(existing, list):
                existing.append(value)
            else:
                result[key] = [existing, value]
        else:
            result[key] = value
    return result


# ---------------------------------------------------------------------------
# Dates

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_date_cache: tuple[int, str] = (-1, "")


def HTTPDate(timeval: float | None = None) -> str:
    """An RFC 9110 IMF-fixdate (``Sun, 06 Nov 1994 08:49:37 GMT``) for ``timeval`` or now."""
    global _date_cache
    if timeval is None:
        now = int(time.time())
        # PERF: every response carries a Date header; formatting it once per second
        # instead of once per response saves a few microseconds each time.
        cached_second, cached_text = _date_cache
        if cached_second == now:
            return cached_text
        text = _format_date(now)
        _date_cache = (now, text)
        return text
    return _format_date(timeval)


def _format_date(timeval: float) -> str:
    t = time.gmtime(timeval)
    return (
        f"{_WEEKDAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year:04d} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"
    )


def parse_http_date(value: str) -> float | None:
    """Seconds since the epoch for an HTTP date in any of the three RFC 9110 forms.

    Returns ``None`` for anything unparseable (callers then ignore the header).
    """
    import calendar
    from email.utils import parsedate_tz

    try:
        parsed = parsedate_tz(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    try:
        stamp = calendar.timegm(parsed[:9])
    except (ValueError, OverflowError):
        return None
    return float(stamp - (parsed[9] or 0))


# ---------------------------------------------------------------------------
# Ranges


def get_ranges(
    headervalue: str | None, content_length: int, max_ranges: int = 16
) -> list[tuple[int, int]] | None:
    """Parse a ``Range: bytes=...`` header into a list of ``(start, stop)`` pairs.

    ``stop`` is exclusive. Returns ``None`` when the header is absent or malformed (the
    caller then serves the whole entity, as RFC 9110 allows) and ``[]`` when no range is
    satisfiable (the caller answers 416). More than ``max_ranges`` ranges, or ranges that
    overlap, are treated as malformed so a client cannot make the server amplify one
    entity into many copies.
    """
    if not headervalue:
        return None
    unit, sep, spec = headervalue.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    result: list[tuple[int, int]] = []
    pieces = spec.split(",")
    if len(pieces) > max_ranges:
        return None
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        start_text, dash, stop_text = piece.partition("-")
        start_text, stop_text = start_text.strip(), stop_text.strip()
        if not dash or (start_text and not start_text.isdigit()) or (
            stop_text and not stop_text.isdigit()
        ):
            return None
        if start_text:
            start = int(start_text)
            if stop_text:
                stop = int(stop_text)
                if stop < start:
                    return None
                stop = min(stop + 1, content_length)
            else:
                stop = content_length
            if start >= content_length:
                continue  # unsatisfiable; others may still be satisfiable
            result.append((start, stop))
        elif stop_text:
            suffix = int(stop_text)
            if suffix == 0:
                continue
            result.append((max(content_length - suffix, 0), content_length))
        else:
            return None
    if len(result) > 1:
        ordered = sorted(result)
        for (_, previous_stop), (next_start, _) in itertools.pairwise(ordered):
            if next_start < previous_stop:
                return None
    return result


def as_mapping(value: Mapping[str, Any] | None) -> dict[str, Any]:
    """A fresh dict from an optional mapping."""
    return dict(value) if value else {}


# ---------------------------------------------------------------------------
# Entity tags (RFC 9110 §8.8.3), for the tools that validate conditional requests


_ENTITY_TAG = re.compile(r'(W/)?"([^"]*)"')


class EntityTag:
    """An entity tag: its opaque part and whether it is weak (``W/"..."``)."""

    __slots__ = ("opaque", "weak")

    def __init__(self, opaque: str, weak: bool = False) -> None:
        self.opaque = opaque
        self.weak = weak

    @classmethod
    def parse(cls, text: str) -> EntityTag:
        """Read one tag. Unquoted text (which some applications and clients send) is taken
        whole, as a strong tag."""
        text = text.strip()
        match = _ENTITY_TAG.fullmatch(text)
        if match is None:
            return cls(text)
        return cls(match.group(2), bool(match.group(1)))

    def strong_match(self, other: EntityTag) -> bool:
        """RFC 9110 strong comparison: neither is weak and the opaque parts are equal."""
        return not self.weak and not other.weak and self.opaque == other.opaque

    def weak_match(self, other: EntityTag) -> bool:
        """RFC 9110 weak comparison: the opaque parts are equal."""
        return self.opaque == other.opaque

    def __str__(self) -> str:
        return f'W/"{self.opaque}"' if self.weak else f'"{self.opaque}"'

    def __repr__(self) -> str:
        return f"EntityTag({self})"


def parse_entity_tags(value: str) -> tuple[bool, list[EntityTag]]:
    """An ``If-Match`` / ``If-None-Match`` value: ``(is_star, tags)``.

    ``*`` alone means any current representation; a ``*`` inside a list of tags (which
    the grammar does not allow) is ignored.
    """
    items = [item.strip() for item in split_outside_quotes(value)]
    items = [item for item in items if item]
    if items == ["*"]:
        return True, []
    return False, [EntityTag.parse(item) for item in items if item != "*"]
