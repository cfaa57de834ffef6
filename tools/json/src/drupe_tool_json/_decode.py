"""The JSON request-body processor: read a bounded body, check it, parse it.

:func:`json_processor` is the processor of ``application/json`` request bodies (the
kernel finds it through the ``drupe_body_processors`` hook, and the ``json_in`` tool
installs it for its content types). For one entity it:

1. reads the body, refusing more than ``json_max_bytes`` bytes with ``413`` (the limit is
   checked against Content-Length before anything is read, and again while a chunked
   body arrives); ``request.body.maxbytes`` and the server's ``max_request_body_size``
   still apply on their own, so the smallest limit wins;
2. checks the charset: RFC 8259 says JSON exchanged between systems is UTF-8, so a
   Content-Type naming another charset is a ``400``, and so are bytes that are not UTF-8
   (a UTF-8 byte-order mark is tolerated, as the RFC allows);
3. refuses documents nested deeper than ``json_max_depth`` arrays/objects with ``400``
   *before* parsing (see :func:`nesting_exceeds`) — the standard parser recurses once per
   level, and a body of a million ``[`` would otherwise exhaust the interpreter's
   recursion limit;
4. parses with the standard library's ``json``, refusing ``NaN``/``Infinity`` (not JSON)
   and numbers whose size Python refuses, each with a ``400`` that says what is wrong;
5. stores the result as ``request.json`` and rewinds the entity: ``request.body.read()``
   still returns the raw bytes, so page handlers that read the body themselves (as
   CherryPy applications without ``json_in`` do) keep working.

The limits are attributes of the entity: ``request.body.json_max_bytes`` and
``request.body.json_max_depth`` (config keys of those names set them for a part of the
site; the ``json_in`` tool sets them from its ``max_bytes`` / ``max_depth`` arguments).
``None`` switches a limit off.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

import drupe

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DEPTH",
    "decode_json",
    "json_processor",
    "nesting_exceeds",
    "read_limited",
]

DEFAULT_MAX_BYTES = 1024 * 1024
"""The default size limit of a JSON request body (1 MiB)."""

DEFAULT_MAX_DEPTH = 64
"""The default limit on nested arrays/objects in a JSON request body."""

_UTF8_NAMES = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})
_BOM = b"\xef\xbb\xbf"
_CHUNK = 65536

# A JSON string: the unrolled form (no nested quantifier over the same characters) keeps
# matching linear even for an unterminated string.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_INNERMOST_PAIR = re.compile(r"\[\]|\{\}")


def nesting_exceeds(text: str, max_depth: int) -> bool:
    """True when ``text`` nests arrays/objects more than ``max_depth`` levels deep.

    Strings are blanked out (a ``[`` inside a string is text), everything but brackets is
    dropped, and then each pass removes the innermost ``[]`` / ``{}`` pairs — one pass per
    nesting level, every step a C-speed regex over the skeleton. A document with no more
    opening brackets than ``max_depth`` is accepted without a scan. Unbalanced brackets
    are not judged here: the parser rejects them with a better message.
    """
    if text.count("[") + text.count("{") <= max_depth:
        return False
    skeleton = _NOT_BRACKET.sub("", _STRING.sub("", text))
    for _ in range(max_depth):
        reduced = _INNERMOST_PAIR.sub("", skeleton)
        if not reduced or reduced == skeleton:
            return False
        skeleton = reduced
    return bool(_INNERMOST_PAIR.search(skeleton))


def read_limited(entity: Any, max_bytes: int | None) -> bytes:
    """The whole entity, or a ``413`` as soon as it is known to exceed ``max_bytes``."""
    if max_bytes is None:
        return entity.fp.read()  # type: ignore[no-any-return]
    length = getattr(entity, "length", None)
    if length is not None and length > max_bytes:
        raise _too_large(max_bytes)
    pieces: list[bytes] = []
    size = 0
    while True:
        piece = entity.fp.read(min(_CHUNK, max_bytes + 1 - size))
        if not piece:
            break
        size += len(piece)
        if size > max_bytes:
            raise _too_large(max_bytes)
        pieces.append(piece)
    return b"".join(pieces)


def _too_large(max_bytes: int) -> drupe.HTTPError:
    return drupe.HTTPError(
        413, f"The JSON request body is larger than the limit of {max_bytes} bytes "
             "(tools.json_in.max_bytes / request.body.json_max_bytes).")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


# One decoder for every request (json.loads with arguments builds a new one per call).
_decode = json.JSONDecoder(parse_constant=_refuse_constant).decode


def decode_json(raw: bytes, charset: str | None = None, max_depth: int | None = DEFAULT_MAX_DEPTH) -> Any:
    """Parse ``raw`` (a request body) as JSON, or raise a ``400`` saying why not.

    ``charset`` is the Content-Type's charset parameter, if any.
    """
    if charset is not None and charset.strip().strip('"').lower() not in _UTF8_NAMES:
        raise drupe.HTTPError(
            400, f"JSON request bodies must be UTF-8 encoded; the request declares charset={charset}.")
    if raw.startswith(_BOM):
        raw = raw[len(_BOM):]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise drupe.HTTPError(
            400, f"The JSON request body is not valid UTF-8 (byte {raw[exc.start]:#04x} at "
                 f"position {exc.start}).")
    if not text.strip():
        raise drupe.HTTPError(400, "The JSON request body is empty.")
    if max_depth is not None and nesting_exceeds(text, max_depth):
        raise _too_deep(max_depth)
    try:
        return _decode(text)
    except RecursionError:
        raise _too_deep(max_depth)
    except ValueError as exc:
        # JSONDecodeError is a ValueError; so are NaN/Infinity (above) and integers with
        # more digits than Python's int-conversion limit.
        raise drupe.HTTPError(400, f"Invalid JSON document: {exc}.")


def _too_deep(max_depth: int | None) -> drupe.HTTPError:
    limit = f"more than {max_depth} levels" if max_depth is not None else "too deeply"
    return drupe.HTTPError(
        400, f"The JSON request body nests arrays/objects {limit} deep "
             "(tools.json_in.max_depth / request.body.json_max_depth).")


def json_processor(entity: Any) -> None:
    """Read an ``application/json`` body into ``request.json`` (see the module docstring)."""
    max_bytes = getattr(entity, "json_max_bytes", DEFAULT_MAX_BYTES)
    max_depth = getattr(entity, "json_max_depth", DEFAULT_MAX_DEPTH)
    raw = read_limited(entity, max_bytes)
    content_type = getattr(entity, "content_type", None)
    charset = content_type.params.get("charset") if content_type is not None else None
    drupe.serving.request.json = decode_json(raw, charset, max_depth)
    # The body stays readable for handlers that read it themselves.
    entity.fp = io.BytesIO(raw)
