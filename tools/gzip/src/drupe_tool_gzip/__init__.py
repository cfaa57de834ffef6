"""drupe-tool-gzip: the ``gzip`` tool and the gzip part of ``drupe.lib.encoding``.

This distribution registers two entry points:

* ``gzip`` in ``drupe.tools`` -> :data:`tool`, a :class:`GzipTool` (a ``drupe.Tool`` at
  ``before_finalize``, priority 80). ``tools.gzip.on = True`` in config, or
  ``@drupe.tools.gzip()`` on a page handler, loads it.
* ``lib.encoding`` in ``drupe.compat`` -> :mod:`drupe_tool_gzip.compat`, which gives
  ``drupe.lib.encoding`` (CherryPy's ``cherrypy.lib.encoding``) its ``gzip``, ``compress``
  and ``decompress``.

The decision rules live in ``_tool`` (what to compress and which headers change),
``_negotiation`` (Accept-Encoding and media-type patterns) and ``_codec`` (the bytes).
"""

from __future__ import annotations

from drupe_tool_gzip._codec import compress, compress_bytes, compress_stream, decompress
from drupe_tool_gzip._negotiation import Acceptance, MediaTypes, acceptance, media_types
from drupe_tool_gzip._tool import DEFAULT_MIME_TYPES, GzipTool, gzip, tool

__all__ = [
    "DEFAULT_MIME_TYPES",
    "Acceptance",
    "GzipTool",
    "MediaTypes",
    "acceptance",
    "compress",
    "compress_bytes",
    "compress_stream",
    "decompress",
    "gzip",
    "media_types",
    "tool",
]
