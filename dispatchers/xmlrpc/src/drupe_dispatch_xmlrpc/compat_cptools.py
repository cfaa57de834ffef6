"""``drupe._cptools.XMLRPCController``: CherryPy's path for the XML-RPC controller.

Registered as ``_cptools`` in the ``drupe.compat`` group (other distributions add their
own tool classes to that module).
"""

from drupe_dispatch_xmlrpc import XMLRPCController

__all__ = ["XMLRPCController"]
