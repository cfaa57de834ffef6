"""``drupe.process``: the engine bus and its plugins (CherryPy's ``cherrypy.process``).

``drupe.process.bus`` is ``drupe.engine``. ``drupe.process.wspbus`` holds the bus classes,
``drupe.process.plugins`` the plugin base class (and, through drupe-process, the engine
plugins), ``drupe.process.servers`` the server adapter.
"""

from drupe._engine import engine as bus
from drupe.process import plugins, servers, wspbus

__all__ = ["bus", "plugins", "servers", "wspbus"]
