"""Conditional requests and freshness: the ``etags`` and ``expires`` tools.

**etags** (``before_finalize``, priority 75) evaluates ``If-Match`` and ``If-None-Match``
against the response's ``ETag`` once the page handler has produced it (RFC 9110 §13.1):

* ``If-Match`` uses the *strong* comparison: both tags strong and equal. ``*`` matches any
  current representation. When no listed tag matches, the answer is ``412``.
* ``If-None-Match`` uses the *weak* comparison: the opaque parts equal, ``W/`` or not.
  When a tag (or ``*``) matches, GET and HEAD get ``304 Not Modified`` (with the ETag);
  other methods get ``412``.
* Both are evaluated only when the response would be a 2xx, If-Match first.

The weak comparison matters with the gzip tool, which runs after this one (priority 80)
and sends the compressed response with the ETag made weak (``W/"x"``): a client revalidating
with ``If-None-Match: W/"x"`` matches the ``"x"`` computed here and gets its 304.

``autotags=True`` makes the tag from the body (a hash of its bytes) when the handler set
none and the status is 200. It is skipped for streamed responses, which it would have to
buffer. CherryPy's warning applies: an automatic tag describes the GET body only.

The tool runs after the handler, so a failed If-Match on a state-changing request answers
412 *after* the handler acted; a handler for PUT/DELETE that must not act on a stale
representation checks the precondition itself before changing anything.

:func:`validate_since` does the same for ``Last-Modified`` with ``If-Unmodified-Since``
(412) and ``If-Modified-Since`` (304 for GET/HEAD), comparing dates rather than strings.

**expires** (``before_finalize``, priority 50) sets ``Expires`` to the response time plus
``secs`` — for ``secs=0`` a date long past plus ``Pragma: no-cache`` and (HTTP/1.1)
``Cache-Control: no-cache, must-revalidate``. Without ``force`` it acts only on responses
a cache could store on its own — those that already carry ``ETag``, ``Last-Modified``,
``Age`` or ``Expires`` — and never replaces a header the response has; with ``force`` it
acts on every response and replaces them. This is what CherryPy's code does (its
docstring says otherwise).
"""

from __future__ import annotations

import datetime
import hashlib
import re
from typing import Any

import drupe
from drupe.lib.httputil import EntityTag, HTTPDate, parse_entity_tags, parse_http_date, valid_status

__all__ = [
    "EntityTag",
    "EtagsTool",
    "ExpiresTool",
    "expires",
    "parse_entity_tags",
    "validate_etags",
    "validate_since",
]

# 28 Jan 2007, CherryPy's "long ago": a date in the past that every cache understands.
EXPIRED = 1169942400.0


def _status_code(status: Any) -> int:
    """The response's status code; 0 for an invalid status (finalize answers that with 500)."""
    try:
        return valid_status(status)[0]
    except (ValueError, TypeError):
        return 0


def validate_etags(autotags: bool = False, debug: bool = False) -> None:
    """Answer If-Match (412) and If-None-Match (304 / 412) from the response's ETag.

    ``autotags``: tag a 200 response from its body when it has no ETag. See the module
    docstring for the comparison rules.
    """
    response = drupe.serving.response
    # The tool runs again when its own 304/412 passes through before_finalize: once is all.
    if "ETag" in vars(response):
        return
    code = _status_code(response.status)
    etag = response.headers.get("ETag")
    if etag:
        if debug:
            drupe.log(f"The response has the ETag {etag}.", "TOOLS.ETAGS")
    elif autotags and code == 200 and not response.stream:
        etag = f'"{hashlib.md5(response.collapse_body(), usedforsecurity=False).hexdigest()}"'
        response.headers["ETag"] = etag
        if debug:
            drupe.log(f"Tagged the response {etag}.", "TOOLS.ETAGS")
    response.ETag = etag

    if not 200 <= code <= 299:
        # RFC 9110 §13.2.1: preconditions only apply to what would be a 2xx.
        return
    request = drupe.serving.request
    current = EntityTag.parse(str(etag)) if etag else None

    if_match = request.headers.get("If-Match")
    if if_match:
        star, tags = parse_entity_tags(if_match)
        matched = star or (current is not None and any(current.strong_match(tag) for tag in tags))
        if debug:
            drupe.log(f"If-Match {if_match!r}: {'matched' if matched else 'failed'}.", "TOOLS.ETAGS")
        if not matched:
            raise drupe.HTTPError(
                412, f"If-Match failed: the current ETag is {etag or '(none)'}, the request "
                     f"asked for {if_match}.")

    if_none_match = request.headers.get("If-None-Match")
    if if_none_match:
        star, tags = parse_entity_tags(if_none_match)
        matched = star or (current is not None and any(current.weak_match(tag) for tag in tags))
        if debug:
            drupe.log(f"If-None-Match {if_none_match!r}: {'matched' if matched else 'no match'}.",
                      "TOOLS.ETAGS")
        if matched:
            if request.method in ("GET", "HEAD"):
                raise drupe.HTTPRedirect([], 304)
            raise drupe.HTTPError(
                412, f"If-None-Match failed: the current ETag {etag or '(any)'} matches "
                     f"{if_none_match}.")


def validate_since() -> None:
    """Answer If-Unmodified-Since (412) and If-Modified-Since (304) from Last-Modified.

    Dates are compared as dates (second precision); a date that cannot be parsed makes
    its header count as absent. If-Modified-Since applies to GET and HEAD only and is
    ignored when the request has If-None-Match (RFC 9110 §13.1.3).
    """
    response = drupe.serving.response
    last_modified = response.headers.get("Last-Modified")
    if not last_modified:
        return
    modified = parse_http_date(str(last_modified))
    if modified is None:
        return
    code = _status_code(response.status)
    request = drupe.serving.request

    since_text = request.headers.get("If-Unmodified-Since")
    if since_text and not request.headers.get("If-Match") and (200 <= code <= 299 or code == 412):
        since = parse_http_date(since_text)
        if since is not None and int(modified) > int(since):
            raise drupe.HTTPError(412, f"The resource was modified after {since_text}.")

    since_text = request.headers.get("If-Modified-Since")
    if (since_text and request.method in ("GET", "HEAD") and not request.headers.get("If-None-Match")
            and (200 <= code <= 299 or code == 304)):
        since = parse_http_date(since_text)
        if since is not None and int(modified) <= int(since):
            raise drupe.HTTPRedirect([], 304)


class EtagsTool(drupe.Tool):
    """The ``etags`` tool: :func:`validate_etags` at ``before_finalize``, priority 75."""

    def __init__(self) -> None:
        super().__init__("before_finalize", validate_etags, name="etags", priority=75)


# -- expires -------------------------------------------------------------------------------


def check_secs(value: Any, key: str = "tools.expires.secs") -> float:
    """``secs`` as seconds: a number or a ``datetime.timedelta``; else a ConfigError."""
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise drupe.ConfigError(f"Config key {key!r}: expected a number of seconds or a "
                            f"datetime.timedelta, not {value!r}.")


def expires(secs: float | datetime.timedelta = 0, force: bool = False, debug: bool = False) -> None:
    """Tell caches how long the response stays fresh (``Expires``; see the module docstring)."""
    seconds = check_secs(secs)
    response = drupe.serving.response
    headers = response.headers
    if not force and not any(name in headers for name in ("ETag", "Last-Modified", "Age", "Expires")):
        if debug:
            drupe.log("The response carries no validator: left alone.", "TOOLS.EXPIRES")
        return
    if seconds == 0:
        if force or "Pragma" not in headers:
            headers["Pragma"] = "no-cache"
        if drupe.serving.request.protocol >= (1, 1) and (force or "Cache-Control" not in headers):
            headers["Cache-Control"] = "no-cache, must-revalidate"
        expiry = HTTPDate(EXPIRED)
    else:
        expiry = HTTPDate(response.time + seconds)
    if force or "Expires" not in headers:
        headers["Expires"] = expiry
    if debug:
        drupe.log(f"Expires: {headers.get('Expires')}", "TOOLS.EXPIRES")


class ExpiresTool(drupe.Tool):
    """The ``expires`` tool: :func:`expires` at ``before_finalize``, priority 50."""

    def __init__(self) -> None:
        super().__init__("before_finalize", expires, name="expires", priority=50)

    def check_settings(self, settings: dict[str, Any]) -> None:
        """``secs`` must be a number or a timedelta."""
        if "secs" in settings:
            check_secs(settings["secs"], f"{self.namespace}.{self.name or 'expires'}.secs")
