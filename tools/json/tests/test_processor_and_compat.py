"""The JSON body processor registered for every request, the depth scan, and
``drupe.lib.jsontools``."""

from __future__ import annotations

import json
from typing import Any

import pytest

import drupe
import drupe_tool_json
from drupe_testing import Client, LiveServer
from drupe_tool_json import nesting_exceeds


class Plain:
    """No tool at all: what the processor registered at boot does."""

    @drupe.expose
    def index(self, **params: Any) -> str:
        return json.dumps({"json": getattr(drupe.request, "json", "(unset)"), "params": params,
                           "raw": drupe.request.body.read().decode("utf-8", "replace")})


def test_the_plugin_registers_the_processor_at_boot() -> None:
    drupe.boot()
    hook_results = drupe.get_plugin_manager().hook.drupe_body_processors()
    from drupe_tool_json import hooks

    assert {"application/json": hooks.json_processor} in hook_results


def test_application_json_bodies_are_parsed_without_json_in(client: Client) -> None:
    drupe.tree.mount(Plain())
    response = client.post("/", json={"a": [1]})
    assert response.status == 200
    assert response.json() == {"json": {"a": [1]}, "params": {}, "raw": '{"a": [1]}'}
    # Other media types are untouched: forms are still forms.
    form = client.post("/", data={"a": "1"})
    assert form.json() == {"json": "(unset)", "params": {"a": "1"}, "raw": ""}


def test_the_default_processor_refuses_bad_json_too(client: Client) -> None:
    drupe.tree.mount(Plain())
    response = client.post("/", body=b"{nope", headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert "Invalid JSON document" in response.text


def test_its_limits_are_request_body_attributes(client: Client) -> None:
    drupe.tree.mount(Plain(), "/", {"/": {"request.body.json_max_bytes": 5,
                                          "request.body.json_max_depth": 1}})
    assert client.post("/", json=[1]).status == 200
    assert client.post("/", json=[[1]]).status == 400
    assert client.post("/", json=[1, 2, 3]).status == 413


@pytest.mark.parametrize(("text", "depth"), [
    ("1", 0), ("[]", 1), ("[[], {}]", 2), ('{"a": [{"b": []}]}', 4), ('"[[[["', 0),
    ('["\\"[[[", [[]]]', 3), ("[" * 10 + "]" * 10, 10),
])
def test_nesting_exceeds(text: str, depth: int) -> None:
    assert json.loads(text) is not None
    assert not nesting_exceeds(text, max(depth, 1))
    if depth > 1:
        assert nesting_exceeds(text, depth - 1)


def test_unbalanced_brackets_are_left_to_the_parser() -> None:
    assert not nesting_exceeds("[[[[[[[[[[", 3)
    assert not nesting_exceeds("]]]]]]]]]][[[[", 3)


def test_lib_jsontools_names() -> None:
    from drupe.lib import jsontools

    assert jsontools.json_in is drupe_tool_json.json_in
    assert jsontools.json_out is drupe_tool_json.json_out
    assert jsontools.json_handler is drupe_tool_json.json_handler
    assert jsontools.json_processor is drupe_tool_json.json_processor
    assert drupe.lib.jsontools.json_handler is drupe_tool_json.json_handler


def test_the_tools_are_registered_with_cherrypys_points_and_priorities() -> None:
    json_in = drupe.registry.load("drupe.tools", "json_in")
    json_out = drupe.registry.load("drupe.tools", "json_out")
    assert (json_in.point, json_in.priority) == ("before_request_body", 30)
    assert (json_out.point, json_out.priority) == ("before_handler", 30)
    assert drupe.tools.json_in is json_in


def test_over_a_real_socket(live_server: LiveServer) -> None:
    class Root:
        @drupe.expose
        @drupe.tools.json_in(max_bytes=64)
        @drupe.tools.json_out()
        def echo(self) -> Any:
            return {"got": drupe.request.json}

    drupe.tree.mount(Root())
    response = live_server.post("/echo", json={"a": "ü"})
    assert response.status == 200
    assert response.json() == {"got": {"a": "ü"}}
    chunked = (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
               b"5\r\n[1, 2\r\n2\r\n, \r\n2\r\n3]\r\n0\r\n\r\n")
    answer = live_server.raw(chunked)
    assert answer.startswith(b"HTTP/1.1 200 "), answer
    assert answer.endswith(b'{"got": [1, 2, 3]}')
    too_big = (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
               + b"".join(b"10\r\n" + b"[1,2,3,4,5,6,7,8"[:16] + b"\r\n" for _ in range(8))
               + b"0\r\n\r\n")
    assert live_server.raw(too_big).startswith(b"HTTP/1.1 413 ")
    bad = live_server.post("/echo", body=b"[1,", headers={"Content-Type": "application/json"})
    assert bad.status == 400
