"""json_in and the JSON body processor: what is parsed, and every way a body is refused."""

from __future__ import annotations

import json
from typing import Any

import pytest

import drupe
from drupe_testing import Client

JSON = {"Content-Type": "application/json"}


class Echo:
    """Answers with what json_in parsed (as JSON, so the test can compare values)."""

    @drupe.expose
    def index(self, **params: Any) -> str:
        return json.dumps({"json": getattr(drupe.request, "json", "(unset)"), "params": params})

    @drupe.expose
    def raw(self) -> bytes:
        return drupe.request.body.read()


def mount(conf: dict[str, Any] | None = None, **tool_args: Any) -> None:
    settings: dict[str, Any] = {"tools.json_in.on": True}
    settings.update({f"tools.json_in.{key}": value for key, value in tool_args.items()})
    drupe.tree.mount(Echo(), "/", {"/": settings} if conf is None else conf)


def parsed(response: Any) -> Any:
    assert response.status == 200, response.text
    return response.json()["json"]


# -- switched on the documented ways -----------------------------------------------------


class Decorated:
    @drupe.expose
    @drupe.tools.json_in()
    def index(self) -> str:
        return json.dumps(drupe.request.json)


class CpConfig:
    _cp_config = {"tools.json_in.on": True}

    @drupe.expose
    def index(self) -> str:
        return json.dumps(drupe.request.json)


@pytest.mark.parametrize("root", [Decorated(), CpConfig()], ids=["decorator", "_cp_config"])
def test_switched_on_by_decorator_and_cp_config(client: Client, root: Any) -> None:
    drupe.tree.mount(root)
    response = client.post("/", json={"a": [1, 2.5, None, True], "b": "ü"})
    assert response.status == 200
    assert response.json() == {"a": [1, 2.5, None, True], "b": "ü"}


@pytest.mark.parametrize("content_type", ["application/json", "APPLICATION/JSON",
                                          "application/json; charset=utf-8",
                                          "application/json;charset=UTF-8", "text/javascript"])
def test_parses_the_default_media_types(client: Client, content_type: str) -> None:
    mount()
    response = client.post("/", body=b'{"x": 1}', headers={"Content-Type": content_type})
    assert parsed(response) == {"x": 1}


def test_values_of_every_json_type(client: Client) -> None:
    mount()
    for value in [0, -1.5e10, "text", None, True, [], {}, [{"nested": [1]}]]:
        # (json=None would mean "no body" to the client: send the text itself.)
        assert parsed(client.post("/", body=json.dumps(value), headers=JSON)) == value


def test_a_utf8_byte_order_mark_is_tolerated(client: Client) -> None:
    mount()
    response = client.post("/", body=b'\xef\xbb\xbf["bom"]', headers=JSON)
    assert parsed(response) == ["bom"]


def test_the_raw_body_stays_readable(client: Client) -> None:
    mount()
    response = client.post("/raw", body=b'{"keep": "me"}', headers=JSON)
    assert response.status == 200
    assert response.body == b'{"keep": "me"}'


# -- force and media types -----------------------------------------------------------------


@pytest.mark.parametrize(("body", "headers"), [
    (b"a=1", {"Content-Type": "application/x-www-form-urlencoded"}),
    (b"plain", {"Content-Type": "text/plain"}),
    (b'{"x": 1}', {"Content-Type": "application/vnd.other+json"}),
    (b'{"x": 1}', {}),
])
def test_force_refuses_other_media_types_with_415(client: Client, body: bytes,
                                                   headers: dict[str, str]) -> None:
    mount()
    response = client.post("/", body=body, headers=headers)
    assert response.status == 415
    assert "application/json, text/javascript" in response.text
    sent = headers.get("Content-Type", "none")
    assert f"Content-Type is {sent}" in response.text


def test_without_force_other_bodies_are_processed_as_usual(client: Client) -> None:
    mount(force=False)
    form = client.post("/", data={"a": "1"})
    assert form.status == 200
    assert form.json() == {"json": "(unset)", "params": {"a": "1"}}
    assert parsed(client.post("/", json=[1])) == [1]


def test_content_type_may_be_one_string_or_a_list(client: Client) -> None:
    mount(content_type="application/x-mine")
    assert parsed(client.post("/", body=b"[1]", headers={"Content-Type": "application/x-mine"})) == [1]
    # The tool's own list replaces the defaults, and force refuses the rest.
    assert client.post("/", json=[1]).status == 415
    drupe.reset()
    drupe.config.update({"log.screen": False})
    mount(content_type=["application/x-a", "application/x-b"])
    assert parsed(client.post("/", body=b"2", headers={"Content-Type": "application/x-b"})) == 2


def test_a_custom_processor_receives_the_entity(client: Client) -> None:
    def upper(entity: Any) -> None:
        drupe.request.json = entity.fp.read().decode().upper()

    mount(processor=upper)
    assert parsed(client.post("/", body=b"shout", headers=JSON)) == "SHOUT"


def test_get_requests_have_no_body_to_parse(client: Client) -> None:
    mount()
    response = client.get("/")
    assert response.json()["json"] == "(unset)"


# -- refused bodies: 400, 411, 413 -----------------------------------------------------------


@pytest.mark.parametrize(("body", "message"), [
    (b"{bad", "Invalid JSON document: Expecting property name enclosed in double quotes"),
    (b'{"a": 1,}', "Invalid JSON document"),
    (b"[1, 2", "Invalid JSON document"),
    (b'{"a": 1} trailing', "Invalid JSON document: Extra data"),
    (b"NaN", "NaN is not a JSON value"),
    (b"[Infinity]", "Infinity is not a JSON value"),
    (b"[-Infinity]", "-Infinity is not a JSON value"),
    (b"9" * 5000, "Invalid JSON document"),
    (b"", "The JSON request body is empty"),
    (b"  \r\n\t", "The JSON request body is empty"),
    (b'"\xff\xfe"', "not valid UTF-8 (byte 0xff at position 1)"),
    (b'["caf\xe9"]', "not valid UTF-8 (byte 0xe9 at position 5)"),
])
def test_bad_documents_are_400_with_a_message(client: Client, error_log: list[str], body: bytes,
                                              message: str) -> None:
    mount()
    response = client.post("/", body=body, headers=JSON)
    assert response.status == 400
    assert message in response.text
    assert not error_log, error_log


@pytest.mark.parametrize("charset", ["iso-8859-1", "utf-16", "latin1", "nonsense"])
def test_a_charset_other_than_utf8_is_400(client: Client, charset: str) -> None:
    mount()
    headers = {"Content-Type": f"application/json; charset={charset}"}
    response = client.post("/", body=b'["x"]', headers=headers)
    assert response.status == 400
    assert f"must be UTF-8 encoded; the request declares charset={charset}" in response.text


def test_a_body_without_length_is_411(client: Client) -> None:
    mount()
    response = client.post("/", body=b"[1]", headers={"Content-Type": "application/json",
                                                       "Content-Length": None})
    assert response.status == 411


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_nesting_up_to_the_limit_is_fine(client: Client) -> None:
    mount()
    document = parsed(client.post("/", body=nested(64), headers=JSON))
    for _ in range(63):
        document = document[0]
    assert document == []


@pytest.mark.parametrize("body", [nested(65), b'{"a":' * 65 + b"1" + b"}" * 65,
                                  b"[" * 1_000_000, nested(200_000)])
def test_too_deep_nesting_is_400(client: Client, error_log: list[str], body: bytes) -> None:
    mount(max_bytes=None)
    response = client.post("/", body=body, headers=JSON)
    assert response.status == 400
    assert "nests arrays/objects" in response.text
    assert not error_log


def test_brackets_inside_strings_do_not_count(client: Client) -> None:
    mount(max_depth=2)
    document = ["[[[[[[{{{{{{", {"k": 'esc\\"[[[[[['}]
    assert parsed(client.post("/", json=document)) == document
    assert client.post("/", json=[[[1]]]).status == 400


def test_max_depth_none_still_refuses_what_the_parser_cannot_handle(client: Client) -> None:
    mount(max_depth=None, max_bytes=None)
    assert parsed(client.post("/", body=nested(100), headers=JSON)) is not None
    response = client.post("/", body=nested(100_000), headers=JSON)
    assert response.status == 400
    assert "too deeply" in response.text


def test_a_body_over_the_size_limit_is_413(client: Client) -> None:
    mount(max_bytes=10)
    assert parsed(client.post("/", body=b'"12345678"', headers=JSON)) == "12345678"
    response = client.post("/", body=b'"123456789"', headers=JSON)
    assert response.status == 413
    assert "larger than the limit of 10 bytes" in response.text
    assert "tools.json_in.max_bytes" in response.text


def test_a_chunked_body_over_the_size_limit_is_413(client: Client) -> None:
    mount(max_bytes=10)
    headers = {"Content-Type": "application/json", "Content-Length": None, "Transfer-Encoding": "chunked"}
    # In-process, wsgi.input holds the de-chunked bytes, as a server hands them over.
    assert parsed(client.post("/", body=b"[1,2]", headers=headers)) == [1, 2]
    assert client.post("/", body=b"[" + b"1," * 20 + b"1]", headers=headers).status == 413


def test_the_default_size_limit_is_one_mebibyte(client: Client) -> None:
    mount({"/": {"tools.json_in.on": True}})
    fits = b'"' + b"x" * (1024 * 1024 - 2) + b'"'
    assert len(parsed(client.post("/", body=fits, headers=JSON))) == 1024 * 1024 - 2
    assert client.post("/", body=fits + b" ", headers=JSON).status == 413


def test_request_body_maxbytes_still_applies(client: Client) -> None:
    mount({"/": {"tools.json_in.on": True, "request.body.maxbytes": 5}})
    response = client.post("/", body=b"[1, 2, 3]", headers=JSON)
    assert response.status == 413


def test_debug_logs_what_the_tool_does(client: Client, error_log: list[str]) -> None:
    mount(debug=True)
    client.post("/", json=[1])
    logged = "\n".join(error_log)
    assert "Removing body processors" in logged
    assert "Adding body processor for application/json" in logged


# -- config errors name the key ------------------------------------------------------------


@pytest.mark.parametrize(("argument", "value"), [
    ("max_bytes", "big"), ("max_bytes", -1), ("max_bytes", True), ("max_depth", 0),
    ("content_type", 3), ("content_type", []), ("content_type", ["json"]), ("force", "yes"),
    ("processor", "not callable"),
])
def test_bad_settings_name_the_key(client: Client, error_log: list[str], argument: str, value: Any) -> None:
    key = rf"'tools\.json_in\.{argument}'"
    with pytest.raises(drupe.ConfigError, match=key):
        drupe.tools.json_in(**{argument: value})
    mount(**{argument: value})
    assert client.post("/", json=[1]).status == 500
    assert any(f"'tools.json_in.{argument}'" in message for message in error_log), error_log


def test_an_unknown_argument_is_a_config_error(client: Client, error_log: list[str]) -> None:
    mount(max_size=3)
    assert client.post("/", json=[1]).status == 500
    assert any("max_bytes" in message for message in error_log)
