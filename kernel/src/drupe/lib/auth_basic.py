"""``drupe.lib.auth_basic``: CherryPy's ``cherrypy.lib.auth_basic``, provided by a plugin.

The names of this module come from the distributions registering ``lib.auth_basic`` in
the ``drupe.compat`` entry-point group (see ``drupe._compat``).
"""

from drupe._compat import facade

__getattr__ = facade(__name__, "lib.auth_basic", globals())
