"""Reading ``Range: bytes=...`` (RFC 9110 §14.1.2) without letting a client amplify a file.

:func:`parse_ranges` answers one of three things:

* ``None`` — serve the whole file with ``200``: the header is absent, names another unit,
  is malformed (``bytes=abc``, ``bytes=5-2``, ``bytes=``), lists more than
  ``max_ranges`` ranges, or lists ranges that overlap. RFC 9110 lets a server ignore a
  Range it does not want to honour; overlapping and very many ranges are how a small
  request makes a server send one file many times over (CVE-2011-3192, "Apache
  Killer"), so those are ignored rather than answered — the client gets each byte once;
* ``[]`` — no range is satisfiable (every first byte lies beyond the end): ``416``;
* a list of ``(start, stop)`` pairs, ``stop`` exclusive, in the order the client asked —
  ``206`` with one range, ``multipart/byteranges`` with several.

Unsatisfiable ranges among satisfiable ones are dropped. A suffix range longer than the
file (``bytes=-99999``) means the whole file; a last byte beyond the end is clamped.
"""

from __future__ import annotations

import itertools

__all__ = ["DEFAULT_MAX_RANGES", "parse_ranges"]

DEFAULT_MAX_RANGES = 16
"""How many ranges one request may ask for before its Range header is ignored."""


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def parse_ranges(header: str | None, length: int,
                 max_ranges: int = DEFAULT_MAX_RANGES) -> list[tuple[int, int]] | None:
    """The byte ranges ``header`` asks of a ``length``-byte file (see the module docstring)."""
    if not header:
        return None
    unit, equals, spec = header.partition("=")
    if not equals or unit.strip().lower() != "bytes":
        return None
    pieces = [piece.strip() for piece in spec.split(",")]
    # Empty list elements are allowed by the list syntax, but there must be a range.
    pieces = [piece for piece in pieces if piece]
    if not pieces or len(pieces) > max_ranges:
        return None
    ranges: list[tuple[int, int]] = []
    for piece in pieces:
        first, dash, last = piece.partition("-")
        first, last = first.strip(), last.strip()
        if not dash:
            return None
        if first:
            if not _digits(first) or (last and not _digits(last)):
                return None
            start = int(first)
            if last:
                end = int(last)
                if end < start:
                    return None
                stop = min(end + 1, length)
            else:
                stop = length
            if start >= length:
                continue
        else:
            if not _digits(last):
                return None
            suffix = int(last)
            if suffix == 0:
                continue
            start, stop = max(length - suffix, 0), length
        ranges.append((start, stop))
    if len(ranges) > 1:
        ordered = sorted(ranges)
        for (_, previous_stop), (next_start, _) in itertools.pairwise(ordered):
            if next_start < previous_stop:
                return None
    return ranges
