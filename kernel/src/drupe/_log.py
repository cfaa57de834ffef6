"""Logging: one error log and one access log per application, on the ``logging`` module.

``drupe.log`` is the global :class:`LogManager`; each mounted application has its own
(``app.log``). ``drupe.log("msg")`` writes to the error log of the application serving the
current request, or to the global one outside a request; ``drupe.log.access()`` writes one
line per request in CherryPy's access format (the Apache combined log format)::

    127.0.0.1 - - [21/Nov/2026:10:00:00] "GET / HTTP/1.1" 200 12 "" "curl/8.5"

The loggers are named ``cherrypy.error`` / ``cherrypy.access`` (``cherrypy.error.<appid>``
for applications) so that logging configurations written for CherryPy keep working;
``logger_root`` changes the first segment. ``log.screen``, ``log.error_file`` and
``log.access_file`` add or remove the built-in handlers; anything else is ordinary
``logging`` configuration.

Values written to the access log are escaped (quotes, backslashes and non-printable
characters), so a client cannot forge log lines through its request line or headers.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from drupe._serving import serving

__all__ = ["LazyRfc3339UtcTime", "LogManager", "WSGIErrorHandler", "log"]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_time_cache: tuple[int, str] = (-1, "")


def _log_time() -> str:
    """``[21/Nov/2026:10:00:00]`` in local time, cached per second."""
    global _time_cache
    now = time.time()
    second = int(now)
    if _time_cache[0] == second:
        return _time_cache[1]
    import datetime

    moment = datetime.datetime.fromtimestamp(second)
    text = (f"[{moment.day:02d}/{_MONTHS[moment.month - 1]}/{moment.year:04d}:"
            f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}]")
    _time_cache = (second, text)
    return text


class LazyRfc3339UtcTime:
    """The current UTC time as RFC 3339 text (``2026-11-21T10:00:00.250000Z``), made by ``str()``.

    The ``{z}`` atom of the access-log format. The fraction of a second is left out when it
    is zero. ``drupe._cplogging.LazyRfc3339UtcTime`` (CherryPy's name) may be replaced to
    change how ``{z}`` renders.
    """

    def __str__(self) -> str:
        import datetime

        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        return now.isoformat("T") + "Z"


def _utc_now() -> Any:
    compat = sys.modules.get("drupe._cplogging")
    factory = getattr(compat, "LazyRfc3339UtcTime", LazyRfc3339UtcTime)
    return factory()


def _escape(value: Any) -> str:
    """Access-log text: printable ASCII as is; anything else as Python escapes of its UTF-8.

    The line stays plain ASCII whatever the client sent, so it cannot carry terminal
    control sequences, forged line breaks or look-alike characters into the log.
    """
    text = value if isinstance(value, str) else str(value)
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return text
    escaped = repr(text.encode("utf-8"))[2:-1]
    # repr escapes backslashes and non-printables; quotes are left to us.
    return escaped.replace('"', '\\"')


_fields_cache: dict[str, tuple[str, ...]] = {}


def _format_fields(fmt: str) -> tuple[str, ...]:
    """The atom names an access-log format uses (``{h} {s}`` -> ``("h", "s")``), cached."""
    fields = _fields_cache.get(fmt)
    if fields is None:
        import string

        names = []
        for _, field, _, _ in string.Formatter().parse(fmt):
            if field:
                name = field.split(".", 1)[0].split("[", 1)[0]
                if name not in names:
                    names.append(name)
        fields = tuple(names)
        if len(_fields_cache) < 64:
            _fields_cache[fmt] = fields
    return fields


class WSGIErrorHandler(logging.Handler):
    """Writes records to the current request's ``wsgi.errors`` stream."""

    def flush(self) -> None:
        stream = self._stream()
        if stream is not None and hasattr(stream, "flush"):
            stream.flush()

    def emit(self, record: logging.LogRecord) -> None:
        stream = self._stream()
        if stream is None:
            return
        try:
            stream.write(self.format(record) + "\n")
            self.flush()
        except Exception:
            self.handleError(record)

    @staticmethod
    def _stream() -> Any:
        environ = getattr(serving.request, "wsgi_environ", None) or {}
        return environ.get("wsgi.errors")


class LogManager:
    """An error log and an access log, with switches for the built-in handlers."""

    access_log_format = '{h} {l} {u} {t} "{r}" {s} {b} "{f}" "{a}"'

    def __init__(self, appid: str | None = None, logger_root: str = "cherrypy") -> None:
        self.logger_root = logger_root
        self.appid = appid
        suffix = "" if appid is None else f".{appid}"
        self.error_log = logging.getLogger(f"{logger_root}.error{suffix}")
        self.access_log = logging.getLogger(f"{logger_root}.access{suffix}")
        for logger in (self.error_log, self.access_log):
            logger.setLevel(logging.INFO)
            if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
                # Without a handler anywhere, logging would print "No handlers" warnings.
                logger.addHandler(logging.NullHandler())

    # -- writing ------------------------------------------------------------------------

    def time(self) -> str:
        """The timestamp used in log lines: ``[21/Nov/2026:10:00:00]``."""
        return _log_time()

    def error(self, msg: str = "", context: str = "", severity: int = logging.INFO,
              traceback: bool = False) -> None:
        """Write ``msg`` to the error log, with the current traceback if asked."""
        exc_info: Any = None
        if traceback:
            exc_info = sys.exc_info()
            if exc_info[0] is None:
                exc_info = None
        self.error_log.log(severity, " ".join((self.time(), context, msg)), exc_info=exc_info)

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        """Same as :meth:`error`."""
        self.error(*args, **kwargs)

    def access(self) -> None:
        """Write the access line for the current request."""
        if not _has_real_handlers(self.access_log):
            return
        request = serving.request
        response = serving.response
        status = response.output_status
        if isinstance(status, bytes):
            status = status.decode("latin-1")
        status_text = "-" if not status else status.split(" ", 1)[0]
        headers_in = request.wsgi_environ if request.wsgi_environ is not None else {}
        out_length = dict.get(response.headers, "Content-Length", "")
        fmt = self.access_log_format
        try:
            # PERF: only the atoms the format names are computed (a request id or a UTC
            # timestamp costs more than the rest of the line).
            atoms: dict[str, str] = {}
            for name in _format_fields(fmt):
                if name == "h":
                    remote = request.remote
                    value: Any = remote.name or remote.ip
                elif name == "l":
                    value = "-"
                elif name == "u":
                    value = getattr(request, "login", None) or "-"
                elif name == "t":
                    value = self.time()
                elif name == "r":
                    value = request.request_line
                elif name == "s":
                    value = status_text
                elif name == "b":
                    value = out_length if out_length not in ("", None) else "-"
                elif name == "f":
                    value = headers_in.get("HTTP_REFERER", "")
                elif name == "a":
                    value = headers_in.get("HTTP_USER_AGENT", "")
                elif name == "o":
                    value = headers_in.get("HTTP_HOST", "-")
                elif name == "i":
                    value = request.unique_id
                elif name == "z":
                    value = _utc_now()
                else:
                    continue  # format() names the unknown atom in its KeyError
                atoms[name] = _escape(value)
            line = fmt.format(**atoms)
            self.access_log.log(logging.INFO, line)
        except Exception:
            self(traceback=True)

    def reopen_files(self) -> None:
        """Close and reopen the built-in file handlers (after log rotation)."""
        for logger in (self.error_log, self.access_log):
            for handler in logger.handlers:
                if isinstance(handler, logging.FileHandler):
                    handler.acquire()
                    try:
                        if handler.stream is not None:
                            handler.stream.close()
                        handler.stream = handler._open()
                    finally:
                        handler.release()

    # -- built-in handlers --------------------------------------------------------------

    @staticmethod
    def _builtin(logger: logging.Logger, key: str) -> logging.Handler | None:
        for handler in logger.handlers:
            if getattr(handler, "_drupe_builtin", None) == key:
                return handler
        return None

    def _set_handler(self, logger: logging.Logger, key: str, handler: logging.Handler | None) -> None:
        existing = self._builtin(logger, key)
        if existing is not None:
            logger.removeHandler(existing)
            existing.close()
        if handler is not None:
            handler.setFormatter(logging.Formatter("%(message)s"))
            handler._drupe_builtin = key  # type: ignore[attr-defined]
            logger.addHandler(handler)

    @property
    def screen(self) -> bool:
        """Write the error log to stderr and the access log to stdout."""
        return self._builtin(self.error_log, "screen") is not None

    @screen.setter
    def screen(self, enable: bool) -> None:
        if bool(enable) == self.screen:
            return
        if enable:
            self._set_handler(self.error_log, "screen", _StdStreamHandler("stderr"))
            self._set_handler(self.access_log, "screen", _StdStreamHandler("stdout"))
        else:
            self._set_handler(self.error_log, "screen", None)
            self._set_handler(self.access_log, "screen", None)

    def _file_property(self, logger: logging.Logger) -> str:
        handler = self._builtin(logger, "file")
        return getattr(handler, "baseFilename", "") if handler is not None else ""

    def _set_file(self, logger: logging.Logger, filename: str | None) -> None:
        if not filename:
            self._set_handler(logger, "file", None)
            return
        current = self._builtin(logger, "file")
        import os

        if current is not None and getattr(current, "baseFilename", None) == os.path.abspath(filename):
            return
        self._set_handler(logger, "file", logging.FileHandler(filename, encoding="utf-8", delay=True))

    @property
    def error_file(self) -> str:
        """Path of the error log file ('' for none)."""
        return self._file_property(self.error_log)

    @error_file.setter
    def error_file(self, filename: str | None) -> None:
        self._set_file(self.error_log, filename)

    @property
    def access_file(self) -> str:
        """Path of the access log file ('' for none)."""
        return self._file_property(self.access_log)

    @access_file.setter
    def access_file(self, filename: str | None) -> None:
        self._set_file(self.access_log, filename)

    @property
    def wsgi(self) -> bool:
        """Also write the error log to the request's ``wsgi.errors`` stream."""
        return self._builtin(self.error_log, "wsgi") is not None

    @wsgi.setter
    def wsgi(self, enable: bool) -> None:
        if bool(enable) == self.wsgi:
            return
        self._set_handler(self.error_log, "wsgi", WSGIErrorHandler() if enable else None)

    def close(self) -> None:
        """Remove and close the built-in handlers (used when an application is dropped)."""
        for logger in (self.error_log, self.access_log):
            for key in ("screen", "file", "wsgi"):
                self._set_handler(logger, key, None)


class _StdStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the *current* ``sys.stdout`` / ``sys.stderr`` (pytest swaps them)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self._stream_name = name

    @property
    def stream(self) -> Any:
        return getattr(sys, self._stream_name)

    @stream.setter
    def stream(self, value: Any) -> None:
        pass

    def handleError(self, record: logging.LogRecord) -> None:
        # A closed or broken stdout must not turn a request into an error.
        return


def _has_real_handlers(logger: logging.Logger) -> bool:
    """True when a record logged to ``logger`` would reach a handler that writes somewhere."""
    current: logging.Logger | None = logger
    while current is not None:
        for handler in current.handlers:
            if not isinstance(handler, logging.NullHandler):
                return True
        if not current.propagate:
            return False
        current = current.parent
    return False


class _GlobalLogManager(LogManager):
    """``drupe.log``: forwards to the current application's log during a request.

    ``log.screen`` is on by default, as in CherryPy, but the screen handlers are installed
    on first use rather than at import, so ``import drupe`` leaves ``logging`` untouched.
    """

    _screen_pending = True

    def _apply_default_screen(self) -> None:
        if self._screen_pending:
            self._screen_pending = False
            LogManager.screen.fset(self, True)  # type: ignore[attr-defined]

    @property
    def screen(self) -> bool:
        if self._screen_pending:
            return True
        return LogManager.screen.fget(self)  # type: ignore[attr-defined,no-any-return]

    @screen.setter
    def screen(self, enable: bool) -> None:
        self._screen_pending = False
        LogManager.screen.fset(self, enable)  # type: ignore[attr-defined]

    def error(self, *args: Any, **kwargs: Any) -> None:
        self._apply_default_screen()
        LogManager.error(self, *args, **kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        self._apply_default_screen()
        app = getattr(serving.request, "app", None)
        target = app.log if app is not None and getattr(app, "log", None) is not None else self
        target.error(*args, **kwargs)

    def access(self) -> None:
        self._apply_default_screen()
        app = getattr(serving.request, "app", None)
        if app is not None and getattr(app, "log", None) is not None:
            app.log.access()
        else:
            LogManager.access(self)


log = _GlobalLogManager()
