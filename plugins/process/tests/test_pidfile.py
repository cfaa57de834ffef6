"""PIDFile on a private bus: write, refuse a live holder, replace a stale file, remove."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import drupe
from drupe_process import PIDFile, PIDFileError


@pytest.fixture
def bus() -> drupe.Bus:
    return drupe.Bus()


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_start_writes_exit_removes(bus: drupe.Bus, tmp_path: Path) -> None:
    path = tmp_path / "app.pid"
    plugin = PIDFile(bus, path)
    plugin.subscribe()
    bus.start()
    assert path.read_text() == f"{os.getpid()}\n"
    assert not list(tmp_path.glob(".*.tmp"))
    bus.exit()
    assert not path.exists()


def test_priorities_put_it_after_the_daemonizer_and_before_the_server() -> None:
    assert PIDFile.start.priority == 70  # type: ignore[attr-defined]


def test_a_live_holder_refuses_the_start(bus: drupe.Bus, tmp_path: Path) -> None:
    path = tmp_path / "app.pid"
    path.write_text(f"{os.getppid()}\n")
    with pytest.raises(PIDFileError, match=f"names process {os.getppid()}, which is running"):
        PIDFile(bus, path).start()
    assert path.read_text() == f"{os.getppid()}\n"


@pytest.mark.parametrize("content", ["{dead}\n", "", "not a pid\n"])
def test_a_stale_file_is_replaced(bus: drupe.Bus, tmp_path: Path, content: str) -> None:
    path = tmp_path / "app.pid"
    path.write_text(content.format(dead=dead_pid()))
    messages: list[str] = []
    bus.subscribe("log", lambda message, level=20: messages.append(message))
    plugin = PIDFile(bus, path)
    plugin.start()
    assert path.read_text() == f"{os.getpid()}\n"
    assert any("Replacing the stale PID file" in message for message in messages)
    plugin.exit()
    assert not path.exists()


def test_exit_leaves_a_file_another_process_took_over(bus: drupe.Bus, tmp_path: Path) -> None:
    path = tmp_path / "app.pid"
    plugin = PIDFile(bus, path)
    plugin.start()
    path.write_text("12345\n")
    plugin.exit()
    assert path.read_text() == "12345\n"


def test_a_relative_path_survives_chdir(bus: drupe.Bus, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    plugin = PIDFile(bus, "rel.pid")
    plugin.start()
    monkeypatch.chdir("/")
    plugin.exit()
    assert not (tmp_path / "rel.pid").exists()


def test_missing_setting_and_unwritable_directory(bus: drupe.Bus, tmp_path: Path) -> None:
    with pytest.raises(drupe.ConfigError, match=r"engine\.pidfile\.pidfile"):
        PIDFile(bus).start()
    with pytest.raises(PIDFileError, match="Cannot write the PID file"):
        PIDFile(bus, tmp_path / "no" / "such" / "dir.pid").start()


def test_config_keys_set_up_the_engine_plugin(tmp_path: Path) -> None:
    drupe.config.update({"engine.pidfile.pidfile": str(tmp_path / "e.pid"), "engine.pidfile.on": True})
    assert drupe.engine.pidfile.start in drupe.engine.listeners["start"]
    assert drupe.engine.pidfile.exit in drupe.engine.listeners["exit"]
