"""Validators of a served file and the conditional-request rules of RFC 9110 §13.

A file gets two validators: ``Last-Modified`` (its modification time, whole seconds) and a
strong ``ETag`` made of its modification time in nanoseconds and its size
(``"<mtime_ns hex>-<size hex>"``), so a changed file gets a new tag even within the same
second. Both are cheap: no hashing, only the ``stat`` the response needs anyway.

:func:`evaluate_preconditions` applies the preconditions in RFC 9110 §13.2.2's order:

1. ``If-Match``: no listed tag matches the current one (strong comparison; ``*`` matches
   any existing file) -> ``412``;
2. otherwise ``If-Unmodified-Since``: the file changed after the date -> ``412``;
3. ``If-None-Match``: a listed tag matches (weak comparison) or ``*`` -> ``304`` for GET
   and HEAD (``412`` for other methods);
4. otherwise ``If-Modified-Since`` (GET and HEAD only): the file did not change since the
   date -> ``304``.

A date that cannot be parsed makes its header count as absent, as the RFC says.
:func:`if_range_allows` decides whether a ``Range`` may be honoured under ``If-Range``:
an entity tag must match strongly (a weak tag never does), a date must equal
``Last-Modified`` exactly; when it does not, the whole file is sent with ``200``.
"""

from __future__ import annotations

import os
import re
from typing import Any

import drupe
from drupe.lib.httputil import EntityTag, HTTPDate, parse_http_date
from drupe.lib.httputil import parse_entity_tags as parse_tags

__all__ = ["EntityTag", "Validators", "evaluate_preconditions", "if_range_allows", "parse_tags"]

class Validators:
    """What a response can be validated with: ``Last-Modified`` seconds and an ETag."""

    __slots__ = ("etag", "last_modified")

    def __init__(self, last_modified: int | None, etag: EntityTag | None) -> None:
        self.last_modified = last_modified
        self.etag = etag

    @classmethod
    def of(cls, status: os.stat_result) -> Validators:
        """The validators of a file, from its ``stat``."""
        return cls(int(status.st_mtime), EntityTag(f"{status.st_mtime_ns:x}-{status.st_size:x}"))

    @classmethod
    def from_headers(cls, headers: Any) -> Validators:
        """The validators a response already carries (``ETag``, ``Last-Modified``)."""
        etag = headers.get("ETag")
        modified = headers.get("Last-Modified")
        seconds = parse_http_date(str(modified)) if modified else None
        return cls(int(seconds) if seconds is not None else None,
                   EntityTag.parse(str(etag)) if etag else None)

    def apply(self, headers: Any) -> None:
        """Set ``Last-Modified`` and ``ETag`` on the response headers."""
        if self.last_modified is not None:
            headers["Last-Modified"] = HTTPDate(self.last_modified)
        if self.etag is not None:
            headers["ETag"] = str(self.etag)


def _date(request: Any, name: str) -> float | None:
    value = request.headers.get(name)
    if not value:
        return None
    return parse_http_date(str(value))


def evaluate_preconditions(validators: Validators, debug: bool = False) -> None:
    """Raise the ``412`` or ``304`` the request's preconditions call for (module docstring)."""
    request = drupe.serving.request
    headers = request.headers
    current = validators.etag
    modified = validators.last_modified

    if_match = headers.get("If-Match")
    if if_match:
        star, tags = parse_tags(str(if_match))
        if not star and (current is None or not any(current.strong_match(tag) for tag in tags)):
            if debug:
                drupe.log(f"If-Match {if_match!r} failed against {current}.", "TOOLS.STATIC")
            raise drupe.HTTPError(412, f"If-Match failed: the file's current ETag is "
                                       f"{current or '(none)'}.")
    elif modified is not None:
        since = _date(request, "If-Unmodified-Since")
        if since is not None and modified > int(since):
            if debug:
                drupe.log("If-Unmodified-Since failed.", "TOOLS.STATIC")
            raise drupe.HTTPError(412, "The file was modified after the If-Unmodified-Since date.")

    if_none_match = headers.get("If-None-Match")
    if if_none_match:
        star, tags = parse_tags(str(if_none_match))
        if star or (current is not None and any(current.weak_match(tag) for tag in tags)):
            if debug:
                drupe.log(f"If-None-Match {if_none_match!r} matched.", "TOOLS.STATIC")
            if request.method in ("GET", "HEAD"):
                raise drupe.HTTPRedirect([], 304)
            raise drupe.HTTPError(412, "If-None-Match failed: the file's ETag matches.")
    elif modified is not None and request.method in ("GET", "HEAD"):
        since = _date(request, "If-Modified-Since")
        if since is not None and modified <= int(since):
            if debug:
                drupe.log("Not modified since the If-Modified-Since date.", "TOOLS.STATIC")
            raise drupe.HTTPRedirect([], 304)


def if_range_allows(validators: Validators | None) -> bool:
    """True when the request has no If-Range, or its validator still matches."""
    request = drupe.serving.request
    value = request.headers.get("If-Range")
    if not value:
        return True
    if validators is None:
        return False
    text = str(value).strip()
    if text.startswith(('"', "W/")):
        tag = EntityTag.parse(text)
        return validators.etag is not None and validators.etag.strong_match(tag)
    date = parse_http_date(text)
    return date is not None and validators.last_modified is not None and int(date) == validators.last_modified
