"""Reading ``Accept`` and ``Accept-Charset`` (RFC 9110 sections 12.4 and 12.5).

Both headers are comma-separated lists of preferences, each a name (a media range or a
charset) with optional parameters, among which the *quality value* ``q`` (0 to 1, at most
three decimals) says how much the client wants it; ``q=0`` means "not acceptable". The
rules applied here:

* names and parameter names are case-insensitive;
* the first ``q`` parameter separates a media range's own parameters from accept
  extensions, which are ignored;
* a malformed quality value (``q=high``, ``q=2``, ``q=``) counts as absent, i.e. 1: a
  recipient may ignore what it cannot parse, and no header value ever causes an error;
* the most specific entry wins: ``text/html;q=0, text/*`` refuses ``text/html`` but
  accepts ``text/plain``, and ``utf-8;q=0, *`` refuses UTF-8 but accepts any other
  charset. A name listed twice counts with its first entry.

A parsed header is an immutable tuple of :class:`Preference`. Clients send few distinct
values (every browser sends the same handful), so parses are memoised per header value
in a bounded cache.
"""

from __future__ import annotations

import codecs
import functools
import re
from collections.abc import Sequence

from drupe.lib.httputil import split_outside_quotes

__all__ = [
    "MediaRange",
    "Preference",
    "best_media_type",
    "canonical_charset",
    "charset_quality",
    "preferences",
    "split_list",
]

_QUALITY = re.compile(r"(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)")


class Preference:
    """One entry of an Accept-* header: ``name`` (lower case), ``quality``, ``position``.

    ``params`` holds the entry's own parameters (before ``q``), names in lower case.
    """

    __slots__ = ("name", "params", "position", "quality")

    def __init__(self, name: str, quality: float, position: int,
                 params: tuple[tuple[str, str], ...] = ()) -> None:
        self.name = name
        self.quality = quality
        self.position = position
        self.params = params

    def __repr__(self) -> str:
        params = "".join(f";{key}={value}" for key, value in self.params)
        return f"Preference({self.name}{params};q={self.quality:g})"


def split_list(value: str, separator: str = ",") -> list[str]:
    """``value`` split on ``separator`` outside double-quoted strings; items stripped."""
    return [item.strip() for item in split_outside_quotes(value, separator)]


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


@functools.lru_cache(maxsize=256)
def preferences(header: str | None) -> tuple[Preference, ...]:
    """The entries of an Accept-* header value, in the order the client sent them.

    ``None`` and a value without any entry give ``()``; callers decide what an absent
    header means (for both headers: anything is acceptable).
    """
    if not header:
        return ()
    result: list[Preference] = []
    for position, item in enumerate(element for element in split_list(header) if element):
        parts = split_list(item, ";")
        name = parts[0].strip().lower()
        if not name:
            continue
        quality = 1.0
        params: list[tuple[str, str]] = []
        for part in parts[1:]:
            key, _, raw = part.partition("=")
            key = key.strip().lower()
            if key == "q":
                text = raw.strip()
                # A malformed value counts as absent (1); anything after q is an accept
                # extension, which nobody uses: ignore it.
                quality = float(text) if _QUALITY.fullmatch(text) else 1.0
                break
            if key:
                params.append((key, _unquote(raw.strip())))
        result.append(Preference(name, quality, position, tuple(params)))
    return tuple(result)


# -- Accept-Charset -------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def canonical_charset(name: str) -> str:
    """Python's name for charset ``name`` (``UTF8`` -> ``utf-8``), or ``name`` lowered.

    Charsets are compared by this name, so that a client's ``utf8;q=0`` refuses the
    server's ``utf-8``. Names Python does not know stay as they are (lower case).
    """
    try:
        return codecs.lookup(name).name
    except LookupError:
        return name.lower()


def charset_quality(entries: Sequence[Preference], charset: str) -> float:
    """How much a client that sent ``entries`` wants ``charset`` (0: not at all).

    The entry naming the charset wins over ``*``; a charset neither listed nor covered by
    ``*`` is unacceptable. An absent header (no entries) accepts every charset.
    """
    if not entries:
        return 1.0
    wanted = canonical_charset(charset)
    star: float | None = None
    for entry in entries:
        if entry.name == "*":
            if star is None:
                star = entry.quality
        elif canonical_charset(entry.name) == wanted:
            return entry.quality
    return star if star is not None else 0.0


# -- Accept ---------------------------------------------------------------------------


class MediaRange:
    """A media type the server can send, parsed once: ``type/subtype`` and parameters."""

    __slots__ = ("kind", "params", "subtype", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        parts = split_list(text, ";")
        kind, _, subtype = parts[0].strip().lower().partition("/")
        self.kind = kind
        self.subtype = subtype
        params: dict[str, str] = {}
        for part in parts[1:]:
            key, _, raw = part.partition("=")
            if key.strip():
                params[key.strip().lower()] = _unquote(raw.strip()).lower()
        self.params = params

    def specificity(self, entry: Preference) -> int:
        """How specifically ``entry`` names this type: 0 (not at all) to 3 + parameters."""
        kind, _, subtype = entry.name.partition("/")
        if kind == "*":
            return 1 if subtype in ("*", "") else 0
        if kind != self.kind:
            return 0
        if subtype == "*":
            return 2
        if subtype != self.subtype:
            return 0
        for key, value in entry.params:
            if self.params.get(key) != value.lower():
                return 0
        return 3 + len(entry.params)


def best_media_type(entries: Sequence[Preference], media: Sequence[str]) -> str | None:
    """The element of ``media`` the client prefers, or ``None`` when it accepts none.

    Each offered type gets the quality of the most specific range matching it. The
    highest quality wins; among equals, the type whose range the client listed first,
    then the type listed first in ``media``. Without entries (no header) the first
    offered type is chosen.
    """
    if not media:
        return None
    if not entries:
        return media[0]
    best: tuple[float, int, int] | None = None
    chosen: str | None = None
    for index, text in enumerate(media):
        offered = MediaRange(text)
        match: Preference | None = None
        match_specificity = 0
        for entry in entries:
            specificity = offered.specificity(entry)
            if specificity > match_specificity:
                match, match_specificity = entry, specificity
        if match is None or match.quality <= 0:
            continue
        rank = (-match.quality, match.position, index)
        if best is None or rank < best:
            best, chosen = rank, text
    return chosen
