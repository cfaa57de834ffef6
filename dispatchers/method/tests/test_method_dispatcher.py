"""MethodDispatcher: verbs, Allow, HEAD, OPTIONS, 405, config and dynamic resources."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import drupe
from drupe_testing import Client


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    drupe.reset()
    drupe.config.update({"log.screen": False})
    yield
    drupe.reset()


@drupe.expose
class Notes:
    """A small REST resource holding notes in memory."""

    def __init__(self) -> None:
        self.notes: dict[str, str] = {"1": "first"}

    def GET(self, note_id: str | None = None) -> str:
        if note_id is None:
            return ",".join(sorted(self.notes))
        if note_id not in self.notes:
            raise drupe.NotFound()
        return self.notes[note_id]

    def POST(self, text: str) -> str:
        note_id = str(len(self.notes) + 1)
        self.notes[note_id] = text
        drupe.response.status = 201
        return note_id

    def DELETE(self, note_id: str) -> str:
        self.notes.pop(note_id, None)
        return "deleted"


def mount(root: Any, dispatch: Any = None) -> Client:
    if dispatch is None:
        dispatch = drupe.dispatch.MethodDispatcher()
    conf = {"/": {"request.dispatch": dispatch}}
    drupe.tree.mount(root, "/", conf)
    return Client(drupe.tree)


def test_each_verb_reaches_its_method() -> None:
    client = mount(Notes())
    assert client.get("/").text == "1"
    created = client.post("/", data={"text": "second"})
    assert (created.status, created.text) == (201, "2")
    assert client.get("/", params={"note_id": "2"}).text == "second"
    assert client.delete("/", params={"note_id": "2"}).text == "deleted"
    assert client.get("/").text == "1"


def test_every_response_lists_the_allowed_methods() -> None:
    client = mount(Notes())
    assert client.get("/").headers["Allow"] == "DELETE, GET, HEAD, OPTIONS, POST"


def test_a_missing_verb_is_405_with_allow() -> None:
    client = mount(Notes())
    response = client.put("/", data={"text": "x"})
    assert response.status == 405
    assert response.headers["Allow"] == "DELETE, GET, HEAD, OPTIONS, POST"
    assert "PUT method is not allowed" in response.text


def test_head_is_served_by_get_without_a_body() -> None:
    client = mount(Notes())
    get = client.get("/")
    head = client.head("/")
    assert head.status == 200
    assert head.body == b""
    assert head.headers["Content-Length"] == get.headers["Content-Length"]


def test_options_is_answered_with_allow() -> None:
    client = mount(Notes())
    response = client.options("/")
    assert response.status == 200
    assert response.body == b""
    assert response.headers["Allow"] == "DELETE, GET, HEAD, OPTIONS, POST"


def test_a_resource_may_answer_options_itself() -> None:
    @drupe.expose
    class Custom:
        def GET(self) -> str:
            return "g"

        def OPTIONS(self) -> str:
            return "custom options"

    client = mount(Custom())
    assert client.options("/").text == "custom options"


def test_methods_match_whatever_their_case() -> None:
    client = mount(Notes())
    assert client.request("get", "/").text == "1"


def test_an_unexposed_resource_is_404() -> None:
    class Hidden:
        def GET(self) -> str:
            return "secret"

    root = Notes()
    root.hidden = Hidden()  # type: ignore[attr-defined]
    client = mount(root)
    assert client.get("/hidden").status == 404


def test_the_verb_methods_cp_config_applies() -> None:
    @drupe.expose
    class Configured:
        def GET(self) -> str:
            return "g"

        GET._cp_config = {"response.headers.X-Verb": "get"}  # type: ignore[attr-defined]

        def POST(self) -> str:
            return "p"

    client = mount(Configured())
    assert client.get("/").headers["X-Verb"] == "get"
    assert "X-Verb" not in client.post("/").headers


def test_the_short_name_in_config_selects_it() -> None:
    client = mount(Notes(), dispatch="method")
    assert client.put("/").status == 405


def test_popargs_and_cp_dispatch_work_with_it() -> None:
    @drupe.expose
    class Album:
        def GET(self, band: str, album: str) -> str:
            return f"{album} by {band}"

    @drupe.popargs("band")
    @drupe.expose
    class Band:
        def __init__(self) -> None:
            self.albums = AlbumsNode()

        def GET(self, band: str) -> str:
            return f"about {band}"

    class AlbumsNode:
        def _cp_dispatch(self, vpath: list[str]) -> Any:
            drupe.request.params["album"] = vpath.pop(0)
            return Album()

    class Root:
        bands = Band()

    client = mount(Root())
    assert client.get("/bands/nirvana").text == "about nirvana"
    assert client.get("/bands/nirvana/albums/nevermind").text == "nevermind by nirvana"
    assert client.post("/bands/nirvana").status == 405


def test_plans_are_cached_per_method() -> None:
    calls: list[str] = []

    @drupe.expose
    class Counted:
        def GET(self) -> str:
            return "g"

    class Spy(drupe.dispatch.MethodDispatcher):  # type: ignore[misc,name-defined]
        def resolve(self, request: Any, path_info: str) -> Any:
            calls.append(request.method)
            return super().resolve(request, path_info)

    client = mount(Counted(), dispatch=Spy())
    for _ in range(3):
        assert client.get("/").status == 200
        assert client.post("/").status == 405
    assert calls == ["GET", "POST"]
