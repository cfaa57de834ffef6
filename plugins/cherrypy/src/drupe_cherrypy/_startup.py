"""Run at interpreter start by ``drupe_cherrypy_alias.pth``: ``DRUPE_CHERRYPY=1`` turns the alias on.

Any other value (or none) leaves the interpreter untouched. ``DRUPE_CHERRYPY_REAL``
(``cherrypy.NAME=PATH`` entries separated by ``os.pathsep``) names packages loaded from
their real files, as ``install(real=...)`` does. A failure is printed, not raised: a .pth
file that raises breaks every Python command in the environment.
"""

from __future__ import annotations

import os
import sys

if os.environ.get("DRUPE_CHERRYPY", "").strip().lower() in ("1", "true", "yes", "on"):
    try:
        import drupe_cherrypy

        drupe_cherrypy.install(drupe_cherrypy.parse_real(os.environ.get("DRUPE_CHERRYPY_REAL", "")))
    except (ImportError, ValueError) as exc:
        print(f"DRUPE_CHERRYPY is set, but the alias is off: {exc}", file=sys.stderr)
