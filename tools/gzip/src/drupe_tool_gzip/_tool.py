"""The ``gzip`` tool: code the response with gzip when the client and the media type allow.

The tool runs at ``before_finalize`` (priority 80: after ``etags`` at 75 has tagged the
uncompressed body, before ``caching`` at 100 stores what goes out). For each response it
decides, in this order:

1. Responses that never carry content (1xx, 204, 205) and responses already coded
   (a Content-Encoding other than ``identity``, or ``request.cached`` set by the caching
   tool) are left alone.
2. 304 and 206 responses carry no codable content either, but RFC 9110 wants them to
   carry the Vary header the full 200 response would have: they get
   ``Vary: Accept-Encoding`` (a 304 also gets the weakened ETag described below when the
   200 would have been compressed).
3. The client's Accept-Encoding is read (see ``_negotiation``). When it refuses both
   identity and gzip, a successful (2xx) response becomes a 406 naming the header; an
   error or redirect is sent as it is — replacing a 404 with a 406 would hide the real
   answer.
4. The body is compressed when gzip is acceptable and preferred to identity and the
   Content-Type's media type matches ``mime_types`` — or when gzip is acceptable and the
   client refused identity, whatever the media type (``mime_types`` saves CPU on content
   that does not shrink; it must not make the response one the client said it cannot use).
5. ``Vary: Accept-Encoding`` is added (existing values kept) whenever the outcome depends on
   the header: the media type matches, or the response was compressed or refused.

Buffered bodies are compressed in one go and get an exact Content-Length; streamed ones
(``response.stream``) are compressed chunk by chunk without a Content-Length. str chunks
are encoded with the charset of the Content-Type (UTF-8 when none); a text/* Content-Type
without charset gets ``;charset=utf-8`` exactly as the kernel would add it.

A strong ETag describes the uncompressed bytes, so a compressed response gets it *weak*
(``"x"`` -> ``W/"x"``) rather than suffixed: RFC 9110 makes If-None-Match use weak
comparison, so a validator that compares properly still answers the client's
``If-None-Match: W/"x"`` with a 304, whereas a suffix (``"x-gzip"``) only matches if the
ETag producer knows the suffix — Apache's suffix broke conditional requests for years.
Ranges are not served from weak ETags (If-Range needs strong ones), and the tool removes
``Accept-Ranges`` from compressed responses, so a client never stitches compressed and
uncompressed bytes together.

A HEAD request gets the headers the GET would get (the kernel drops the body afterwards),
provided the handler produces the body for HEAD as it does for GET; a handler that returns
nothing for HEAD gets ``Vary`` but no Content-Encoding, since an empty body cannot tell the
compressed length.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterable
from typing import Any

import drupe
from drupe.lib.httputil import HeaderElement, valid_status
from drupe_tool_gzip._codec import compress_bytes, compress_stream
from drupe_tool_gzip._negotiation import MediaTypes, acceptance, media_types

__all__ = ["DEFAULT_MIME_TYPES", "GzipTool", "gzip"]

DEFAULT_MIME_TYPES: tuple[str, ...] = ("text/html", "text/plain")
LOG_CONTEXT = "TOOLS.GZIP"

# Statuses whose responses never have content (the kernel drops any body they hold).
_NO_CONTENT = frozenset({204, 205})


def check_compress_level(value: Any, key: str = "tools.gzip.compress_level") -> int:
    """``value`` if it is a usable compression level, else a ConfigError naming ``key``."""
    if type(value) is int and 0 <= value <= 9:
        return value
    raise drupe.ConfigError(
        f"Config key {key!r}: the compression level must be an integer from 0 (store "
        f"only) to 9 (smallest output), not {value!r}."
    )


def check_mime_types(value: Any, key: str = "tools.gzip.mime_types") -> MediaTypes:
    """``value`` compiled to a matcher, else a ConfigError naming ``key``."""
    try:
        return media_types(value)
    except ValueError as exc:
        raise drupe.ConfigError(f"Config key {key!r}: {exc}")


def _debug(message: str) -> None:
    drupe.log(message, LOG_CONTEXT)


def _status_code(status: Any) -> int | None:
    """The response's status code, or None when it is invalid (finalize reports that)."""
    if not status:
        return 200
    if isinstance(status, int):
        return status if 100 <= status <= 599 else None
    try:
        return valid_status(status)[0]
    except (ValueError, TypeError):
        return None


def _add_vary(headers: Any) -> None:
    """Add Accept-Encoding to Vary, keeping what is there (and ``Vary: *`` as it is)."""
    current = headers.get("Vary")
    if not current:
        headers["Vary"] = "Accept-Encoding"
        return
    names = {name.strip().lower() for name in str(current).split(",")}
    if "accept-encoding" in names or "*" in names:
        return
    headers["Vary"] = f"{str(current).strip().rstrip(',')}, Accept-Encoding"


def _weaken_etag(headers: Any) -> None:
    etag = headers.get("ETag")
    if etag and not str(etag).startswith("W/"):
        headers["ETag"] = "W/" + str(etag)


def _charset(content_type: str | None) -> str:
    """The charset named by ``content_type``, checked to exist (UTF-8 when none)."""
    if not content_type:
        return "utf-8"
    _, params = HeaderElement.parse(content_type)
    for name, value in params.items():
        if name.lower() == "charset" and value:
            try:
                codecs.lookup(value)
            except LookupError:
                raise drupe.HTTPError(
                    500,
                    f"The response's Content-Type names the charset {value!r}, which Python "
                    "does not know, so its text could not be encoded for compression.",
                )
            return value
    return "utf-8"


def _utf8_default(headers: Any, content_type: str | None) -> None:
    """Label text encoded as UTF-8 by default, as the kernel's finalize() would."""
    if (isinstance(content_type, str) and content_type.startswith("text/")
            and "charset" not in content_type):
        headers["Content-Type"] = content_type + ";charset=utf-8"


def _collect(body: Any, content_type: str | None) -> tuple[bytes, bool]:
    """A buffered body as bytes, and whether it held text that had to be encoded."""
    chunks: list[bytes] = []
    charset: str | None = None
    had_text = False
    try:
        for chunk in body:
            if type(chunk) is str:
                if charset is None:
                    charset = _charset(content_type)
                had_text = True
                try:
                    chunks.append(chunk.encode(charset))
                except UnicodeEncodeError as exc:
                    raise drupe.HTTPError(
                        500,
                        f"The response text could not be encoded with its charset {charset!r}: "
                        f"{chunk[exc.start:exc.end]!r} {exc.reason}.",
                    )
            elif chunk:
                chunks.append(chunk if type(chunk) is bytes else bytes(chunk))
    finally:
        close = getattr(body, "close", None)
        if close is not None and type(body) is not list:
            close()
    return b"".join(chunks), had_text


def _may_hold_text(body: Any) -> bool:
    if type(body) is list:
        return any(type(chunk) is str for chunk in body)
    # An iterator's chunks are unknown until sent: the kernel labels streams as text too.
    return True


def gzip(compress_level: int = 5, mime_types: MediaTypes | Iterable[str] = DEFAULT_MIME_TYPES,
         debug: bool = False) -> None:
    """Compress the current response with gzip when the client and its media type allow.

    ``compress_level``: 0 (store only) to 9 (smallest, slowest); ``mime_types``: media-type
    patterns worth compressing (``type/subtype``, ``type/*``, ``type/*+suffix``, ``*/*``);
    ``debug``: log each decision under ``TOOLS.GZIP``. See the module docstring for the
    rules.
    """
    # PERF: the tool's _setup() passes a checked level and compiled patterns; these checks
    # cost two comparisons then (they matter when the callable is used directly).
    check_compress_level(compress_level)
    patterns = mime_types if isinstance(mime_types, MediaTypes) else check_mime_types(mime_types)
    serving = drupe.serving
    request = serving.request
    response = serving.response
    headers = response.headers

    code = _status_code(response.status)
    if code is None or code < 200 or code in _NO_CONTENT:
        if debug:
            _debug(f"No content to compress (status {response.status!r}).")
        return
    coding = headers.get("Content-Encoding")
    if coding and str(coding).strip().lower() != "identity":
        if debug:
            _debug(f"The response is already coded ({coding}); leaving it alone.")
        return
    if getattr(request, "cached", False):
        if debug:
            _debug("The response comes from the cache, coded as it was stored.")
        return

    content_type = headers.get("Content-Type")
    media_type = str(content_type).partition(";")[0].strip().lower() if content_type else ""
    wanted = acceptance(request.headers.get("Accept-Encoding"))

    if code in (206, 304):
        # No content here, but the 200 would have varied. A 304 has lost its Content-Type
        # (HTTPRedirect strips it), so it counts as compressible then.
        if not media_type or patterns.matches(media_type):
            _add_vary(headers)
            if code == 304 and wanted.prefers_gzip:
                _weaken_etag(headers)
        if debug:
            _debug(f"No content to compress in a {code} response.")
        return

    type_matches = bool(media_type) and patterns.matches(media_type)
    if wanted.refuses_everything:
        if 200 <= code < 300:
            if debug:
                _debug(f"Accept-Encoding {request.headers.get('Accept-Encoding')!r} refuses "
                       "identity and gzip: 406.")
            drupe.HTTPError(
                406,
                "This resource can be sent uncompressed (identity) or gzip-compressed, but "
                "the request's Accept-Encoding header refuses both: "
                f"{request.headers.get('Accept-Encoding')!r}.",
            ).set_response()
            _add_vary(response.headers)
        elif debug:
            _debug(f"Accept-Encoding refuses identity and gzip; sending the {code} response as it is.")
        return

    if wanted.gzip_acceptable and not wanted.identity_acceptable:
        compress = True
    elif not type_matches:
        if debug:
            _debug(f"Content-Type {media_type or '(none)'!r} does not match mime_types "
                   f"{list(patterns)!r}.")
        return
    else:
        compress = wanted.prefers_gzip
    _add_vary(headers)
    if not compress:
        if debug:
            if not wanted.present:
                _debug("No Accept-Encoding header: sending identity.")
            else:
                _debug(f"Accept-Encoding {request.headers.get('Accept-Encoding')!r} does not "
                       "prefer gzip.")
        return

    body = response.body
    if response.stream:
        charset = _charset(content_type)
        if _may_hold_text(body):
            _utf8_default(headers, content_type)
        response.body = compress_stream(body, compress_level, charset)
        headers.pop("Content-Length", None)
        if debug:
            _debug(f"Compressing the streamed body at level {compress_level}.")
    else:
        if type(body) is list and not any(body):
            if debug:
                _debug("The body is empty: nothing to compress.")
            return
        content, had_text = _collect(body, content_type)
        if had_text:
            _utf8_default(headers, content_type)
        if not content:
            response.body = [content]
            if debug:
                _debug("The body is empty: nothing to compress.")
            return
        compressed = compress_bytes(content, compress_level)
        response.body = [compressed]
        headers["Content-Length"] = str(len(compressed))
        if debug:
            _debug(f"Compressed {len(content)} bytes to {len(compressed)} at level {compress_level}.")
    headers["Content-Encoding"] = wanted.label
    headers.pop("Accept-Ranges", None)
    _weaken_etag(headers)


class GzipTool(drupe.Tool):
    """The ``gzip`` tool: :func:`gzip` at ``before_finalize``, priority 80.

    Its arguments are checked when a handler is decorated (``@drupe.tools.gzip(...)``),
    when config is validated at engine start (``check_settings``) and when a request to a
    path where it is on is planned; the error names the config key. Checked arguments are
    bound to the hook already compiled, so a request pays nothing for them.
    """

    def __init__(self, callable: Callable[..., Any] = gzip, priority: float = 80) -> None:
        super().__init__("before_finalize", callable, priority=priority)

    def _key(self, argument: str) -> str:
        return f"{self.namespace}.{self.name or 'gzip'}.{argument}"

    def _checked(self, arguments: dict[str, Any]) -> dict[str, Any]:
        checked = dict(arguments)
        if "compress_level" in checked:
            check_compress_level(checked["compress_level"], self._key("compress_level"))
        if "mime_types" in checked:
            checked["mime_types"] = check_mime_types(checked["mime_types"], self._key("mime_types"))
        if "debug" in checked:
            checked["debug"] = bool(checked["debug"])
        return checked

    def check_settings(self, settings: dict[str, Any]) -> None:
        """Validate config values (the kernel calls this at engine start)."""
        self._checked({key: value for key, value in settings.items()
                       if key not in ("on", "priority")})

    def __call__(self, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        """Decorator use; bad arguments fail here, at import time, not on a request."""
        self._checked(kwargs)
        return super().__call__(*args, **kwargs)

    def _setup(self) -> None:
        arguments = self._merged_args()
        priority = arguments.pop("priority", None)
        if priority is None:
            priority = self.priority
        drupe.request.hooks.attach(self.point, self.callable, priority=priority,
                                   **self._checked(arguments))


tool = GzipTool()
"""The instance registered as ``gzip`` in the ``drupe.tools`` entry-point group."""
