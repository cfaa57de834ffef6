"""Logging: the access-log format and its escaping, handlers, app logs, tracebacks."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from kernel_support import access_lines, call, error_lines, error_text, mount

import drupe

ACCESS_LINE = re.compile(
    r'^(?P<host>\S+) - (?P<user>\S+) \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d\] '
    r'"(?P<request>(?:[^"\\]|\\.)*)" (?P<status>\d{3}|-) (?P<length>\d+|-) '
    r'"(?P<referer>(?:[^"\\]|\\.)*)" "(?P<agent>(?:[^"\\]|\\.)*)"$')


class Root:
    @drupe.expose
    def index(self, **params: str) -> str:
        return "hello"

    @drupe.expose
    def default(self, *segments: str) -> str:
        return "default"

    @drupe.expose
    def login(self) -> str:
        drupe.request.login = "ada"
        return "in"

    @drupe.expose
    def note(self) -> str:
        drupe.log("a note from the handler", "APP", severity=logging.WARNING)
        try:
            raise KeyError("inside")
        except KeyError:
            drupe.log("caught it", traceback=True)
        return "noted"


def test_access_line_format(drupe_logs: pytest.LogCaptureFixture) -> None:
    mount(Root())
    call(path="/?q=1", headers=[("Referer", "http://example.org/from"),
                                ("User-Agent", "tester/1.0")])
    (line,) = access_lines(drupe_logs)
    match = ACCESS_LINE.match(line)
    assert match is not None, line
    assert match.group("host") == "127.0.0.1"
    assert match.group("user") == "-"
    assert match.group("request") == "GET /?q=1 HTTP/1.1"
    assert (match.group("status"), match.group("length")) == ("200", "5")
    assert match.group("referer") == "http://example.org/from"
    assert match.group("agent") == "tester/1.0"


def test_access_line_shows_the_login(drupe_logs: pytest.LogCaptureFixture) -> None:
    mount(Root())
    call(path="/login")
    (line,) = access_lines(drupe_logs)
    assert line.split(" ")[2] == "ada"


@pytest.mark.parametrize("raw_path", [
    '/a"b',
    "/x\n127.0.0.1 - - [01/Jan/2020:00:00:00] \"GET /admin HTTP/1.1\" 200 1 \"\" \"\"",
    "/tab\there\\back",
    "/\x1b[31mred",
])
def test_request_lines_cannot_forge_log_lines(raw_path: str,
                                              drupe_logs: pytest.LogCaptureFixture) -> None:
    mount(Root())
    call(path="/", raw_path=raw_path, headers=[("User-Agent", 'evil"\nagent')])
    (line,) = access_lines(drupe_logs)
    assert "\n" not in line
    assert "\r" not in line
    assert "\x1b" not in line
    match = ACCESS_LINE.match(line)
    assert match is not None, line
    assert match.group("status") == "200"
    assert match.group("agent") == 'evil\\"\\nagent'


def test_access_log_uses_the_raw_request_uri(drupe_logs: pytest.LogCaptureFixture) -> None:
    mount(Root())
    call(path="/x", REQUEST_URI="/x%20y?z")
    (line,) = access_lines(drupe_logs)
    assert '"GET /x%20y?z HTTP/1.1"' in line


def test_custom_access_log_format(drupe_logs: pytest.LogCaptureFixture) -> None:
    app = mount(Root())
    app.log.access_log_format = "{h} {s} {o} {i}"
    call(path="/", host="example.com")
    (line,) = access_lines(drupe_logs)
    host, status, vhost, unique_id = line.split(" ")
    assert (host, status, vhost) == ("127.0.0.1", "200", "example.com")
    assert len(unique_id) == 36


def test_log_screen_writes_to_the_standard_streams(capsys: pytest.CaptureFixture[str]) -> None:
    mount(Root())
    drupe.config.update({"log.screen": True})
    call(path="/")
    drupe.log("to the screen")
    captured = capsys.readouterr()
    assert '"GET / HTTP/1.1" 200 5' in captured.out
    assert "to the screen" in captured.err
    drupe.config.update({"log.screen": False})
    call(path="/")
    drupe.log("silent")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ""


def test_log_files(tmp_path: Path) -> None:
    error_file = tmp_path / "error.log"
    access_file = tmp_path / "access.log"
    mount(Root())
    drupe.config.update({"log.error_file": str(error_file), "log.access_file": str(access_file)})
    assert drupe.log.error_file == str(error_file)
    call(path="/")
    drupe.log("into the file")
    drupe.config.update({"log.error_file": "", "log.access_file": ""})
    assert drupe.log.error_file == ""
    assert drupe.log.access_file == ""
    call(path="/after")
    drupe.log("not in the file")
    errors = error_file.read_text(encoding="utf-8")
    accesses = access_file.read_text(encoding="utf-8")
    assert "into the file" in errors
    assert "not in the file" not in errors
    assert '"GET / HTTP/1.1" 200' in accesses
    assert "/after" not in accesses


def test_per_application_log_files(tmp_path: Path) -> None:
    app_access = tmp_path / "app-access.log"
    app = mount(Root(), "/app", {"/": {"log.access_file": str(app_access)}})
    assert app.log.access_file == str(app_access)
    mount(Root(), "/other")
    call(path="/app/")
    call(path="/other/")
    app.log.access_file = ""
    lines = app_access.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    assert '"GET /app/ HTTP/1.1"' in lines[0]


def test_app_logs_propagate_to_the_global_log(tmp_path: Path) -> None:
    error_file = tmp_path / "error.log"
    drupe.config.update({"log.error_file": str(error_file)})
    app = mount(Root(), "/app")
    call(path="/app/note")
    drupe.log.error_file = ""
    text = error_file.read_text(encoding="utf-8")
    assert "APP a note from the handler" in text
    assert app.log.error_log.name.startswith("cherrypy.error.")
    assert app.log.error_log.parent is drupe.log.error_log


def test_log_with_traceback(drupe_logs: pytest.LogCaptureFixture) -> None:
    mount(Root())
    call(path="/note")
    text = error_text(drupe_logs)
    assert "caught it" in text
    assert "KeyError: 'inside'" in text
    assert "Traceback (most recent call last)" in text
    (warning,) = [r for r in drupe_logs.records if "a note from the handler" in r.getMessage()]
    assert warning.levelno == logging.WARNING


def test_log_traceback_outside_an_exception_is_plain(drupe_logs: pytest.LogCaptureFixture) -> None:
    drupe.log("nothing wrong", "CTX", traceback=True)
    assert error_text(drupe_logs).endswith("CTX nothing wrong")


def test_log_lines_have_time_and_context(drupe_logs: pytest.LogCaptureFixture) -> None:
    drupe.log("message", "CONTEXT")
    (line,) = error_lines(drupe_logs)
    assert re.fullmatch(r"\[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d\] CONTEXT message", line)


def test_engine_messages_go_to_the_error_log(drupe_logs: pytest.LogCaptureFixture) -> None:
    drupe.engine.log("bus says hi")
    assert any(line.endswith("ENGINE bus says hi") for line in error_lines(drupe_logs))


def test_log_wsgi_writes_to_wsgi_errors() -> None:
    mount(Root())
    drupe.config.update({"log.wsgi": True})
    try:
        result = call(path="/note")
    finally:
        drupe.config.update({"log.wsgi": False})
    assert "caught it" in result.errors


def test_unknown_log_setting_is_a_config_error() -> None:
    with pytest.raises(drupe.ConfigError, match=r"'log\.scren'"):
        drupe.config.update({"log.scren": False})


def test_reopen_files_on_graceful(tmp_path: Path) -> None:
    error_file = tmp_path / "error.log"
    drupe.config.update({"log.error_file": str(error_file)})
    drupe.log("before rotation")
    rotated = tmp_path / "error.log.1"
    error_file.rename(rotated)
    drupe.engine.graceful()
    drupe.log("after rotation")
    drupe.log.error_file = ""
    assert "before rotation" in rotated.read_text(encoding="utf-8")
    assert "after rotation" in error_file.read_text(encoding="utf-8")
