"""pluggy hook implementations: the default ``/favicon.ico``.

Registered as ``static`` in the ``drupe.plugins`` entry-point group. As CherryPy does,
every object tree mounted at the site root (script name ``""``) without a
``favicon_ico`` attribute gets one: a ``staticfile`` page handler serving the icon shipped
in this package (drupe's own, a red drupe). An application serves its own icon with
config (``[/favicon.ico] tools.staticfile.on / filename``, documentation section 4.10) or
by defining ``favicon_ico``.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import drupe

__all__ = ["FAVICON", "drupe_app_mounted"]

FAVICON = os.path.join(os.path.dirname(os.path.abspath(__file__)), "favicon.ico")
"""The icon served at ``/favicon.ico`` by default."""


@drupe.hookimpl
def drupe_app_mounted(app: Any) -> None:
    """Give a root mounted at ``""`` the default ``favicon_ico`` handler."""
    root = getattr(app, "root", None)
    if getattr(app, "script_name", None) != "" or root is None or hasattr(root, "favicon_ico"):
        return
    # PERF: imported here, not at boot: only mounting an application needs the tool.
    from drupe_tool_static._tools import staticfile_tool

    # An object that takes no new attributes (__slots__, a builtin) gets no default icon.
    with contextlib.suppress(AttributeError, TypeError):
        root.favicon_ico = staticfile_tool.handler(filename=FAVICON)
