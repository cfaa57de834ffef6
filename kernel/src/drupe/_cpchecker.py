"""``drupe._cpchecker``: CherryPy's module path for the checker."""

from drupe._checker import Checker
