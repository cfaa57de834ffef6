"""``drupe`` with cherryd's options: daemonize, PID file, SIGHUP restart, SIGTERM stop."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest
from deploy_support import (
    Processes,
    drupe_command,
    free_port,
    get,
    pid_alive,
    read_pid,
    set_port,
    wait_for_http,
    wait_until,
)

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")]


def test_daemonize_pidfile_sighup_restart_sigterm_stop(site: Path, processes: Processes) -> None:
    port = free_port()
    set_port(site / "app.conf", port)
    pidfile = site / "app.pid"
    processes.track_pidfile(pidfile)
    launched = processes.run(drupe_command("-c", "app.conf", "-i", "app", "-d", "-p", str(pidfile)), site)
    # The launcher returns once the daemon reported a complete start.
    assert launched.returncode == 0, launched.stderr
    daemon = read_pid(pidfile)
    assert daemon is not None
    assert pid_alive(daemon)
    assert get(port).text == f"Hello from pid {daemon}"
    assert get(port, "/readyz").status == 200  # engine.health.on in app.conf

    os.kill(daemon, signal.SIGHUP)
    # A daemon restarts: the new image daemonizes again and writes its own pid.
    restarted = wait_until(lambda: (pid := read_pid(pidfile)) not in (None, daemon) and pid,
                           message="a new pid in the PID file")
    assert wait_for_http(port).text == f"Hello from pid {restarted}"
    wait_until(lambda: not pid_alive(daemon), message="the old daemon to end")

    os.kill(restarted, signal.SIGTERM)
    wait_until(lambda: not pidfile.exists(), message="the PID file to be removed")
    wait_until(lambda: not pid_alive(restarted), message="the daemon to end")


def test_a_failed_start_in_the_daemon_is_the_launchers_exit_status(site: Path, processes: Processes) -> None:
    port = free_port()
    set_port(site / "app.conf", port)
    (site / "bad.conf").write_text("[global]\nserver.socket_prot: 8080\n")
    pidfile = site / "app.pid"
    processes.track_pidfile(pidfile)
    launched = processes.run(drupe_command("-c", "app.conf", "-c", "bad.conf", "-i", "app", "-d",
                                           "-p", str(pidfile)), site)
    assert launched.returncode == 1
    assert "the daemon failed to start" in launched.stderr
    assert "server.socket_prot" in launched.stderr
    assert not pidfile.exists()


def test_a_live_pidfile_refuses_a_second_copy_and_a_stale_one_is_replaced(site: Path,
                                                                         processes: Processes) -> None:
    port = free_port()
    set_port(site / "app.conf", port)
    pidfile = site / "app.pid"
    processes.track_pidfile(pidfile)
    pidfile.write_text(f"{os.getpid()}\n")   # a live process that is not the service
    refused = processes.run(drupe_command("-c", "app.conf", "-i", "app", "-p", str(pidfile)), site)
    assert refused.returncode == 1
    assert f"names process {os.getpid()}, which is running" in refused.stdout + refused.stderr
    assert read_pid(pidfile) == os.getpid()

    pidfile.write_text("999999999\n")   # no such process
    server = processes.start(drupe_command("-c", "app.conf", "-i", "app", "-p", str(pidfile)), site)
    wait_for_http(port, process=server)
    assert read_pid(pidfile) == server.pid
    assert "Replacing the stale PID file" in server.output()
    server.send_signal(signal.SIGTERM)
    assert server.finish() == 0
    assert not pidfile.exists()


def test_sighup_in_the_foreground_without_a_terminal_restarts_in_place(site: Path,
                                                                      processes: Processes) -> None:
    # supervisord / systemd: stdin is not a terminal, so SIGHUP means "reload", and the
    # process re-executes itself with the same pid.
    port = free_port()
    set_port(site / "app.conf", port)
    server = processes.start(drupe_command("-c", "app.conf", "-i", "app"), site)
    wait_for_http(port, process=server)
    server.send_signal(signal.SIGHUP)
    server.wait_for_output("Re-spawning")
    server.wait_for_output("ENGINE Bus STARTED", count=2)
    assert wait_for_http(port, process=server).text == f"Hello from pid {server.pid}"
    server.send_signal(signal.SIGTERM)
    assert server.finish() == 0


def test_several_configs_imports_paths_and_environment(tmp_path: Path, processes: Processes) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "mounted.py").write_text(
        "import drupe\n\n"
        "class Root:\n"
        "    @drupe.expose\n"
        "    def index(self):\n"
        "        return f\"{drupe.config.get('environment')} {drupe.config.get('site.extra')}\"\n\n"
        "drupe.tree.mount(Root(), '', {'/': {'tools.encode.on': True}})\n")
    (code / "extra.py").write_text("import drupe\ndrupe.config.namespaces['site'] = lambda k, v: None\n")
    port = free_port()
    (tmp_path / "site.conf").write_text(f"[global]\nserver.socket_port: {port}\nsite.extra: 'two'\n")
    (tmp_path / "app.conf").write_text("[/]\ntools.response_headers.on: True\n"
                                       "tools.response_headers.headers: [('X-App', 'merged')]\n")
    server = processes.start(drupe_command("-P", "code", "-i", "extra", "-i", "mounted", "-c", "site.conf",
                                           "-c", "app.conf", "-e", "staging"), tmp_path)
    # The single mounted application took app.conf's [/] section (cherryd's rule).
    response = wait_for_http(port, process=server)
    assert response.text == "staging two"
    assert response.headers["x-app"] == "merged"
    server.send_signal(signal.SIGTERM)
    assert server.finish() == 0


@pytest.mark.parametrize(("option", "label"), [("-f", "FastCGI"), ("-s", "SCGI"), ("-x", "CGI")])
def test_flup_servers_are_refused_with_the_reason(tmp_path: Path, processes: Processes, option: str,
                                                  label: str) -> None:
    done = processes.run(drupe_command(option, "-i", "json"), tmp_path)
    assert done.returncode == 2
    assert f"{option} ({label}) is not supported" in done.stderr
    assert "flup" in done.stderr
    assert "deploy/README.md" in done.stderr


def test_import_and_config_errors_are_one_line_each(tmp_path: Path, processes: Processes) -> None:
    missing = processes.run(drupe_command("-i", "no_such_module_here"), tmp_path)
    assert missing.returncode == 1
    assert "cannot import 'no_such_module_here' (-i): no module named 'no_such_module_here'" in missing.stderr
    no_file = processes.run(drupe_command("-c", "nowhere.conf"), tmp_path)
    assert no_file.returncode == 1
    assert "config file 'nowhere.conf' (-c) does not exist" in no_file.stderr
    (tmp_path / "typo.conf").write_text("[global]\nengine.pidfiel.on: True\n")
    typo = processes.run(drupe_command("-c", "typo.conf"), tmp_path)
    assert typo.returncode == 1
    assert "'pidfiel'" in typo.stderr
    assert "Did you mean 'pidfile'?" in typo.stderr


def test_python_dash_m_drupe_is_the_same_command(tmp_path: Path, processes: Processes) -> None:
    import shutil

    script = shutil.which("drupe", path=os.path.dirname(sys.executable))
    if script is None:
        script = shutil.which("drupe")
    assert script is not None, "the drupe console script is installed with drupe-kernel"
    by_script = processes.run([script, "--help"], tmp_path)
    by_module = processes.run(drupe_command("--help"), tmp_path)
    assert by_script.returncode == by_module.returncode == 0
    assert by_script.stdout == by_module.stdout
    assert "-c FILE, --config FILE" in by_module.stdout
