"""Tools that read request headers or set response headers.

* ``accept`` (``on_start_resource`` 50): content negotiation on ``Accept`` (RFC 9110
  §12.5.1) among the media types a resource can send; 406 when the client accepts none.
  The callable returns the chosen type, so handlers call it directly too
  (``drupe.tools.accept.callable(['text/html', 'text/plain'])``).
* ``allow`` (``on_start_resource`` 50): answers 405 to methods not listed, and sends
  ``Allow`` either way.
* ``autovary`` (``on_start_resource`` 0, plus ``before_finalize`` 95): records which request
  headers the application read and lists them in ``Vary``.
* ``ignore_headers`` (``before_request_body`` 50): removes request headers, for servers
  behind proxies that already acted on them (``Range``).
* ``response_headers`` (``on_start_resource`` 50, failsafe): sets fixed response headers.
* ``referer`` (``before_request_body`` 50): accepts or refuses requests by their
  ``Referer`` header, matched against a regular expression.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import drupe
from drupe.lib import set_vary_header
from drupe.lib.httputil import HeaderMap, valid_status
from drupe_tool_standard._negotiation import best_media_type, preferences, split_list

__all__ = [
    "AutovaryTool",
    "MonitoredHeaderMap",
    "RefererTool",
    "ResponseHeadersTool",
    "accept",
    "allow",
    "autovary",
    "ignore_headers",
    "referer",
    "response_headers",
]


# -- accept ---------------------------------------------------------------------------------


def accept(media: str | Sequence[str] | None = None, debug: bool = False) -> str | None:
    """The media type of ``media`` the client prefers (406 when it accepts none).

    ``media`` is one type or a list, in the server's order of preference; ``None`` (the
    default) tests nothing and returns ``None``. Without an Accept header the first type
    is returned. The response gets ``Vary: Accept``, since its outcome depends on it.
    """
    if not media:
        return None
    offered = [media] if isinstance(media, str) else list(media)
    request = drupe.serving.request
    header = request.headers.get("Accept")
    set_vary_header(drupe.serving.response, "Accept")
    chosen = best_media_type(preferences(header), offered)
    if debug:
        drupe.log(f"Accept {header!r}, offered {offered!r}: chose {chosen!r}.", "TOOLS.ACCEPT")
    if chosen is not None:
        return chosen
    if header is None:
        described = "The request has no Accept header"
    else:
        described = f"The request's Accept header ({header!r}) accepts none of them"
    raise drupe.HTTPError(
        406, f"This resource is available as {', '.join(offered)} only. {described}.")


# -- allow ----------------------------------------------------------------------------------


def allow(methods: str | Sequence[str] | None = None, debug: bool = False) -> None:
    """Answer 405 unless the request method is in ``methods`` (default GET and HEAD).

    Names are case-insensitive; allowing GET allows HEAD. ``Allow`` lists the methods,
    on the 405 and on every other response.
    """
    names = [methods] if isinstance(methods, str) or methods is None else list(methods)
    allowed = [name.upper() for name in names if name]
    if not allowed:
        allowed = ["GET", "HEAD"]
    elif "GET" in allowed and "HEAD" not in allowed:
        allowed.append("HEAD")
    drupe.serving.response.headers["Allow"] = ", ".join(allowed)
    method = drupe.serving.request.method
    if debug:
        drupe.log(f"Method {method!r}, allowed {allowed!r}.", "TOOLS.ALLOW")
    if method not in allowed:
        raise drupe.HTTPError(405, f"This resource does not accept {method} requests; it "
                                   f"accepts {', '.join(allowed)}.")


# -- autovary -------------------------------------------------------------------------------


class MonitoredHeaderMap(HeaderMap):
    """Request headers that remember which names were looked up (``accessed_headers``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.accessed_headers: set[str] = set()
        super().__init__(*args, **kwargs)

    def transform_key(self, key: Any) -> str:  # type: ignore[override]
        name = HeaderMap.transform_key(key)
        self.accessed_headers.add(name)
        return name


DEFAULT_VARY_IGNORE = frozenset({"Content-Disposition", "Content-Length", "Content-Type"})


def _monitor_headers(debug: bool = False) -> None:
    """Replace ``request.headers`` with a copy that records reads."""
    request = drupe.serving.request
    monitored = MonitoredHeaderMap()
    # Copied with dict.update, so that copying is not recorded as reading.
    dict.update(monitored, request.headers)
    request.headers = monitored


def _emit_vary(ignore: Iterable[str] | None = None, debug: bool = False) -> None:
    """Add the request headers read so far to the response's Vary header."""
    headers = getattr(drupe.serving.request, "headers", None)
    accessed = getattr(headers, "accessed_headers", None)
    if accessed is None:
        return
    ignored = DEFAULT_VARY_IGNORE if ignore is None else {
        HeaderMap.transform_key(name) for name in ([ignore] if isinstance(ignore, str) else ignore)}
    response_headers = drupe.serving.response.headers
    existing = [name for name in split_list(str(response_headers.get("Vary") or "")) if name]
    if "*" in existing:
        return
    names = {HeaderMap.transform_key(name) for name in existing} | set(accessed)
    names -= ignored
    if debug:
        drupe.log(f"Request headers read: {sorted(accessed)!r}", "TOOLS.AUTOVARY")
    if names:
        response_headers["Vary"] = ", ".join(sorted(names))


def autovary(ignore: Iterable[str] | None = None, debug: bool = False) -> None:
    """Record the request headers read from now on and list them in Vary at the end.

    ``ignore``: header names never listed (default Content-Disposition, Content-Length and
    Content-Type). Used as a hook, it attaches the Vary writer for this request itself
    (``before_finalize``, priority 95); the tool plans both hooks instead.
    """
    _monitor_headers(debug)
    drupe.serving.request.hooks.attach("before_finalize", _emit_vary, priority=95,
                                       ignore=ignore, debug=debug)


class AutovaryTool(drupe.Tool):
    """The ``autovary`` tool: ``on_start_resource`` 0 and ``before_finalize`` 95."""

    def __init__(self) -> None:
        super().__init__("on_start_resource", autovary, name="autovary", priority=0)

    def _setup(self) -> None:
        arguments = self._merged_args()
        priority = arguments.pop("priority", None)
        debug = bool(arguments.get("debug", False))
        hooks = drupe.request.hooks
        hooks.attach(self.point, _monitor_headers,
                     priority=self.priority if priority is None else priority, debug=debug)
        hooks.attach("before_finalize", _emit_vary, priority=95, ignore=arguments.get("ignore"),
                     debug=debug)


# -- ignore_headers -------------------------------------------------------------------------


def ignore_headers(headers: str | Iterable[str] = ("Range",), debug: bool = False) -> None:
    """Remove the named request headers (default: ``Range``)."""
    request_headers = drupe.serving.request.headers
    for name in [headers] if isinstance(headers, str) else headers:
        if name in request_headers:
            if debug:
                drupe.log(f"Ignoring the request header {name!r}.", "TOOLS.IGNORE_HEADERS")
            del request_headers[name]


# -- response_headers -----------------------------------------------------------------------


def _header_pairs(headers: Any) -> list[tuple[str, Any]]:
    if headers is None:
        return []
    if isinstance(headers, Mapping):
        return list(headers.items())
    pairs = []
    for item in headers:
        if not isinstance(item, (tuple, list)) or len(item) != 2 or not isinstance(item[0], str):
            raise ValueError(f"expected (name, value) pairs, got {item!r}")
        pairs.append((item[0], item[1]))
    return pairs


def response_headers(headers: Any = None, debug: bool = False) -> None:
    """Set the given response headers: a list of ``(name, value)`` pairs (or a mapping)."""
    if debug:
        drupe.log(f"Setting response headers: {headers!r}", "TOOLS.RESPONSE_HEADERS")
    target = drupe.serving.response.headers
    for name, value in _header_pairs(headers):
        target[name] = value


# Set even when an earlier hook of the same point failed: an error page gets them too.
response_headers.failsafe = True  # type: ignore[attr-defined]


class ResponseHeadersTool(drupe.Tool):
    """The ``response_headers`` tool: failsafe, ``on_start_resource`` 50."""

    def __init__(self) -> None:
        super().__init__("on_start_resource", response_headers, name="response_headers", priority=50)

    def check_settings(self, settings: dict[str, Any]) -> None:
        """``headers`` must be (name, value) pairs or a mapping, with safe values."""
        if "headers" not in settings:
            return
        key = f"{self.namespace}.{self.name or 'response_headers'}.headers"
        try:
            probe = HeaderMap()
            for name, value in _header_pairs(settings["headers"]):
                probe[name] = value
        except (TypeError, ValueError) as exc:
            raise drupe.ConfigError(f"Config key {key!r}: {exc}.")


# -- referer --------------------------------------------------------------------------------


def referer(pattern: str, accept: bool = True, accept_missing: bool = False, error: int = 403,
            message: str = "Forbidden Referer header.", debug: bool = False) -> None:
    """Refuse the request (``error``, ``message``) unless its Referer suits ``pattern``.

    ``pattern`` is a regular expression matched at the start of the header. With
    ``accept=True`` the Referer must match, with ``accept=False`` it must not.
    ``accept_missing`` lets requests without a Referer through.
    """
    value = drupe.serving.request.headers.get("Referer")
    if value is None:
        if debug:
            drupe.log("No Referer header.", "TOOLS.REFERER")
        if accept_missing:
            return
    else:
        matches = re.match(pattern, value) is not None
        if debug:
            drupe.log(f"Referer {value!r} {'matches' if matches else 'does not match'} {pattern!r}.",
                      "TOOLS.REFERER")
        if matches == bool(accept):
            return
    raise drupe.HTTPError(error, message)


class RefererTool(drupe.Tool):
    """The ``referer`` tool: :func:`referer` at ``before_request_body``, priority 50."""

    def __init__(self) -> None:
        super().__init__("before_request_body", referer, name="referer", priority=50)

    def check_settings(self, settings: dict[str, Any]) -> None:
        """``pattern`` must compile; ``error`` must be a 4xx/5xx status."""
        prefix = f"{self.namespace}.{self.name or 'referer'}."
        if "pattern" in settings:
            try:
                re.compile(settings["pattern"])
            except (re.error, TypeError) as exc:
                raise drupe.ConfigError(f"Config key {prefix + 'pattern'!r}: not a regular "
                                        f"expression ({exc}).")
        if "error" in settings:
            try:
                code = valid_status(settings["error"])[0]
            except (ValueError, TypeError):
                code = 0
            if not 400 <= code <= 599:
                raise drupe.ConfigError(f"Config key {prefix + 'error'!r}: expected an error "
                                        f"status (400 to 599), not {settings['error']!r}.")

    def _setup(self) -> None:
        arguments = self._merged_args()
        if "pattern" not in arguments:
            raise drupe.ConfigError(
                f"Config key '{self.namespace}.{self.name or 'referer'}.pattern' is required "
                "when the referer tool is on: the regular expression the Referer is matched "
                "against.")
        super()._setup()
