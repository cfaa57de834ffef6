"""``drupe.lib.jsontools``: the names of CherryPy's ``cherrypy.lib.jsontools``.

Registered as ``lib.jsontools`` in the ``drupe.compat`` entry-point group, so
``from drupe.lib.jsontools import json_handler`` (or ``cherrypy.lib.jsontools`` after
``import drupe as cherrypy``) resolves here.

| name | |
|---|---|
| ``json_processor(entity)`` | the body processor: ``request.json`` from the entity |
| ``json_in(content_type, force, debug, processor, max_bytes, max_depth)`` | the tool's callable |
| ``json_handler(*args, **kwargs)`` | calls ``request._json_inner_handler`` and encodes its value |
| ``json_out(content_type, debug, handler)`` | the tool's callable |
"""

from __future__ import annotations

from drupe_tool_json._decode import json_processor
from drupe_tool_json._tools import json_handler, json_in, json_out

__all__ = ["json_handler", "json_in", "json_out", "json_processor"]
