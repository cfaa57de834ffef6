"""``drupe.lib.xmlrpcutil``: CherryPy's ``cherrypy.lib.xmlrpcutil``, provided by a plugin.

The names of this module come from the distributions registering ``lib.xmlrpcutil`` in
the ``drupe.compat`` entry-point group (see ``drupe._compat``).
"""

from drupe._compat import facade

__getattr__ = facade(__name__, "lib.xmlrpcutil", globals())
