"""drupe-tool-json: the ``json_in`` and ``json_out`` tools and the JSON body processor.

This distribution registers:

* ``json_in`` and ``json_out`` in ``drupe.tools`` -> :data:`json_in_tool` (a
  ``drupe.Tool`` at ``before_request_body``, priority 30) and :data:`json_out_tool` (at
  ``before_handler``, priority 30). ``tools.json_in.on = True`` in config, or
  ``@drupe.tools.json_in()`` on a page handler, loads them.
* ``json`` in ``drupe.plugins`` -> :mod:`drupe_tool_json.hooks`, whose
  ``drupe_body_processors`` makes :func:`json_processor` the default processor of
  ``application/json`` request bodies.
* ``lib.jsontools`` in ``drupe.compat`` -> :mod:`drupe_tool_json.compat`, the names of
  CherryPy's ``cherrypy.lib.jsontools``.

``_decode`` reads, checks and parses request bodies; ``_tools`` holds the tools.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from drupe.lib import lazy_exports

if TYPE_CHECKING:
    from drupe_tool_json._decode import (
        DEFAULT_MAX_BYTES,
        DEFAULT_MAX_DEPTH,
        decode_json,
        json_processor,
        nesting_exceeds,
        read_limited,
    )
    from drupe_tool_json._tools import (
        DEFAULT_CONTENT_TYPES,
        JsonInTool,
        JsonOutTool,
        encode,
        json_handler,
        json_in,
        json_in_tool,
        json_out,
        json_out_tool,
    )

# PERF: the hook module (loaded at every boot) imports this package; the tools load only
# when a name is first used.
_WHERE = {
    "DEFAULT_MAX_BYTES": "_decode",
    "DEFAULT_MAX_DEPTH": "_decode",
    "decode_json": "_decode",
    "json_processor": "_decode",
    "nesting_exceeds": "_decode",
    "read_limited": "_decode",
    "DEFAULT_CONTENT_TYPES": "_tools",
    "JsonInTool": "_tools",
    "JsonOutTool": "_tools",
    "encode": "_tools",
    "json_handler": "_tools",
    "json_in": "_tools",
    "json_in_tool": "_tools",
    "json_out": "_tools",
    "json_out_tool": "_tools",
}

__all__ = sorted(_WHERE)


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, globals())
