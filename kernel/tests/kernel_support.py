"""Helpers for the kernel's tests (imported by the test modules and conftest).

Requests are driven without any HTTP server: :func:`call` builds a PEP 3333 environ,
calls a WSGI callable (``drupe.tree`` or an ``Application``), consumes the body and
closes it, as a server would. :func:`fake_distribution` writes a ``*.dist-info`` with an
``entry_points.txt`` (and the modules it names) into ``tmp_path`` and puts it on
``sys.path``, the way pluggy's own tests fake installed distributions.
"""

from __future__ import annotations

import importlib
import io
import logging
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import drupe
from drupe._registry import registry

# ---------------------------------------------------------------------------
# Driving WSGI callables


@dataclass
class Result:
    """What a WSGI call produced."""

    status: str
    headers: list[tuple[str, str]]
    body: bytes
    environ: dict[str, Any]
    errors: str = ""
    exc_info: Any = None

    @property
    def code(self) -> int:
        return int(self.status.split(" ", 1)[0])

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def header(self, name: str, default: str | None = None) -> str | None:
        """The first header called ``name`` (case-insensitive)."""
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return default

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]


def _native(text: str) -> str:
    """PEP 3333: path and query are bytes decoded as latin-1."""
    return text.encode("utf-8").decode("latin-1")


def make_environ(path: str = "/", method: str = "GET", headers: Iterable[tuple[str, str]] = (),
                 body: bytes | None = None, protocol: str = "HTTP/1.1",
                 script_name: str = "", host: str | None = "127.0.0.1:8080",
                 raw_path: str | None = None, raw_query: str | None = None,
                 **extra: Any) -> dict[str, Any]:
    """A PEP 3333 environ for one request."""
    path_part, _, query = path.partition("?")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": script_name,
        "PATH_INFO": raw_path if raw_path is not None else _native(path_part),
        "QUERY_STRING": raw_query if raw_query is not None else _native(query),
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8080",
        "SERVER_PROTOCOL": protocol,
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "54321",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body or b""),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if host is not None:
        environ["HTTP_HOST"] = host
    if body is not None:
        environ["CONTENT_LENGTH"] = str(len(body))
    for name, value in headers:
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = value
        else:
            environ["HTTP_" + key] = value
    environ.update(extra)
    return environ


def call_environ(app: Callable[..., Any], environ: dict[str, Any]) -> Result:
    """Call ``app`` with ``environ``; consume and close the body like a server."""
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        for name, value in headers:
            assert isinstance(name, str)
            assert isinstance(value, str)
            assert "\r" not in value
            assert "\n" not in value
        captured["status"] = status
        captured["headers"] = headers
        captured["exc_info"] = exc_info
        return lambda data: None

    result = app(environ, start_response)
    try:
        chunks = []
        for chunk in result:
            assert isinstance(chunk, bytes), f"body chunk {chunk!r} is not bytes"
            chunks.append(chunk)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return Result(captured["status"], captured["headers"], b"".join(chunks), environ,
                  environ["wsgi.errors"].getvalue(), captured.get("exc_info"))


def call(app: Callable[..., Any] | None = None, path: str = "/", **kwargs: Any) -> Result:
    """One request to ``app`` (``drupe.tree`` by default); see :func:`make_environ`."""
    return call_environ(app if app is not None else drupe.tree, make_environ(path, **kwargs))


def mount(root: Any, script_name: str = "", config: dict[str, Any] | None = None) -> drupe.Application:
    """Mount ``root`` with a config (an empty ``/`` section by default)."""
    return drupe.tree.mount(root, script_name, config if config is not None else {"/": {}})


# ---------------------------------------------------------------------------
# Fake distributions


@dataclass
class FakeDistributions:
    """Creates ``*.dist-info`` folders (and their modules) on ``sys.path``."""

    root: Path
    modules: set[str] = field(default_factory=set)
    created: list[Path] = field(default_factory=list)

    def add(self, name: str, entry_points: dict[str, dict[str, str]],
            modules: dict[str, str] | None = None, version: str = "1.0") -> Path:
        """A distribution ``name`` declaring ``entry_points`` ({group: {name: value}}).

        ``modules`` maps a module name (``acme_tools`` or ``acme/hooks``) to its source.
        Each distribution gets its own folder on ``sys.path``.
        """
        folder = self.root / f"site-{len(self.created)}-{name}"
        folder.mkdir(parents=True)
        info = folder / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8")
        lines = []
        for group, entries in entry_points.items():
            lines.append(f"[{group}]")
            lines.extend(f"{entry} = {value}" for entry, value in entries.items())
            lines.append("")
        (info / "entry_points.txt").write_text("\n".join(lines), encoding="utf-8")
        for module, source in (modules or {}).items():
            target = folder / (module.replace(".", "/") + ".py")
            target.parent.mkdir(parents=True, exist_ok=True)
            for parent in target.relative_to(folder).parents:
                if str(parent) != ".":
                    (folder / parent / "__init__.py").touch()
            target.write_text(textwrap.dedent(source), encoding="utf-8")
            self.modules.add(module.split(".")[0].split("/")[0])
        sys.path.insert(0, str(folder))
        self.created.append(folder)
        importlib.invalidate_caches()
        registry.refresh()
        return folder

    def cleanup(self) -> None:
        for folder in self.created:
            while str(folder) in sys.path:
                sys.path.remove(str(folder))
        for name in list(sys.modules):
            if name.split(".")[0] in self.modules:
                del sys.modules[name]
        importlib.invalidate_caches()
        registry.refresh()


def forget_loaded_tools() -> None:
    """Drop tools ``drupe.tools`` cached from entry points (they may come from fakes)."""
    toolbox = drupe.tools
    for name, value in list(vars(toolbox).items()):
        if isinstance(value, drupe.Tool) and name not in _BASE_TOOLS:
            object.__delattr__(toolbox, name)


_BASE_TOOLS = {name for name, value in vars(drupe.tools).items() if isinstance(value, drupe.Tool)}



def error_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("cherrypy.error")]


def error_text(caplog: pytest.LogCaptureFixture) -> str:
    """Every error-log record, with its traceback when it has one."""
    formatter = logging.Formatter("%(message)s")
    return "\n".join(formatter.format(r) for r in caplog.records if r.name.startswith("cherrypy.error"))


def access_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("cherrypy.access")]


def unused_module_name(prefix: str) -> str:
    """A module name nothing imported yet (fake distributions use it)."""
    index = 0
    while f"{prefix}{index}" in sys.modules:
        index += 1
    return f"{prefix}{index}"
