"""pluggy hook implementations: the JSON request-body processor, for every request.

Registered as ``json`` in the ``drupe.plugins`` entry-point group. At boot the kernel
calls ``drupe_body_processors`` and adds :func:`~drupe_tool_json.json_processor` as the
default processor of ``application/json`` bodies: ``request.json`` is then set for such
bodies even where ``json_in`` is off, and the raw bytes stay readable through
``request.body.read()`` (see ``_decode``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import drupe

__all__ = ["drupe_body_processors", "json_processor"]


def json_processor(entity: Any) -> None:
    """The JSON processor (``drupe_tool_json.json_processor``), imported on first use.

    PERF: this module is loaded at every boot; the parsing code only when a JSON body
    arrives.
    """
    from drupe_tool_json._decode import json_processor as process

    process(entity)


@drupe.hookimpl
def drupe_body_processors() -> dict[str, Callable[[Any], None]]:
    """``application/json`` -> the JSON processor."""
    return {"application/json": json_processor}
