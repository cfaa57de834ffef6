"""``drupe.test.helper``: CherryPy's ``CPWebCase`` and friends, from drupe-testing.

The names come from the distribution registering ``test.helper`` in the ``drupe.compat``
entry-point group (drupe-testing).
"""

from drupe._compat import facade

__getattr__ = facade(__name__, "test.helper", globals())
