"""``drupe.lib.headers``: ``parse_header`` for Content-Type / Content-Disposition values."""

from __future__ import annotations

from drupe._httputil import HeaderElement


def parse_header(line: str) -> tuple[str, dict[str, str]]:
    """``'text/html; charset=utf-8'`` -> ``('text/html', {'charset': 'utf-8'})``."""
    value, params = HeaderElement.parse(line)
    return value, {key.lower(): val for key, val in params.items()}
