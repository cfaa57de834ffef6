"""Autoreloader: real files, a real Bus, and a real re-executed subprocess."""

from __future__ import annotations

import importlib
import os
import signal
import sys
import time
import types
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from process_support import Child, wait_until

import drupe
from drupe_process import Autoreloader

MATCH_NOTHING = r"(?!)"
"""A ``match`` no module name satisfies: only ``files`` are watched (other developers'
edits to installed modules must not restart a test's bus)."""


@pytest.fixture
def bus() -> Iterator[Any]:
    bus = drupe.Bus()
    yield bus
    if bus.state is not drupe.states.STOPPED:
        bus.exit()


@pytest.fixture
def log(bus: Any) -> list[str]:
    messages: list[str] = []
    bus.subscribe("log", lambda message, level=20: messages.append(message))
    return messages


@pytest.fixture
def watched_file(workdir: Path) -> Path:
    path = workdir / "settings.conf"
    path.write_text("[global]\n")
    return path


def start_reloader(bus: Any, *files: Path, frequency: float = 0.01) -> Autoreloader:
    reloader = Autoreloader(bus, frequency=frequency, match=MATCH_NOTHING)
    reloader.files.update(str(path) for path in files)
    reloader.subscribe()
    bus.start()
    return reloader


def shift_mtime(path: Path, seconds: float) -> None:
    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + seconds))


def wait_for_restart(bus: Any) -> None:
    wait_until(lambda: bus.state is drupe.states.EXITING, message="the bus to exit for a restart")
    assert bus.execv, "the bus exited without asking for a re-exec"


def test_a_changed_file_restarts_the_bus(bus: Any, log: list[str], watched_file: Path) -> None:
    reloader = start_reloader(bus, watched_file)
    assert "Started monitor thread 'Autoreloader'." in log
    shift_mtime(watched_file, 10)
    wait_for_restart(bus)
    assert f"Restarting because {watched_file} changed." in log
    assert reloader.thread is None


def test_an_older_version_of_a_file_counts_as_a_change(bus: Any, watched_file: Path) -> None:
    start_reloader(bus, watched_file)
    shift_mtime(watched_file, -3600)
    wait_for_restart(bus)


def test_a_deleted_file_restarts_the_bus(bus: Any, log: list[str], watched_file: Path) -> None:
    start_reloader(bus, watched_file)
    watched_file.unlink()
    wait_for_restart(bus)
    assert f"Restarting because {watched_file} changed." in log


def test_unchanged_files_do_not_restart(bus: Any, watched_file: Path) -> None:
    reloader = start_reloader(bus, watched_file)
    polls = 0
    original_run = reloader.run

    def counting_run() -> None:
        nonlocal polls
        polls += 1
        original_run()

    assert reloader.thread is not None
    reloader.thread.function = counting_run
    wait_until(lambda: polls >= 10, message="ten polls")
    assert bus.state is drupe.states.STARTED
    assert not bus.execv


def test_the_first_snapshot_is_taken_at_start(bus: Any, watched_file: Path) -> None:
    """A change saved right after start-up, before the first poll, is still seen."""
    reloader = start_reloader(bus, watched_file, frequency=3600)
    assert str(watched_file) in reloader.mtimes
    shift_mtime(watched_file, 10)
    reloader.frequency = 0.01
    wait_for_restart(bus)


def test_sysfiles_watches_imported_modules_filtered_by_match(bus: Any) -> None:
    reloader = Autoreloader(bus)
    assert reloader.frequency == 1
    assert reloader.match == ".*"
    everything = reloader.sysfiles()
    assert drupe.__file__ in everything
    assert __file__ in everything
    reloader.match = r"^drupe_process\b"
    only_ours = reloader.sysfiles()
    assert drupe.__file__ not in only_ours
    assert sys.modules["drupe_process"].__file__ in only_ours


def test_zipped_modules_are_watched_through_their_archive(bus: Any, workdir: Path) -> None:
    archive = workdir / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("zipped_module_for_autoreload.py", "VALUE = 1\n")
    sys.path.insert(0, str(archive))
    try:
        importlib.import_module("zipped_module_for_autoreload")
        reloader = Autoreloader(bus, match=r"^zipped_module_for_autoreload$")
        assert reloader.sysfiles() == {str(archive)}
    finally:
        sys.path.remove(str(archive))
        sys.modules.pop("zipped_module_for_autoreload", None)
        sys.path_importer_cache.pop(str(archive), None)


def test_relative_module_files_are_made_absolute(bus: Any, monkeypatch: pytest.MonkeyPatch,
                                                  workdir: Path) -> None:
    module = types.ModuleType("relative_module_for_autoreload")
    module.__file__ = os.path.join("pkg", "relative.py")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    # Changing directory afterwards must not change what is watched.
    monkeypatch.chdir(workdir)
    reloader = Autoreloader(bus, match=r"^relative_module_for_autoreload$")
    (watched,) = reloader.sysfiles()
    assert os.path.isabs(watched)
    assert not watched.startswith(str(workdir))
    assert watched.endswith(os.path.join("pkg", "relative.py"))


def test_config_files_given_by_name_are_watched(watched_file: Path) -> None:
    drupe.config.update(str(watched_file))
    assert str(watched_file) in drupe.engine.autoreload.files


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "execv"), reason="needs os.execv")
def test_a_changed_module_re_executes_the_process(spawn: Callable[..., Child],
                                                  workdir: Path) -> None:
    watched = workdir / "watched.py"
    watched.write_text("VERSION = 1\n")
    child = spawn(import_watched=True, config={
        "engine.autoreload.frequency": 0.05,
        # Only our module: edits elsewhere on this machine must not restart the child.
        "engine.autoreload.match": r"^watched$",
    })
    child.wait_started()
    (pid,) = child.starts()
    watched.write_text("VERSION = 2\n")
    shift_mtime(watched, 10)
    assert child.wait_for_starts(2) == [pid, pid]  # os.execv keeps the process id
    output = child.wait_started(2)
    assert f"ENGINE Restarting because {watched} changed." in output
    assert "ENGINE Re-spawning " in output
    # The new process watches again, from a fresh snapshot.
    time.sleep(0.2)
    assert len(child.starts()) == 2
    child.send(signal.SIGTERM)
    assert child.wait() == 0
