"""``drupe._cpserver``: CherryPy's module path for ``Server``."""

from drupe._server import Server, ServerAdapter
