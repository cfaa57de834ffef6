"""``drupe._cpnative_server``: CherryPy's module path, provided by the HTTP server plugin.

The names come from distributions registering ``_cpnative_server`` in the ``drupe.compat``
entry-point group (drupe-server-cheroot).
"""

from drupe._compat import facade

__getattr__ = facade(__name__, "_cpnative_server", globals())
