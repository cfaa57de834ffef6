"""``drupe._cptree``: CherryPy's module path for ``Application`` and ``Tree``."""

from drupe._tree import Application, Tree
