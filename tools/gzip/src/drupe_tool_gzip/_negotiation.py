"""What the client accepts (Accept-Encoding) and which media types are worth coding.

Accept-Encoding is read by RFC 9110 section 12.5.3:

* a coding listed by name gets its own quality value; one not listed gets the quality of
  ``*`` when ``*`` is present, and is unacceptable otherwise — the most specific entry
  wins, so ``gzip;q=0, *`` refuses gzip;
* ``identity`` (no coding) is acceptable unless refused by ``identity;q=0``, or by
  ``*;q=0`` with no ``identity`` entry;
* ``x-gzip`` is the same coding as ``gzip`` (RFC 9110 section 8.4.1.3);
* coding names and parameter names are case-insensitive; a malformed quality value
  (``q=high``, ``q=2``) counts as absent, i.e. 1, and never causes an error.

The result of reading one header value is a small immutable :class:`Acceptance`; the
values clients send are few (every browser sends the same handful), so readings are
memoised per header value.

Media-type patterns (the tool's ``mime_types``) are compiled once into a
:class:`MediaTypes` matcher: ``type/subtype`` matches exactly, ``type/*`` any subtype of
``type``, ``type/*+suffix`` any subtype of ``type`` with that structured-syntax suffix
(``application/*+json`` matches ``application/ld+json``), ``*/*`` everything. Matching
ignores case and the Content-Type's parameters.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator

from drupe.lib.httputil import AcceptElement, header_elements

__all__ = ["Acceptance", "MediaTypes", "acceptance", "media_types"]


class Acceptance:
    """How one Accept-Encoding value rates gzip and identity.

    ``gzip_quality`` is 0 when gzip is unacceptable. ``identity_quality`` is the quality the
    client gave identity (explicitly or through ``*``), 0 when it gave none — identity is
    then still acceptable, just not preferred (``identity_acceptable`` says which).
    ``label`` is the name to send in Content-Encoding: ``x-gzip`` only when the client
    rated that name higher than ``gzip``.
    """

    __slots__ = ("gzip_quality", "identity_acceptable", "identity_quality", "label", "present")

    def __init__(self, present: bool, gzip_quality: float, identity_quality: float,
                 identity_acceptable: bool, label: str) -> None:
        self.present = present
        self.gzip_quality = gzip_quality
        self.identity_quality = identity_quality
        self.identity_acceptable = identity_acceptable
        self.label = label

    @property
    def gzip_acceptable(self) -> bool:
        return self.gzip_quality > 0

    @property
    def prefers_gzip(self) -> bool:
        """True when gzip should be sent (the media type permitting).

        gzip is chosen when acceptable and rated at least as high as identity; on a tie
        (``*``, or both listed without q) the smaller response wins.
        """
        return self.gzip_quality > 0 and self.gzip_quality >= self.identity_quality

    @property
    def refuses_everything(self) -> bool:
        """Neither identity nor gzip is acceptable: only a 406 can honour the request."""
        return not self.identity_acceptable and not self.gzip_quality > 0

    def __repr__(self) -> str:
        return (f"Acceptance(gzip={self.gzip_quality}, identity={self.identity_quality}, "
                f"identity_acceptable={self.identity_acceptable}, label={self.label!r})")


def _quality(element: AcceptElement) -> float:
    params = element.params
    if "q" not in params:
        # Parameter names are case-insensitive, but the header parser only splits on a
        # lowercase "q": rate "gzip;Q=0" as the client meant it.
        for name, raw in params.items():
            if name.lower() == "q":
                return AcceptElement(element.value, {"q": str(raw)}).qvalue
    return element.qvalue


@functools.lru_cache(maxsize=256)
def acceptance(header_value: str | None) -> Acceptance:
    """Read an Accept-Encoding value (``None``: the header is absent)."""
    if header_value is None:
        # No header: the client states no preference; RFC 9110 says to prefer identity.
        return Acceptance(False, 0.0, 0.0, True, "gzip")
    listed: dict[str, float] = {}
    for element in header_elements("Accept-Encoding", header_value):
        if not isinstance(element, AcceptElement):  # pragma: no cover - parser contract
            continue
        coding = element.value.strip().lower()
        if not coding:
            continue
        quality = _quality(element)
        # A coding listed twice: the better rating counts (the RFC does not say).
        listed[coding] = max(quality, listed.get(coding, 0.0))
    star = listed.get("*")

    gzip_named = listed.get("gzip")
    x_gzip_named = listed.get("x-gzip")
    label = "gzip"
    if gzip_named is None and x_gzip_named is None:
        gzip_quality = star if star is not None else 0.0
    elif gzip_named is None or (x_gzip_named is not None and x_gzip_named > gzip_named):
        gzip_quality = x_gzip_named if x_gzip_named is not None else 0.0
        label = "x-gzip"
    else:
        gzip_quality = gzip_named

    identity_named = listed.get("identity")
    if identity_named is not None:
        identity_quality, identity_acceptable = identity_named, identity_named > 0
    elif star is not None:
        identity_quality, identity_acceptable = star, star > 0
    else:
        identity_quality, identity_acceptable = 0.0, True
    return Acceptance(True, gzip_quality, identity_quality, identity_acceptable, label)


# A media-type token (RFC 9110 section 5.6.2) without "*", which only patterns use.
_TOKEN = r"[!#$%&'+.^_`|~0-9a-z-]+"
_PATTERN = re.compile(rf"(?P<type>{_TOKEN}|\*)/(?:(?P<star>\*)(?P<suffix>\+{_TOKEN})?|(?P<subtype>{_TOKEN}))")


class MediaTypes:
    """A compiled set of media-type patterns (see the module docstring).

    Iterating yields the patterns as given. Raises ``ValueError`` naming the first
    malformed pattern.
    """

    __slots__ = ("_everything", "_exact", "_patterns", "_suffixes", "_types")

    def __init__(self, patterns: Iterable[str]) -> None:
        self._patterns: tuple[str, ...] = tuple(patterns)
        self._exact: set[str] = set()
        self._types: set[str] = set()
        self._suffixes: set[tuple[str, str]] = set()
        self._everything = False
        for pattern in self._patterns:
            if not isinstance(pattern, str):
                raise ValueError(f"{pattern!r} is not a media type (a string like 'text/html').")
            normalized = pattern.strip().lower()
            match = _PATTERN.fullmatch(normalized)
            if match is None or (match["type"] == "*" and (match["subtype"] or match["suffix"])):
                raise ValueError(
                    f"{pattern!r} is not a media-type pattern. Use 'type/subtype', 'type/*', "
                    "'type/*+suffix' or '*/*', without parameters."
                )
            if match["type"] == "*":
                self._everything = True
            elif match["subtype"]:
                self._exact.add(normalized)
            elif match["suffix"]:
                self._suffixes.add((match["type"], match["suffix"]))
            else:
                self._types.add(match["type"])

    def matches(self, media_type: str) -> bool:
        """True when ``media_type`` (lowercase, without parameters) matches a pattern."""
        if self._everything or media_type in self._exact:
            return True
        major, slash, minor = media_type.partition("/")
        if not slash:
            return False
        if major in self._types:
            return True
        plus = minor.rfind("+")
        # The structured-syntax suffix is the part after the last "+" (RFC 6838 4.2.8).
        return plus > 0 and (major, minor[plus:]) in self._suffixes

    def __iter__(self) -> Iterator[str]:
        return iter(self._patterns)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MediaTypes):
            return NotImplemented
        return self._patterns == other._patterns

    def __hash__(self) -> int:
        return hash(self._patterns)

    def __repr__(self) -> str:
        return f"MediaTypes({list(self._patterns)!r})"


@functools.lru_cache(maxsize=64)
def _compiled(patterns: tuple[str, ...]) -> MediaTypes:
    return MediaTypes(patterns)


def media_types(value: MediaTypes | str | Iterable[str]) -> MediaTypes:
    """``value`` as a compiled :class:`MediaTypes` (a single string is one pattern).

    Raises ``ValueError`` for a malformed pattern or a value that is not strings.
    """
    if isinstance(value, MediaTypes):
        return value
    if isinstance(value, str):
        return _compiled((value,))
    try:
        patterns = tuple(value)
    except TypeError:
        raise ValueError(f"expected a list of media-type patterns, got {value!r}") from None
    try:
        return _compiled(patterns)
    except TypeError:
        # Unhashable entries (a list inside the list) are not media types either.
        return MediaTypes(patterns)
