"""The ``drupe`` command's parsing, in-process (the processes it runs are tested in
tests/deploy/), and the bus rule it relies on for SIGTERM during start-up."""

from __future__ import annotations

import pytest

import drupe
from drupe import _cli


def parse(*argv: str) -> object:
    args = _cli._merged_process_options(_cli._build_parser().parse_args(list(argv)))
    return args


def test_cherryd_options_repeat_and_merge_with_a_subcommand() -> None:
    args = parse("-c", "a.conf", "-i", "one", "-P", "lib", "serve", "m:app", "-c", "b.conf", "-i", "two",
                 "-d", "-p", "x.pid", "-e", "production")
    assert args.config == ["a.conf", "b.conf"]            # type: ignore[attr-defined]
    assert args.imports == ["one", "two"]                  # type: ignore[attr-defined]
    assert args.paths == ["lib"]                           # type: ignore[attr-defined]
    assert (args.daemonize, args.pidfile, args.environment) == (True, "x.pid", "production")  # type: ignore[attr-defined]
    assert args.target == "m:app"                          # type: ignore[attr-defined]


def test_no_options_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.main([]) == 2
    assert "drupe serve MODULE:OBJECT" in capsys.readouterr().out


def test_fastcgi_is_refused_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.main(["-f"]) == 2
    assert "-f (FastCGI) is not supported" in capsys.readouterr().err


def test_the_reloader_child_command_drops_the_reload_options() -> None:
    command = _cli._child_command(["serve", "m:app", "--reload", "--reload-interval", "0.1",
                                   "--watch=x", "--watch", "y", "--port", "8"])
    assert command[1:] == ["-m", "drupe", "serve", "m:app", "--port", "8"]


def test_exit_while_starting_is_carried_out_once_started() -> None:
    bus = drupe.Bus()
    log: list[str] = []
    bus.subscribe("log", lambda message, level=20: log.append(message))
    bus.subscribe("start", bus.exit, priority=60)    # as SIGTERM arriving during start-up
    bus.subscribe("start", lambda: log.append("later start listener"), priority=70)
    bus.start()
    assert bus.state is drupe.states.EXITING
    assert log.index("later start listener") < log.index("Bus STARTED") < log.index("Bus STOPPING")
    assert "Exit requested while the bus is starting: exiting once it has started." in log


@pytest.mark.parametrize(("argv", "expected"), [
    (["python", "-m", "cherrypy", "-c", "site.conf"], True),
    (["python", "-m", "drupe_cherrypy", "-m", "cherrypy", "-i", "app"], True),
    (["python", "-m", "cherrypy.__main__"], True),
    (["python", "-m", "drupe", "-c", "site.conf"], False),
    (["/usr/bin/drupe", "-i", "cherrypy"], False),
    (["python", "-m"], False),
])
def test_run_as_cherrypy_is_read_from_the_command_line(monkeypatch: pytest.MonkeyPatch,
                                                       argv: list[str], expected: bool) -> None:
    # `python -m cherrypy` (drupe-cherrypy's alias) handles SIGHUP as cherryd does; the
    # drupe command alone reads "no terminal" as "SIGHUP means reload".
    import sys

    monkeypatch.setattr(sys, "orig_argv", argv)
    assert _cli._run_as_cherrypy() is expected
