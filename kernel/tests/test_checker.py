"""Startup validation (config errors stop the engine) and the checker's advice."""

from __future__ import annotations

from typing import Any

import pytest
from kernel_support import error_lines, mount

import drupe


class Root:
    @drupe.expose
    def index(self) -> str:
        return "index"


def greet(name: str = "world", *, loud: bool = False) -> None:
    drupe.response.headers["X-Greet"] = name


@pytest.fixture
def started() -> list[str]:
    """Records whether anything after validation ran on 'start'."""
    record: list[str] = []

    def after_validation() -> None:
        record.append("started")

    drupe.server.unsubscribe()
    drupe.engine.subscribe("start", after_validation, priority=20)
    yield record
    drupe.engine.unsubscribe("start", after_validation)


def checker_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [line.split(" CHECKER ", 1)[1] for line in error_lines(caplog) if " CHECKER " in line]


# ---------------------------------------------------------------------------
# Validation


def test_every_problem_is_reported_and_nothing_starts(started: list[str]) -> None:
    drupe.tools.greet = drupe.Tool("before_handler", greet)
    drupe.config.update({"tols.greet.on": True})
    mount(Root(), config={
        "/": {
            "request.show_tracebaks": False,
            "tools.greet.on": True,
            "tools.greet.nmae": "typo",
            "response.headers.X-Fine": "ok",
        },
        "/other": {"resopnse.timeout": 5},
    })
    with pytest.raises(drupe.ConfigError) as info:
        drupe.engine.start()
    message = str(info.value)
    assert message.startswith("Invalid configuration:")
    problems = message.splitlines()[1:]
    assert len(problems) == 4, message
    assert "global config: Config key 'tols.greet.on'" in message
    assert "Did you mean 'tools'?" in message
    assert "'request.show_tracebaks': the request has no attribute 'show_tracebaks'" in message
    assert "Did you mean request.show_tracebacks?" in message
    assert "'tools.greet.nmae'" in message
    assert "Did you mean 'name'?" in message
    assert "section [/other]: Config key 'resopnse.timeout'" in message
    assert "Did you mean 'response'?" in message
    assert started == []
    assert drupe.engine.state is drupe.states.STOPPED


def test_validation_names_the_mount_point_and_section(started: list[str]) -> None:
    mount(Root(), "/shop", {"/cart": {"request.nonsense": 1}})
    with pytest.raises(drupe.ConfigError,
                       match=r"application mounted at '/shop', section \[/cart\]"):
        drupe.engine.start()


def test_unknown_response_attribute_and_hook_point(started: list[str]) -> None:
    mount(Root(), config={"/": {"response.stram": True,
                                "hooks.before_everything": lambda: None,
                                "hooks.before_handler": "not callable at all"}})
    with pytest.raises(drupe.ConfigError) as info:
        drupe.engine.start()
    message = str(info.value)
    assert "Did you mean response.stream?" in message
    assert "'before_everything' is not a hook point" in message
    assert "'hooks.before_handler'" in message


def test_handler_cp_config_is_validated(started: list[str]) -> None:
    class App:
        @drupe.expose
        @drupe.config(**{"request.no_such_thing": 1})
        def index(self) -> str:
            return "x"

        class nested:
            _cp_config = {"badns.key": 1}

            @drupe.expose
            def index(self) -> str:
                return "y"

        nested = nested()  # type: ignore[misc, assignment]

    mount(App())
    with pytest.raises(drupe.ConfigError) as info:
        drupe.engine.start()
    message = str(info.value)
    assert "_cp_config of root.index" in message
    assert "_cp_config of root.nested" in message


def test_a_valid_config_starts(started: list[str]) -> None:
    drupe.tools.greet = drupe.Tool("before_handler", greet)
    drupe.config.update({"response.timeout": 10})
    mount(Root(), config={"/": {"tools.greet.on": True, "tools.greet.name": "you",
                                "request.show_tracebacks": False,
                                "response.headers.X-A": "1",
                                "error_page.404": "/tmp/none.html",
                                "hooks.before_handler": lambda: None}})
    drupe.engine.start()
    try:
        assert started == ["started"]
        assert drupe.engine.state is drupe.states.STARTED
    finally:
        drupe.engine.exit()


def test_validation_does_not_depend_on_the_checker(started: list[str]) -> None:
    drupe.config.update({"checker.on": False})
    mount(Root(), config={"/": {"request.nope": 1}})
    with pytest.raises(drupe.ConfigError):
        drupe.engine.start()


def test_global_config_is_checked_without_applications(started: list[str]) -> None:
    drupe.config.update({"request.nope": 1})
    with pytest.raises(drupe.ConfigError, match="global config"):
        drupe.engine.start()


def test_app_and_custom_namespaces_are_known(started: list[str]) -> None:
    drupe.config.namespaces["db"] = lambda key, value: None
    drupe.Request.namespaces["trace"] = lambda key, value: None
    app = drupe.Application(Root(), "")
    app.namespaces["mine"] = lambda key, value: None
    app.merge({"/": {"mine.x": 1, "trace.level": 2, "db.url": "x"}})
    drupe.tree.mount(app)
    drupe.config.update({"db.url": "y"})
    drupe.engine.start()
    drupe.engine.exit()
    assert started == ["started"]


# ---------------------------------------------------------------------------
# The checker's warnings


def start_and_stop() -> None:
    drupe.engine.start()
    drupe.engine.exit()


def test_checker_warns_about_an_empty_app_config(started: list[str],
                                                 drupe_logs: pytest.LogCaptureFixture) -> None:
    drupe.tree.mount(Root(), "/bare")
    start_and_stop()
    assert checker_warnings(drupe_logs) == [
        "The Application mounted at '/bare' has an empty config."]


def test_checker_warnings(started: list[str], drupe_logs: pytest.LogCaptureFixture) -> None:
    drupe.config.update({"server.socket_host": "localhost"})
    mount(Root(), "/app", {"/app/page": {"response.headers.X": "1"},
                           "/": {"engine.autoreload.on": False, "server.socket_port": 1},
                           "[/brackets]": {"response.headers.Y": "1"}})
    drupe.engine.subscribe("start", _no_validation_for_this_test, priority=9)
    try:
        start_and_stop()
    finally:
        drupe.engine.unsubscribe("start", _no_validation_for_this_test)
    warnings = " | ".join(checker_warnings(drupe_logs))
    assert "has config section [/app/page], which starts with its mount point" in warnings
    assert "did you mean [/page]?" in warnings
    assert "'engine.autoreload.on' in section [/]" in warnings
    assert "'server.socket_port' in section [/]" in warnings
    assert "remove the brackets" in warnings
    assert "server.socket_host is 'localhost'" in warnings


def _no_validation_for_this_test() -> None:
    # The checker test mounts config that validation would (rightly) refuse; take
    # validation off the start channel for that one test.
    from drupe import _checker

    drupe.engine.unsubscribe("start", _checker.validate)
    drupe.engine.subscribe("start", _restore_validation, priority=90)


def _restore_validation() -> None:
    from drupe import _checker

    drupe.engine.subscribe("start", _checker.validate, priority=10)
    drupe.engine.unsubscribe("start", _restore_validation)


def test_checker_off(started: list[str], drupe_logs: pytest.LogCaptureFixture) -> None:
    drupe.config.update({"checker.on": False})
    drupe.tree.mount(Root(), "/bare")
    start_and_stop()
    assert checker_warnings(drupe_logs) == []


def test_checker_off_in_production(started: list[str], drupe_logs: pytest.LogCaptureFixture) -> None:
    drupe.config.update({"environment": "production"})
    drupe.tree.mount(Root(), "/bare")
    start_and_stop()
    assert checker_warnings(drupe_logs) == []


def test_one_check_can_be_turned_off(started: list[str],
                                     drupe_logs: pytest.LogCaptureFixture) -> None:
    original: Any = drupe.checker.check_skipped_app_config
    drupe.config.update({"checker.check_skipped_app_config": False})
    try:
        drupe.tree.mount(Root(), "/bare")
        start_and_stop()
        assert checker_warnings(drupe_logs) == []
    finally:
        drupe.checker.check_skipped_app_config = original  # type: ignore[method-assign]
        vars(drupe.checker).pop("check_skipped_app_config", None)


def test_unknown_checker_key() -> None:
    with pytest.raises(drupe.ConfigError, match=r"'checker\.check_nothing'"):
        drupe.config.update({"checker.check_nothing": False})


# ---------------------------------------------------------------------------
# quickstart


QUICKSTART = """
import threading
import drupe

class Root:
    @drupe.expose
    def index(self):
        return "hi"

drupe.server.unsubscribe()  # no HTTP server in this test
{setup}
drupe.quickstart(Root(), "", {config!r})
print("quickstart returned", drupe.engine.state)
"""


def run_quickstart(config: dict[str, Any], setup: str = "") -> Any:
    import os
    import subprocess
    import sys

    env = dict(os.environ, DRUPE_DISABLE_PLUGIN_AUTOLOAD="1")
    return subprocess.run([sys.executable, "-c", QUICKSTART.format(config=config, setup=setup)],
                          capture_output=True, text=True, timeout=60, env=env, check=False)


def test_quickstart_with_a_config_error_exits_1_without_traceback() -> None:
    completed = run_quickstart({"global": {"log.screen": True},
                                "/": {"request.show_tracebaks": False}})
    assert completed.returncode == 1
    assert "Invalid configuration" in completed.stderr
    assert "Did you mean request.show_tracebacks?" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert "quickstart returned" not in completed.stdout


def test_quickstart_starts_blocks_and_returns_on_exit() -> None:
    completed = run_quickstart(
        {"global": {"log.screen": True}, "/": {"response.headers.X": "1"}},
        setup=("drupe.engine.subscribe('start', "
               "lambda: threading.Timer(0.2, drupe.engine.exit).start(), priority=90)"))
    assert completed.returncode == 0, completed.stderr
    assert "ENGINE Bus STARTED" in completed.stderr
    assert "ENGINE Bus EXITED" in completed.stderr
    assert "quickstart returned states.EXITING" in completed.stdout
