"""``drupe check CONFIG``: every problem of a config file, named by key, without starting."""

from __future__ import annotations

from pathlib import Path

from deploy_support import RECIPES, Processes, drupe_command

BAD = """\
[global]
server.socket_port: 8080
server.socket_prot: 8080
engine.autoreload.frequencyy: 2
engine.daemonizr.on: True
engine.drop_privileges.uid: 'no-such-user-here'
log.screeen: True
environment: 'prod'
tools.gzipp.on: True

[/]
tools.encode.on: True
tools.encode.encodingg: 'utf-8'
request.show_traceback: False
acme.thing.on: True
response.timeout: 3 +
tools.sessions.storage_type: 'no_such_store'

[extra]
anything: 1
"""


def test_check_names_every_problem_and_fails(tmp_path: Path, processes: Processes) -> None:
    (tmp_path / "bad.conf").write_text(BAD)
    done = processes.run(drupe_command("check", "bad.conf"), tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    expected = [
        "server.socket_prot", "Did you mean 'server.socket_port'?",
        "engine.autoreload.frequencyy",
        "'daemonizr'", "Did you mean 'daemonizer'?",
        "there is no user named 'no-such-user-here'",
        "log.screeen",
        "unknown environment 'prod'",
        "'gzipp'", "Did you mean 'gzip'?",
        "tools.encode.encodingg", "Did you mean 'encoding'?",
        "request.show_traceback",
        "no handler for the config namespace 'acme'",
        "[/] response.timeout", "not valid Python syntax",
        "'no_such_store'",
        "warning: section [extra] is ignored",
    ]
    for text in expected:
        assert text in out, f"{text!r} not in:\n{out}"
    assert "bad.conf: 13 problems:" in out


def test_check_names_the_distribution_to_install(tmp_path: Path, processes: Processes) -> None:
    (tmp_path / "static.conf").write_text("[/]\ntools.caching.on: True\ntools.nonesuch_tool.on: True\n")
    done = processes.run(drupe_command("check", "static.conf"), tmp_path)
    assert done.returncode == 1
    assert "No tool named 'nonesuch_tool' is installed" in done.stdout


def test_the_recipes_configs_are_valid(tmp_path: Path, processes: Processes) -> None:
    names = ["app.conf", "reuse_port.conf", "proxied.conf"]
    done = processes.run(drupe_command("check", *(str(RECIPES / name) for name in names)), tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    for name in names:
        assert f"{name}: OK" in done.stdout


def test_check_with_imports_knows_the_applications_namespaces(tmp_path: Path, processes: Processes) -> None:
    (tmp_path / "ns.py").write_text("import drupe\ndrupe.config.namespaces['acme'] = lambda k, v: None\n")
    (tmp_path / "acme.conf").write_text("[global]\nacme.level: 3\n")
    without = processes.run(drupe_command("check", "acme.conf"), tmp_path)
    assert without.returncode == 1
    with_import = processes.run(drupe_command("check", "-i", "ns", "acme.conf"), tmp_path)
    assert with_import.returncode == 0, with_import.stdout
    missing = processes.run(drupe_command("check", "nowhere.conf"), tmp_path)
    assert missing.returncode == 1
    assert "no such file" in missing.stdout
