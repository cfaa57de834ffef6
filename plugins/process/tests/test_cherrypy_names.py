"""Names CherryPy's own tests and older toolboxes reach for: the Autoreloader's file
helpers, ``drupe.process.servers._safe_wait``, and SIGHUP under ``python -m cherrypy``."""

from __future__ import annotations

import io
import os
import socket
import sys
import types
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import drupe
import drupe.process.plugins
import drupe.process.servers
from drupe_process import Autoreloader, SignalHandler


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# -- Autoreloader helpers ------------------------------------------------------------


def test_file_for_file_module() -> None:
    assert drupe.process.plugins.Autoreloader is Autoreloader
    assert Autoreloader._file_for_file_module(types.SimpleNamespace(__file__=None)) is None
    assert Autoreloader._file_for_file_module(types.SimpleNamespace()) is None
    assert Autoreloader._file_for_file_module(types.SimpleNamespace(__file__="")) is None
    assert Autoreloader._file_for_file_module(types.SimpleNamespace(__file__="/a/b.py")) == "/a/b.py"
    relative = Autoreloader._file_for_file_module(types.SimpleNamespace(__file__="pkg/mod.py"))
    assert relative is not None
    assert os.path.isabs(relative)
    assert relative.endswith(os.path.join("pkg", "mod.py"))
    # Absolute against the directory drupe-process was imported in, not today's.
    assert Autoreloader._make_absolute("x.py") == relative.replace(os.path.join("pkg", "mod.py"), "x.py")


def test_file_for_module_prefers_the_zip_archive(tmp_path: Path) -> None:
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("zipped_module_for_names.py", "VALUE = 1\n")
    module = types.ModuleType("zipped_module_for_names")
    module.__file__ = str(archive / "zipped_module_for_names.py")
    module.__loader__ = types.SimpleNamespace(archive=str(archive))  # type: ignore[assignment]
    assert Autoreloader._archive_for_zip_module(module) == str(archive)
    assert Autoreloader._file_for_module(module) == str(archive)
    plain = types.ModuleType("plain")
    plain.__file__ = __file__
    assert Autoreloader._archive_for_zip_module(plain) is None
    assert Autoreloader._file_for_module(plain) == __file__


def test_sysfiles_goes_through_file_for_module(tmp_path: Path) -> None:
    # A toolbox overriding the helper changes what is watched.
    watched = tmp_path / "elsewhere.py"

    class Redirecting(Autoreloader):
        @classmethod
        def _file_for_module(cls, module: Any) -> str | None:
            return str(watched) if module.__name__ == "drupe_process" else None

    reloader = Redirecting(drupe.Bus(), match=r"^drupe_process$")
    assert reloader.sysfiles() == {str(watched)}


# -- _safe_wait ------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_safe_wait_only_warns_for_all_interfaces(host: str) -> None:
    port = free_port()
    with pytest.warns(UserWarning, match=r"Unable to verify that the server is bound on "), \
            drupe.process.servers._safe_wait(host, port):
        drupe.process.servers.wait_for_occupied_port(host, port, timeout=0.3)


def test_safe_wait_raises_for_a_named_host_and_for_real_errors() -> None:
    port = free_port()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(OSError, match="not bound"), drupe.process.servers._safe_wait("127.0.0.1", port):
            drupe.process.servers.wait_for_occupied_port("127.0.0.1", port, timeout=0.3)
        with pytest.raises(ConnectionRefusedError), drupe.process.servers._safe_wait("0.0.0.0", port):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        with pytest.raises(ValueError, match="not a wait"), drupe.process.servers._safe_wait("0.0.0.0", port):
            raise ValueError("not a wait")
        with drupe.process.servers._safe_wait("0.0.0.0", port):
            pass  # nothing to tolerate


# -- SIGHUP under `python -m cherrypy` -------------------------------------------------


@pytest.fixture
def no_terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # What a service manager or a CI job gives a process: stdin that is no terminal.
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    yield
    drupe.engine.signals.unsubscribe()


@pytest.mark.parametrize(("argv", "restarts"), [
    (["python", "-m", "drupe", "-i", "app"], True),
    (["python", "-m", "cherrypy", "-i", "app"], None),
])
def test_the_command_reads_no_terminal_as_reload_unless_run_as_cherrypy(
        monkeypatch: pytest.MonkeyPatch, no_terminal: None, argv: list[str], restarts: bool | None) -> None:
    from drupe import _cli

    monkeypatch.setattr(sys, "orig_argv", argv)
    _cli._subscribe_signals()
    handler = drupe.engine.signal_handler
    assert isinstance(handler, SignalHandler)
    assert handler.sighup_restarts is restarts
    # None: cherryd's rule — exit unless daemonized (forked, no terminal).
    assert handler._is_daemonized() is False


def test_an_explicit_setting_wins_under_python_m_cherrypy(monkeypatch: pytest.MonkeyPatch,
                                                          no_terminal: None) -> None:
    from drupe import _cli

    monkeypatch.setattr(sys, "orig_argv", ["python", "-m", "cherrypy"])
    drupe.config.update({"engine.signal_handler.sighup_restarts": True})
    _cli._subscribe_signals()
    assert drupe.engine.signal_handler.sighup_restarts is True
