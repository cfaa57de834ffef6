"""``drupe.lib.static``: CherryPy's ``cherrypy.lib.static``, provided by a plugin.

The names of this module come from the distributions registering ``lib.static`` in
the ``drupe.compat`` entry-point group (see ``drupe._compat``).
"""

from drupe._compat import facade

__getattr__ = facade(__name__, "lib.static", globals())
