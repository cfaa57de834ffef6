"""drupe-session-file: file-backed sessions (``tools.sessions.storage_type = 'file'``).

Registers ``file`` in the ``drupe.sessions`` entry-point group -> :class:`FileSession`,
which ``drupe.lib.sessions.FileSession`` (CherryPy's ``cherrypy.lib.sessions.FileSession``)
also resolves to. See ``_file`` for the layout of the storage directory and the locking.
"""

from __future__ import annotations

from drupe_session_file._file import MAX_FILE_SIZE, FileSession

__all__ = ["MAX_FILE_SIZE", "FileSession"]
