"""Daemonizer: refusals in-process (no fork), real daemonization in a subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from process_support import wait_until

import drupe
from drupe_process import DaemonizeError, Daemonizer
from drupe_process._pidfile import pid_is_running, read_pid

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")

PROGRAM = Path(__file__).with_name("daemon_program.py")


def test_it_starts_before_the_pid_file_and_the_server() -> None:
    assert Daemonizer.start.priority == 65  # type: ignore[attr-defined]
    assert drupe.engine.daemonizer.stdout == "/dev/null"


def test_running_threads_refuse_the_fork() -> None:
    bus = drupe.Bus()
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, name="busy worker")
    thread.start()
    try:
        with pytest.raises(DaemonizeError, match=r"'busy worker'.*allow_threads"):
            Daemonizer(bus).start()
    finally:
        stop.set()
        thread.join()


def test_an_unopenable_output_file_is_a_config_error_before_any_fork(tmp_path: Path) -> None:
    plugin = Daemonizer(drupe.Bus(), stdout=str(tmp_path / "missing" / "out.log"))
    with pytest.raises(drupe.ConfigError, match=r"engine\.daemonizer\.stdout"):
        plugin.start()
    assert not plugin.finalized


def run_program(tmp_path: Path, **options: Any) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("DRUPE_DISABLE_PLUGIN_AUTOLOAD", None)
    return subprocess.run([sys.executable, str(PROGRAM), json.dumps(options)], cwd=tmp_path, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
                          check=False)


@pytest.mark.slow
def test_config_daemonizes_writes_the_pid_file_and_sigterm_removes_it(tmp_path: Path) -> None:
    pidfile, output = tmp_path / "daemon.pid", tmp_path / "daemon.log"
    config = {"engine.daemonizer.on": True, "engine.daemonizer.stdout": str(output),
              "engine.daemonizer.stderr": str(output), "engine.pidfile.on": True,
              "engine.pidfile.pidfile": str(pidfile), "log.screen": True}
    launched = run_program(tmp_path, config=config)
    daemon = read_pid(pidfile)
    try:
        assert launched.returncode == 0, launched.stderr
        assert daemon is not None
        assert pid_is_running(daemon)
        log = output.read_text()
        assert f"Daemonized to PID: {daemon}" in log
        assert log.index("Daemonized") < log.index(f"PID {daemon} written")
        # A session of its own (not ours), of which it is not the leader: it can never
        # acquire a controlling terminal again.
        assert os.getsid(daemon) not in (os.getsid(0), daemon)
        os.kill(daemon, signal.SIGTERM)
        wait_until(lambda: not pidfile.exists(), message="the PID file to be removed")
        wait_until(lambda: "Bus EXITED" in output.read_text(), message="the daemon's exit")
    finally:
        if daemon and pid_is_running(daemon) and pidfile.exists():
            os.kill(daemon, signal.SIGKILL)


@pytest.mark.slow
def test_a_failure_after_the_fork_is_reported_by_the_launcher(tmp_path: Path) -> None:
    pidfile = tmp_path / "daemon.pid"
    config = {"engine.daemonizer.on": True, "engine.pidfile.on": True,
              "engine.pidfile.pidfile": str(pidfile)}
    launched = run_program(tmp_path, config=config, fail=True)
    assert launched.returncode == 1
    assert "the daemon failed to start: RuntimeError: the database is not reachable" in launched.stderr
    assert not pidfile.exists()
