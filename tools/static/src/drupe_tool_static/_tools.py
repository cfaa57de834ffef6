"""The ``staticdir`` and ``staticfile`` tools (``HandlerTool``\\ s at ``before_handler``, 50).

Both answer GET and HEAD only (other methods go on to the page handler) and only when
``match`` (a regular expression searched in ``request.path_info``) matches, if given.
When the file is not there, the tool does not answer and the request goes on to the page
handler (usually a 404), as in CherryPy.

**staticdir** maps the part of the path below the config section where ``dir`` was set
(``section``, filled in by the dispatcher) to a file under ``dir``. The path is checked
before the file system sees it:

* it is split on ``/``; empty and ``.`` segments are skipped; a ``..`` segment, a NUL
  byte or a backslash anywhere is a ``400`` (and on Windows a drive or stream colon).
  The path is used as the server decoded it, once: ``%2e%2e`` reaching the tool means the
  client sent ``%252e%252e`` and names a file called ``%2e%2e``, never a parent
  directory (CherryPy decodes a second time);
* the resolved real path must lie inside the resolved real ``dir`` — a separator
  boundary is required, so ``/srv/static-secret`` is not inside ``/srv/static``. With
  ``follow_symlinks`` off (the default) a symlink leading outside ``dir`` is treated as
  missing, and the final component is opened with ``O_NOFOLLOW``; symlinks that stay
  inside are fine. With it on, only the path as written must stay inside (CherryPy's
  rule), so links placed in ``dir`` by its owner are followed anywhere;
* a directory is served through ``index`` when one is configured (and then
  ``request.is_index`` is set, so the ``trailing_slash`` tool redirects ``/static/sub``
  to ``/static/sub/`` and relative links in the index work); otherwise it is not served:
  there is no directory listing.

``dir`` may start with ``~``; a relative ``dir`` is joined to ``root``, which must then be
set and absolute — otherwise a ``drupe.ConfigError`` naming both keys (a 500, logged).

**staticfile** serves one file, ``filename`` (relative: joined to ``root``, which must be
absolute then).

``content_types`` maps extensions without the dot (``{'csv': 'text/csv'}``) to media
types, ahead of :mod:`mimetypes`. ``max_ranges`` caps the ranges one request may ask for.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import drupe
from drupe_tool_static._ranges import DEFAULT_MAX_RANGES
from drupe_tool_static._serve import serve_file

__all__ = ["StaticDirTool", "StaticFileTool", "staticdir", "staticdir_tool", "staticfile", "staticfile_tool"]

F = TypeVar("F")
_GET_OR_HEAD = ("GET", "HEAD")
_WINDOWS = os.name == "nt"


def _matches(match: str, debug: bool, context: str) -> bool:
    if not match:
        return True
    found = re.search(match, drupe.serving.request.path_info) is not None
    if not found and debug:
        drupe.log(f"request.path_info {drupe.serving.request.path_info!r} does not match {match!r}", context)
    return found


def _content_type_for(filename: str, content_types: Mapping[str, str] | None) -> str | None:
    if not content_types:
        return None
    extension = os.path.splitext(filename)[1][1:]
    found = content_types.get(extension) or content_types.get(extension.lower())
    return str(found) if found is not None else None


def _attempt(filename: str, content_types: Mapping[str, str] | None, debug: bool, max_ranges: int,
             follow_symlinks: bool = True) -> bool:
    """Serve ``filename``; False when there is no such regular file."""
    try:
        serve_file(filename, _content_type_for(filename, content_types), debug=debug,
                   max_ranges=max_ranges, follow_symlinks=follow_symlinks)
    except drupe.NotFound:
        # Not here: the request goes on, a page handler may answer it.
        return False
    return True


def _inside(path: str, base: str) -> bool:
    """``path`` is ``base`` or below it (on a separator boundary)."""
    path, base = os.path.normcase(path), os.path.normcase(base)
    if path == base:
        return True
    prefix = base if base.endswith(os.sep) else base + os.sep
    return path.startswith(prefix)


def _segments(branch: str) -> list[str]:
    """The path segments below the section, or a 400 for a path that tries to escape."""
    if "\x00" in branch:
        raise drupe.HTTPError(400, "The request path contains a NUL byte.")
    if "\\" in branch:
        raise drupe.HTTPError(400, "The path of a static file may not contain a backslash.")
    segments = []
    for segment in branch.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            raise drupe.HTTPError(400, "The path of a static file may not contain a '..' segment.")
        if _WINDOWS and ":" in segment:
            raise drupe.HTTPError(400, "The path of a static file may not contain a colon.")
        segments.append(segment)
    return segments


def _absolute_root(root: Any, key: str) -> str:
    path: str = os.fspath(root)
    if not os.path.isabs(path):
        raise drupe.ConfigError(f"Config key {key!r}: {path!r} is not an absolute path.")
    return path


def staticdir(section: str | None = None, dir: str | os.PathLike[str] | None = None,
              root: str | os.PathLike[str] = "", match: str = "",
              content_types: Mapping[str, str] | None = None, index: str = "", debug: bool = False,
              follow_symlinks: bool = False, max_ranges: int = DEFAULT_MAX_RANGES) -> bool:
    """Serve the file under ``dir`` that the path below ``section`` names (module docstring)."""
    request = drupe.serving.request
    if request.method not in _GET_OR_HEAD or not _matches(match, debug, "TOOLS.STATICDIR"):
        return False
    if dir is None:
        raise drupe.ConfigError("Config key 'tools.staticdir.dir' is required when tools.staticdir.on "
                                "is set: name the directory to serve.")
    if section is None:
        raise drupe.ConfigError(
            "Config key 'tools.staticdir.section' is missing: the dispatcher did not say where "
            "tools.staticdir.dir was set. Set it to that config section's path (e.g. '/static').")
    directory = os.path.expanduser(os.fspath(dir))
    if not os.path.isabs(directory):
        if not root:
            raise drupe.ConfigError(
                f"Config key 'tools.staticdir.dir': {directory!r} is relative, so "
                "'tools.staticdir.root' must be set to the absolute directory it is relative to.")
        directory = os.path.join(_absolute_root(root, "tools.staticdir.root"), directory)
    base = os.path.normpath(directory)

    if section == "global":
        section = "/"
    section = section.rstrip("/\\")
    path_info = request.path_info
    if path_info != section and not path_info.startswith(section + "/"):
        return False
    segments = _segments(path_info[len(section) + 1:])
    candidate = os.path.join(base, *segments)
    if not _inside(os.path.normpath(candidate), base):  # pragma: no cover - segments are checked
        return False
    if not follow_symlinks:
        real_base = os.path.realpath(base)
        real = os.path.realpath(candidate)
        if not _inside(real, real_base):
            if debug:
                drupe.log(f"{candidate!r} resolves to {real!r}, outside {real_base!r}: not served.",
                          "TOOLS.STATICDIR")
            return False
        candidate = real
    if debug:
        drupe.log(f"Serving {candidate!r} for {path_info!r}", "TOOLS.STATICDIR")
    handled = _attempt(candidate, content_types, debug, max_ranges, follow_symlinks)
    if not handled and index and os.path.isdir(candidate):
        index_path = os.path.join(candidate, index)
        if not follow_symlinks:
            real_index = os.path.realpath(index_path)
            if not _inside(real_index, os.path.realpath(base)):
                return False
            index_path = real_index
        handled = _attempt(index_path, content_types, debug, max_ranges, follow_symlinks)
        if handled:
            request.is_index = True
    return handled


def staticfile(filename: str | os.PathLike[str] | None = None, root: str | os.PathLike[str] | None = None,
               match: str = "", content_types: Mapping[str, str] | None = None, debug: bool = False,
               max_ranges: int = DEFAULT_MAX_RANGES) -> bool:
    """Serve the single file ``filename`` (relative: below ``root``)."""
    request = drupe.serving.request
    if request.method not in _GET_OR_HEAD or not _matches(match, debug, "TOOLS.STATICFILE"):
        return False
    if filename is None:
        raise drupe.ConfigError("Config key 'tools.staticfile.filename' is required when "
                                "tools.staticfile.on is set: name the file to serve.")
    path = os.fspath(filename)
    if not os.path.isabs(path):
        if not root:
            raise drupe.ConfigError(
                f"Config key 'tools.staticfile.filename': {path!r} is relative, so "
                "'tools.staticfile.root' must be set to the absolute directory it is relative to.")
        path = os.path.join(_absolute_root(root, "tools.staticfile.root"), path)
    return _attempt(path, content_types, debug, max_ranges)


# -- settings ------------------------------------------------------------------------------


def _fail(key: str, expected: str, value: Any) -> drupe.ConfigError:
    return drupe.ConfigError(f"Config key {key!r}: expected {expected}, not {value!r}.")


def _check_common(settings: dict[str, Any], prefix: str) -> None:
    if "match" in settings:
        value = settings["match"]
        if not isinstance(value, str):
            raise _fail(prefix + "match", "a regular expression (a string)", value)
        try:
            re.compile(value)
        except re.error as exc:
            raise drupe.ConfigError(f"Config key {prefix + 'match'!r}: {value!r} is not a valid "
                                    f"regular expression ({exc}).") from None
    if "content_types" in settings:
        value = settings["content_types"]
        if value is not None and not (isinstance(value, Mapping) and all(
                isinstance(key, str) and isinstance(item, str) for key, item in value.items())):
            raise _fail(prefix + "content_types",
                        "a dict of extensions to media types (like {'csv': 'text/csv'})", value)
    for flag in ("debug", "follow_symlinks"):
        if flag in settings and not isinstance(settings[flag], bool):
            raise _fail(prefix + flag, "True or False", settings[flag])
    if "max_ranges" in settings:
        value = settings["max_ranges"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise _fail(prefix + "max_ranges", "a positive integer", value)
    if settings.get("root"):
        value = settings["root"]
        if not isinstance(value, (str, os.PathLike)):
            raise _fail(prefix + "root", "an absolute directory path", value)
        _absolute_root(value, prefix + "root")


def _check_path(settings: dict[str, Any], key: str, name: str) -> None:
    if name in settings:
        value = settings[name]
        if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
            raise _fail(key, "a path", value)


class _StaticTool(drupe.HandlerTool):
    def __call__(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        """The decorator checks its arguments at once."""
        self.check_settings(kwargs)
        return super().__call__(*args, **kwargs)


class StaticDirTool(_StaticTool):
    """``staticdir``: :func:`staticdir` as a HandlerTool at ``before_handler``, priority 50."""

    def __init__(self) -> None:
        super().__init__(staticdir, name="staticdir", priority=50)

    def check_settings(self, settings: dict[str, Any]) -> None:
        """Validate the values of the ``tools.staticdir.*`` keys."""
        prefix = f"{self.namespace}.{self.name or 'staticdir'}."
        _check_common(settings, prefix)
        _check_path(settings, prefix + "dir", "dir")
        if "index" in settings and not isinstance(settings["index"], str):
            raise _fail(prefix + "index", "a file name (like 'index.html')", settings["index"])
        if "section" in settings and not isinstance(settings["section"], str):
            raise _fail(prefix + "section", "a URL path", settings["section"])


class StaticFileTool(_StaticTool):
    """``staticfile``: :func:`staticfile` as a HandlerTool at ``before_handler``, priority 50."""

    def __init__(self) -> None:
        super().__init__(staticfile, name="staticfile", priority=50)

    def check_settings(self, settings: dict[str, Any]) -> None:
        """Validate the values of the ``tools.staticfile.*`` keys."""
        prefix = f"{self.namespace}.{self.name or 'staticfile'}."
        _check_common(settings, prefix)
        _check_path(settings, prefix + "filename", "filename")


staticdir_tool = StaticDirTool()
staticfile_tool = StaticFileTool()
