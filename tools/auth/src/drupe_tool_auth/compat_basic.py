"""The names this distribution gives ``drupe.lib.auth_basic`` (CherryPy's ``lib.auth_basic``).

Registered as ``lib.auth_basic`` in the ``drupe.compat`` entry-point group, so
``from drupe.lib import auth_basic`` followed by ``auth_basic.checkpassword_dict(...)``
works as the documentation shows.
"""

from drupe_tool_auth._basic import basic_auth, checkpassword_dict

__all__ = ["basic_auth", "checkpassword_dict"]
