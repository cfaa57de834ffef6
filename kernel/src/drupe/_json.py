"""``drupe._json``: the JSON helpers CherryPy keeps in ``cherrypy._json``.

``encode`` / ``decode`` are the standard library's, and ``json_encode`` yields the document
as UTF-8 byte chunks, as a streaming page handler returns it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

_encoder = json.JSONEncoder()

decode = json.JSONDecoder().decode
encode = _encoder.encode


def json_encode(value: Any) -> Iterator[bytes]:
    """``value`` as JSON, in UTF-8 byte chunks."""
    for chunk in _encoder.iterencode(value):
        yield chunk.encode("utf-8")


__all__ = ["decode", "encode", "json_encode"]
