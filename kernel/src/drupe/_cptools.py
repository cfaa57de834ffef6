"""``drupe._cptools``: CherryPy's module path for the tool classes.

``Tool``, ``HandlerTool``, ``HandlerWrapperTool``, ``ErrorTool`` and ``Toolbox`` are the
kernel's; tool classes that belong to plugins (``SessionTool``, ``CachingTool``,
``XMLRPCController``, ``SessionAuth``) come from distributions registering ``_cptools``
in the ``drupe.compat`` group.
"""

from drupe._compat import facade
from drupe._tools import ErrorTool, HandlerTool, HandlerWrapperTool, Tool, Toolbox

__getattr__ = facade(__name__, "_cptools", globals())
