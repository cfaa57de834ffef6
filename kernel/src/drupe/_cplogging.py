"""``drupe._cplogging``: CherryPy's module path for the log managers."""

from drupe._log import LazyRfc3339UtcTime, LogManager, WSGIErrorHandler
