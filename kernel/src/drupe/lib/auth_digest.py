"""``drupe.lib.auth_digest``: CherryPy's ``cherrypy.lib.auth_digest``, provided by a plugin.

The names of this module come from the distributions registering ``lib.auth_digest`` in
the ``drupe.compat`` entry-point group (see ``drupe._compat``).
"""

from drupe._compat import facade

__getattr__ = facade(__name__, "lib.auth_digest", globals())
