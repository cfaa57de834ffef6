"""The object-tree dispatcher on its own: walking, config along the trail, dynamic nodes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import drupe
from drupe_dispatch_objecttree import Dispatcher, punctuation_to_underscores
from drupe_testing import Client


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    drupe.reset()
    drupe.config.update({"log.screen": False})
    yield
    drupe.reset()


def serve(root: Any, config: dict[str, Any] | None = None, script_name: str = "") -> Client:
    drupe.tree.mount(root, script_name, config)
    return Client(drupe.tree)


class Pages:
    @drupe.expose
    def index(self) -> str:
        return "pages index"

    @drupe.expose
    def show(self, *parts: str, **params: str) -> str:
        return f"show {parts} {sorted(params.items())}"


class Catch:
    @drupe.expose
    def default(self, *parts: str, **params: str) -> str:
        return f"default {parts} {sorted(params.items())}"

    @drupe.expose
    def known(self) -> str:
        return "known"


class Root:
    pages = Pages()
    catch = Catch()

    @drupe.expose
    def index(self) -> str:
        return "root index"

    @drupe.expose
    def my_page(self) -> str:
        return "my page"

    def hidden(self) -> str:
        return "never"

    @drupe.expose(["alias_one", "alias.two"])
    def aliased(self) -> str:
        return "aliased"


def test_index_and_exposed_methods() -> None:
    client = serve(Root())
    assert client.get("/").text == "root index"
    assert client.get("/pages/").text == "pages index"
    assert client.get("/pages/show").text == "show () []"


def test_unexposed_methods_and_missing_paths_are_404() -> None:
    client = serve(Root())
    assert client.get("/hidden").status == 404
    assert client.get("/nothing/here").status == 404


def test_punctuation_in_segments_becomes_underscores() -> None:
    client = serve(Root())
    assert client.get("/my-page").text == "my page"
    assert client.get("/my.page").text == "my page"


def test_leftover_segments_become_positional_arguments() -> None:
    client = serve(Root())
    assert client.get("/pages/show/a/b", params={"x": "1"}).text == "show ('a', 'b') [('x', '1')]"


def test_encoded_slashes_in_leftover_segments_are_decoded() -> None:
    client = serve(Root())
    assert client.get("/pages/show/a%252Fb").text == "show ('a/b',) []"


def test_default_catches_what_nothing_else_handles() -> None:
    client = serve(Root())
    assert client.get("/catch/x/y").text == "default ('x', 'y') []"
    assert client.get("/catch/known").text == "known"
    assert client.get("/catch/").text == "default () []"


def test_aliases_reach_the_same_handler() -> None:
    client = serve(Root())
    assert client.get("/aliased").text == "aliased"
    assert client.get("/alias_one").text == "aliased"
    assert client.get("/alias.two").text == "aliased"


def test_dunder_segments_are_never_looked_up() -> None:
    class Exposing:
        @drupe.expose
        def index(self) -> str:
            return "index"

    client = serve(Exposing())
    assert client.get("/__class__/").status == 404
    assert client.get("/__init__").status == 404


def test_is_index_tells_index_handlers_from_others() -> None:
    seen: dict[str, Any] = {}

    class Spy:
        @drupe.expose
        def index(self) -> str:
            seen["index"] = drupe.request.is_index
            return "i"

        @drupe.expose
        def page(self) -> str:
            seen["page"] = drupe.request.is_index
            return "p"

        @drupe.expose
        def default(self, *parts: str) -> str:
            seen["default" + drupe.request.path_info] = drupe.request.is_index
            return "d"

    client = serve(Spy())
    client.get("/")
    client.get("/page")
    client.get("/zzz/")
    client.get("/zzz")
    assert seen == {"index": True, "page": False, "default/zzz/": True, "default/zzz": False}


def test_config_merges_along_the_trail_in_order() -> None:
    class Leaf:
        _cp_config = {"response.headers.X-Level": "leaf-class", "response.headers.X-Leaf": "1"}

        @drupe.expose
        def index(self) -> str:
            return drupe.response.headers["X-Level"]

        @drupe.expose
        def special(self) -> str:
            return drupe.response.headers["X-Level"]

        special._cp_config = {"response.headers.X-Level": "handler"}  # type: ignore[attr-defined]

    class Top:
        _cp_config = {"response.headers.X-Level": "root"}
        leaf = Leaf()

        @drupe.expose
        def index(self) -> str:
            return drupe.response.headers["X-Level"]

    config = {
        "/": {"response.headers.X-Level": "app-root"},
        "/leaf": {"response.headers.X-Level": "path-section"},
    }
    client = serve(Top(), config)
    assert client.get("/").text == "app-root"
    # The node's _cp_config comes first, then the [/leaf] section overrides it...
    assert client.get("/leaf/").text == "path-section"
    # ...and the handler's own _cp_config is merged last.
    assert client.get("/leaf/special").text == "handler"
    assert client.get("/leaf/").headers["X-Leaf"] == "1"


def test_global_config_is_the_base() -> None:
    drupe.config.update({"response.headers.X-Global": "yes"})
    client = serve(Root())
    assert client.get("/").headers["X-Global"] == "yes"


def test_cp_dispatch_consumes_segments() -> None:
    class Album:
        @drupe.expose
        def index(self, artist: str, title: str) -> str:
            return f"{title} by {artist}"

    class Band:
        def __init__(self) -> None:
            self.albums = Album()

        def _cp_dispatch(self, vpath: list[str]) -> Any:
            if len(vpath) == 1:
                drupe.request.params["name"] = vpath.pop()
                return self
            if len(vpath) == 3:
                drupe.request.params["artist"] = vpath.pop(0)
                vpath.pop(0)
                drupe.request.params["title"] = vpath.pop(0)
                return self.albums
            return vpath

        @drupe.expose
        def index(self, name: str) -> str:
            return f"about {name}"

    client = serve(Band())
    assert client.get("/nirvana/").text == "about nirvana"
    assert client.get("/nirvana/albums/nevermind/").text == "nevermind by nirvana"
    # A different band on the same route shape: nothing leaks between requests.
    assert client.get("/pixies/").text == "about pixies"


def test_cp_dispatch_may_not_add_segments() -> None:
    class Adder:
        def _cp_dispatch(self, vpath: list[str]) -> Any:
            vpath.extend(["more", "segments"])
            return self

    client = serve(Adder())
    response = client.get("/a/b")
    assert response.status == 500


def test_popargs_names_segments_and_replays_them_from_the_cache() -> None:
    @drupe.popargs("album_title")
    class Album:
        @drupe.expose
        def index(self, band_name: str, album_title: str) -> str:
            return f"{album_title} by {band_name}"

    @drupe.popargs("band_name")
    class Band:
        def __init__(self) -> None:
            self.albums = Album()

        @drupe.expose
        def index(self, band_name: str) -> str:
            return f"about {band_name}"

    client = serve(Band())
    for _ in range(2):  # the second round is served from the cached plan
        assert client.get("/nirvana/").text == "about nirvana"
        assert client.get("/nirvana/albums/nevermind/").text == "nevermind by nirvana"


def test_a_subclass_overriding_call_is_used_on_every_request() -> None:
    class ForceLower(Dispatcher):
        def __call__(self, path_info: str) -> None:
            return Dispatcher.__call__(self, path_info.lower())

    client = serve(Root(), {"/": {"request.dispatch": ForceLower()}})
    assert client.get("/PAGES/Show").text == "show () []"
    assert client.get("/Pages/").text == "pages index"


def test_a_subclass_overriding_find_handler_is_honoured() -> None:
    class EverythingIsIndex(Dispatcher):
        def find_handler(self, path: str) -> tuple[Any, list[str]]:
            return Dispatcher.find_handler(self, "/")

    client = serve(Root(), {"/": {"request.dispatch": EverythingIsIndex()}})
    # The root index answers, so is_index is True: with the trailing slash, the
    # trailing_slash tool (on by default when installed) has nothing to redirect.
    assert client.get("/anything/at/all/").text == "root index"


def test_dispatch_method_name_and_translate_are_configurable() -> None:
    class Custom:
        def lookup(self, vpath: list[str]) -> Any:
            drupe.request.params["word"] = vpath.pop(0)
            return self

        @drupe.expose
        def index(self, word: str) -> str:
            return word

    client = serve(Custom(), {"/": {"request.dispatch": Dispatcher(dispatch_method_name="lookup")}})
    assert client.get("/hello/").text == "hello"
    with pytest.raises(ValueError, match="translate"):
        Dispatcher(translate="not a table")  # type: ignore[arg-type]
    assert "-".translate(punctuation_to_underscores) == "_"


def test_the_dispatcher_is_the_default_one() -> None:
    assert drupe.dispatch.Dispatcher is Dispatcher
    assert drupe.registry.load("drupe.dispatchers", "default") is Dispatcher
