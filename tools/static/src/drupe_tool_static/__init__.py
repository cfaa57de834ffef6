"""drupe-tool-static: serve files — ``staticdir``, ``staticfile`` and ``serve_file``.

This distribution registers:

* ``staticdir`` and ``staticfile`` in ``drupe.tools`` -> :data:`staticdir_tool` and
  :data:`staticfile_tool`, ``drupe.HandlerTool``\\ s at ``before_handler``, priority 50
  (``tools.staticdir.on = True`` in config loads them);
* ``lib.static`` in ``drupe.compat`` -> :mod:`drupe_tool_static.compat`: ``serve_file``,
  ``serve_download``, ``serve_fileobj`` (CherryPy's ``cherrypy.lib.static``).

``_tools`` maps request paths to files safely; ``_serve`` opens files and builds the
response (headers, body iterators); ``_conditional`` holds the validators and the
RFC 9110 precondition rules; ``_ranges`` reads Range headers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from drupe.lib import lazy_exports

if TYPE_CHECKING:
    from drupe_tool_static._conditional import (
        EntityTag,
        Validators,
        evaluate_preconditions,
        if_range_allows,
    )
    from drupe_tool_static._ranges import (
        DEFAULT_MAX_RANGES,
        parse_ranges,
    )
    from drupe_tool_static._serve import (
        CHUNK_SIZE,
        FileChunks,
        content_disposition,
        guess_content_type,
        open_regular_file,
        serve_download,
        serve_file,
        serve_fileobj,
    )
    from drupe_tool_static._tools import (
        StaticDirTool,
        StaticFileTool,
        staticdir,
        staticdir_tool,
        staticfile,
        staticfile_tool,
    )

# PERF: the hook module (loaded at every boot) imports this package; the tools load only
# when a name is first used.
_WHERE = {
    "EntityTag": "_conditional",
    "Validators": "_conditional",
    "evaluate_preconditions": "_conditional",
    "if_range_allows": "_conditional",
    "DEFAULT_MAX_RANGES": "_ranges",
    "parse_ranges": "_ranges",
    "CHUNK_SIZE": "_serve",
    "FileChunks": "_serve",
    "content_disposition": "_serve",
    "guess_content_type": "_serve",
    "open_regular_file": "_serve",
    "serve_download": "_serve",
    "serve_file": "_serve",
    "serve_fileobj": "_serve",
    "StaticDirTool": "_tools",
    "StaticFileTool": "_tools",
    "staticdir": "_tools",
    "staticdir_tool": "_tools",
    "staticfile": "_tools",
    "staticfile_tool": "_tools",
}

__all__ = sorted(_WHERE)


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, globals())
