"""log_tracebacks, log_headers (both on by default) and log_hooks."""

from __future__ import annotations

import logging
from typing import Any

import pytest

import drupe
from drupe_testing import Client


class Root:
    @drupe.expose
    def index(self) -> str:
        return "fine"

    @drupe.expose
    def boom(self) -> str:
        raise ValueError("the page handler broke")

    @drupe.expose
    def flag(self) -> str:
        return repr(drupe.request.error_logged)

    @drupe.expose
    def not_found(self) -> str:
        raise drupe.NotFound()


def tracebacks(log: list[str]) -> list[str]:
    """The messages logging the page handler's error (with that error's traceback)."""
    return [message for message in log if "Error while handling 'GET /boom" in message
            and message.rstrip().endswith("ValueError: the page handler broke")]


def test_an_error_is_logged_once_with_its_traceback(client: Client, error_log: list[str]) -> None:
    drupe.tree.mount(Root())
    reply = client.get("/boom")
    assert reply.status == 500
    logged = tracebacks(error_log)
    assert len(logged) == 1
    assert "Error while handling 'GET /boom HTTP/1.1':" in logged[0]
    assert "Traceback (most recent call last):" in logged[0]


def test_log_tracebacks_marks_the_error_as_logged(client: Client) -> None:
    seen: list[bool] = []

    def after() -> None:
        seen.append(drupe.request.error_logged)

    drupe.tools.see_flag = drupe.Tool("before_error_response", after, priority=90)
    drupe.tree.mount(Root(), "", {"/": {"tools.see_flag.on": True}})
    client.get("/boom")
    assert seen == [True]
    assert client.get("/flag").text == "False"


def test_without_log_tracebacks_the_kernel_logs_it_once(client: Client, error_log: list[str]) -> None:
    seen: list[bool] = []
    drupe.tools.see_flag = drupe.Tool("before_error_response",
                                      lambda: seen.append(drupe.request.error_logged), priority=90)
    drupe.tree.mount(Root(), "", {"/": {"tools.log_tracebacks.on": False, "tools.see_flag.on": True}})
    client.get("/boom")
    assert seen == [False]
    assert len(tracebacks(error_log)) == 1


def test_severity(client: Client) -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    drupe.log.error_log.addHandler(handler)
    try:
        drupe.tree.mount(Root(), "", {"/": {"tools.log_tracebacks.severity": logging.WARNING}})
        client.get("/boom")
    finally:
        drupe.log.error_log.removeHandler(handler)
    levels = [record.levelno for record in records if "Error while handling" in record.getMessage()]
    assert levels == [logging.WARNING]


def test_http_errors_are_not_logged(client: Client, error_log: list[str]) -> None:
    drupe.tree.mount(Root())
    assert client.get("/not_found").status == 404
    assert error_log == []


def test_log_headers(client: Client, error_log: list[str]) -> None:
    drupe.tree.mount(Root())
    client.get("/boom", headers={"X-Request-Note": "hello"})
    headers = [line for line in error_log if "Request Headers:" in line]
    assert len(headers) == 1
    assert "  X-Request-Note: hello" in headers[0]
    assert "  Host: localhost" in headers[0]


def test_log_headers_off(client: Client, error_log: list[str]) -> None:
    drupe.tree.mount(Root(), "", {"/": {"tools.log_headers.on": False}})
    client.get("/boom")
    assert not [line for line in error_log if "Request Headers:" in line]
    assert len(tracebacks(error_log)) == 1


def test_a_failing_error_hook_does_not_hide_the_error(client: Client, error_log: list[str]) -> None:
    def broken() -> None:
        raise RuntimeError("the error hook broke")

    drupe.tools.broken = drupe.Tool("before_error_response", broken, priority=10)
    drupe.tree.mount(Root(), "", {"/": {"tools.broken.on": True}})
    assert client.get("/boom").status == 500
    # The hook's failure is logged, and so is the original error (once).
    assert any("the error hook broke" in line for line in error_log)
    assert len(tracebacks(error_log)) == 1


def test_log_hooks(client: Client, error_log: list[str]) -> None:
    drupe.tree.mount(Root(), "", {"/": {"tools.log_hooks.on": True}})
    client.get("/")
    logged = [line for line in error_log if "Request Hooks for" in line]
    assert len(logged) == 1
    text = logged[0]
    assert "Request Hooks for http://localhost/:" in text
    points = [line.strip() for line in text.splitlines() if line.strip().endswith(":")][1:]
    assert points == ["on_start_resource:", "before_request_body:", "before_handler:",
                      "before_finalize:", "on_end_resource:", "on_end_request:",
                      "before_error_response:", "after_error_response:"]
    handler_section = text.split("before_handler:")[1].split("before_finalize:")[0]
    # trailing_slash (60) runs before encode (70).
    assert handler_section.index("trailing_slash") < handler_section.index("wrap_handler")


@pytest.mark.parametrize("name", ["log_tracebacks", "log_headers"])
def test_error_logging_tools_hook_point(name: str) -> None:
    tool: Any = getattr(drupe.tools, name)
    assert (tool.point, tool.priority) == ("before_error_response", 50)
