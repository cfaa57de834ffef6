"""``drupe.process.plugins``: engine plugins.

``SimplePlugin`` is the kernel's; the plugins themselves (``SignalHandler``,
``Autoreloader``, ``ThreadManager``, ``Monitor``, ``BackgroundTask``, ``Daemonizer``,
``PIDFile``, ``DropPrivileges``, ...) come from the distributions registering
``process.plugins`` in the ``drupe.compat`` entry-point group (drupe-process).
"""

from drupe._bus import SimplePlugin
from drupe._compat import facade

__all__ = ["SimplePlugin"]

__getattr__ = facade(__name__, "process.plugins", globals())
