"""``drupe.lib.static``: the names of CherryPy's ``cherrypy.lib.static``.

Registered as ``lib.static`` in the ``drupe.compat`` entry-point group, so
``from drupe.lib.static import serve_file`` (``cherrypy.lib.static`` after
``import drupe as cherrypy``) resolves here: ``serve_file``, ``serve_download``,
``serve_fileobj``, and the tools' callables ``staticdir`` and ``staticfile``.
"""

from __future__ import annotations

import mimetypes

from drupe_tool_static._serve import serve_download, serve_file, serve_fileobj
from drupe_tool_static._tools import staticdir, staticfile

__all__ = ["mimetypes", "serve_download", "serve_file", "serve_fileobj", "staticdir", "staticfile"]
