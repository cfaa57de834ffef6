"""Chapter 4.8 "Dealing with JSON": the decoding (4.8.1) and encoding (4.8.2) examples.

The examples come from the documentation through ``seed``; they are fragments (a ``Root``
class using ``cherrypy`` without importing it), run with ``cherrypy`` bound to drupe.
"""

from __future__ import annotations

from typing import Any

import pytest
from docs_support import needs, run_fragment
from seed import as_drupe, section

import drupe
from drupe_testing import Client

pytestmark = [needs("drupe.tools", "json_in", "drupe-tool-json")]


def test_4_8_1_decoding_request() -> None:
    namespace = run_fragment(as_drupe(section("4.8.1").find("cherrypy.request.json")))
    seen: list[Any] = []

    # "The json attribute attached to the request contains the decoded content": the
    # handler keeps it in a local variable, so the test reads it once the handler ran.
    # (before_finalize also runs for error responses, which have no request.json.)
    def record() -> None:
        if hasattr(drupe.request, "json"):
            seen.append(drupe.request.json)

    drupe.tree.mount(namespace["Root"](), "/", {"/": {"hooks.before_finalize": record}})
    client = Client(drupe.tree)
    document = {"name": "drupe", "tags": ["json", "cherry"], "stars": 5, "nested": {"ok": True}}
    response = client.post("/", json=document)
    assert response.status == 200
    assert seen == [document]
    # What CherryPy documents json_in to do with other input: refuse it.
    assert client.post("/", data={"name": "drupe"}).status == 415
    bad = client.post("/", body=b"{not json", headers={"Content-Type": "application/json"})
    assert bad.status == 400
    assert "Invalid JSON document" in bad.text
    assert seen == [document]


def test_4_8_2_encoding_response() -> None:
    namespace = run_fragment(as_drupe(section("4.8.2").find("json_out")))
    drupe.tree.mount(namespace["Root"]())
    response = Client(drupe.tree).get("/")
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"key": "value"}
    assert response.body == b'{"key": "value"}'


@pytest.mark.parametrize("number", ["4.8.1", "4.8.2"])
def test_the_examples_use_the_documented_decorators(number: str) -> None:
    code = section(number).block(0)
    tool = "json_in" if number == "4.8.1" else "json_out"
    assert f"@cherrypy.tools.{tool}()" in code
