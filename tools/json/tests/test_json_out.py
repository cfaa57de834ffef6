"""json_out: encoding the handler's value, custom handlers, streaming, HEAD and errors."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest

import drupe
from drupe_testing import Client


class Api:
    @drupe.expose
    @drupe.tools.json_out()
    def index(self) -> Any:
        return {"key": "value"}

    @drupe.expose
    @drupe.tools.json_out()
    def text(self) -> Any:
        return {"greeting": "grüß dich", "emoji": "🍒", "list": [1, 2.5, None, False]}

    @drupe.expose
    @drupe.tools.json_out()
    def args(self, name: str, count: str = "1") -> Any:
        return {"name": name, "count": int(count)}

    @drupe.expose
    @drupe.tools.json_out()
    def when(self) -> Any:
        return {"now": datetime.date(2024, 1, 1)}

    @drupe.expose
    @drupe.tools.json_out()
    def nan(self) -> Any:
        return [float("nan")]

    @drupe.expose
    @drupe.tools.json_out()
    def missing(self) -> Any:
        raise drupe.NotFound()

    @drupe.expose
    @drupe.tools.json_out(content_type="application/vnd.api+json")
    def vendor(self) -> Any:
        return []

    @drupe.expose
    @drupe.tools.json_out(content_type=None)
    def untyped(self) -> Any:
        drupe.response.headers["Content-Type"] = "application/x-json"
        return [1]


@pytest.fixture
def api(client: Client) -> Client:
    drupe.tree.mount(Api())
    return client


def test_the_value_is_encoded_as_json(api: Client) -> None:
    response = api.get("/")
    assert response.status == 200
    assert response.body == b'{"key": "value"}'
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Content-Length"] == str(len(response.body))


def test_output_is_utf8_bytes_of_valid_json(api: Client) -> None:
    response = api.get("/text")
    assert response.status == 200
    # ASCII-safe escapes, as CherryPy sends, and valid in any JSON parser.
    response.body.decode("ascii")
    assert json.loads(response.body) == {"greeting": "grüß dich", "emoji": "🍒",
                                         "list": [1, 2.5, None, False]}


def test_handler_arguments_pass_through(api: Client) -> None:
    assert api.get("/args", params={"name": "x", "count": "3"}).json() == {"name": "x", "count": 3}
    assert api.get("/args").status == 404  # the missing argument, as without the tool


def test_content_type_argument(api: Client) -> None:
    assert api.get("/vendor").headers["Content-Type"] == "application/vnd.api+json"
    assert api.get("/untyped").headers["Content-Type"] == "application/x-json"


def test_streaming_responses_carry_the_same_bytes(client: Client) -> None:
    drupe.tree.mount(Api(), "/", {"/": {"response.stream": True}})
    response = client.get("/text")
    assert response.status == 200
    assert "Content-Length" not in response.headers
    assert json.loads(response.body)["emoji"] == "🍒"


def test_head_sends_the_headers_only(api: Client) -> None:
    response = api.head("/")
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Content-Length"] == "16"
    assert response.body == b""


@pytest.mark.parametrize(("path", "problem"), [("/when", "date is not JSON serializable"),
                                               ("/nan", "Out of range float values")])
def test_values_json_cannot_hold_are_a_logged_500(api: Client, error_log: list[str], path: str,
                                                  problem: str) -> None:
    response = api.get(path)
    assert response.status == 500
    logged = "\n".join(error_log)
    assert "cannot be encoded as JSON" in logged
    assert problem in logged


def test_errors_are_answered_as_usual(api: Client) -> None:
    response = api.get("/missing")
    assert response.status == 404
    assert response.headers["Content-Type"].startswith("text/html")


def test_a_custom_handler_written_for_cherrypy(client: Client) -> None:
    def pretty(*args: Any, **kwargs: Any) -> str:
        value = drupe.serving.request._json_inner_handler(*args, **kwargs)
        return json.dumps(value, indent=1, sort_keys=True)

    class Root:
        @drupe.expose
        @drupe.tools.json_out(handler=pretty)
        def index(self) -> Any:
            return {"b": 1, "a": "é"}

    drupe.tree.mount(Root())
    response = client.get("/")
    assert response.status == 200
    assert response.text == '{\n "a": "\\u00e9",\n "b": 1\n}'
    assert response.headers["Content-Type"] == "application/json"


def test_nothing_is_wrapped_when_a_tool_already_answered(client: Client) -> None:
    def answer_early() -> None:
        drupe.serving.request.handler = None
        drupe.serving.response.body = b"cached answer"

    answer_early.priority = 10  # type: ignore[attr-defined]

    class Root:
        @drupe.expose
        def index(self) -> Any:
            raise AssertionError("the handler must not run")

    drupe.tree.mount(Root(), "/", {"/": {"tools.json_out.on": True,
                                         "hooks.before_handler": answer_early}})
    response = client.get("/")
    assert response.body == b"cached answer"
    assert response.headers["Content-Type"].startswith("text/html")


def test_json_in_and_json_out_together(client: Client) -> None:
    class Root:
        @drupe.expose
        @drupe.tools.json_in()
        @drupe.tools.json_out()
        def double(self) -> Any:
            return [2 * item for item in drupe.request.json]

    drupe.tree.mount(Root())
    assert client.post("/double", json=[1, 2, 3]).json() == [2, 4, 6]


def test_debug_logs(api: Client, error_log: list[str], client: Client) -> None:
    drupe.reset()
    drupe.config.update({"log.screen": False})
    drupe.tree.mount(Api(), "/", {"/": {"tools.json_out.debug": True}})
    client.get("/")
    logged = "\n".join(error_log)
    assert "Replacing" in logged
    assert "Setting Content-Type to application/json" in logged


@pytest.mark.parametrize(("argument", "value"), [("content_type", 3), ("handler", "nope"),
                                                 ("debug", "on")])
def test_bad_settings_name_the_key(argument: str, value: Any) -> None:
    with pytest.raises(drupe.ConfigError, match=rf"'tools\.json_out\.{argument}'"):
        drupe.tools.json_out(**{argument: value})
