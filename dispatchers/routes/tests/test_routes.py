"""RoutesDispatcher: REST routes, controllers, config per path, 404/405, Routes' request config."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import routes

import drupe
from drupe_dispatch_routes import RoutesDispatcher
from drupe_testing import Client, LiveServer


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    drupe.reset()
    drupe.config.update({"log.screen": False})
    yield
    drupe.reset()


class Books:
    """A REST controller keeping books in memory."""

    _cp_config = {"response.headers.X-Controller": "books"}

    def __init__(self) -> None:
        self.books: dict[str, str] = {"1": "Dune"}

    def index(self) -> str:
        return ",".join(f"{key}:{title}" for key, title in sorted(self.books.items()))

    def show(self, book_id: str) -> str:
        if book_id not in self.books:
            raise drupe.NotFound()
        return self.books[book_id]

    show._cp_config = {"response.headers.X-Action": "show"}  # type: ignore[attr-defined]

    def create(self, title: str) -> str:
        book_id = str(len(self.books) + 1)
        self.books[book_id] = title
        drupe.response.status = 201
        drupe.response.headers["Location"] = routes.url_for("book", book_id=book_id, qualified=True)
        return book_id

    def update(self, book_id: str, title: str) -> str:
        self.books[book_id] = title
        return "updated"

    def delete(self, book_id: str) -> str:
        self.books.pop(book_id, None)
        return "deleted"

    def link(self, book_id: str) -> str:
        return routes.url_for("book", book_id=book_id)

    def go(self, book_id: str) -> None:
        routes.redirect_to("book", book_id=book_id)

    def memory(self) -> str:
        config = routes.request_config()
        return f"{config.mapper_dict['action']} {config.host} {config.protocol}"

    title = "not callable"

    def _secret(self) -> str:
        return "never"


def rest_dispatcher(books: Books | None = None) -> RoutesDispatcher:
    books = books or Books()
    dispatcher = RoutesDispatcher()
    dispatcher.connect("books", "/books", books, action="index", conditions={"method": ["GET"]})
    dispatcher.connect("create", "/books", books, action="create", conditions={"method": ["POST"]})
    dispatcher.connect("book", "/books/{book_id}", books, action="show", conditions={"method": ["GET"]})
    dispatcher.connect("update", "/books/{book_id}", books, action="update", conditions={"method": ["PUT"]})
    dispatcher.connect("delete", "/books/{book_id}", books, action="delete",
                       conditions={"method": ["DELETE"]})
    dispatcher.connect("link", "/link/{book_id}", books, action="link")
    dispatcher.connect("go", "/go/{book_id}", books, action="go")
    dispatcher.connect("memory", "/memory", books, action="memory")
    dispatcher.connect("actions", "/do/{action}", books)
    return dispatcher


def mount(dispatcher: Any, config: dict[str, Any] | None = None, at: str = "/") -> Client:
    conf: dict[str, Any] = {"/": {"request.dispatch": dispatcher}}
    for section, values in (config or {}).items():
        conf.setdefault(section, {}).update(values)
    drupe.tree.mount(None, at, conf)
    return Client(drupe.tree)


def test_reachable_lazily_by_cherrypy_name() -> None:
    assert drupe.dispatch.RoutesDispatcher is RoutesDispatcher
    assert drupe.registry.load("drupe.dispatchers", "routes") is RoutesDispatcher


def test_a_rest_application() -> None:
    client = mount(rest_dispatcher())
    assert client.get("/books").text == "1:Dune"
    created = client.post("/books", data={"title": "Emma"})
    assert (created.status, created.text) == (201, "2")
    assert created.headers["Location"] == "http://localhost/books/2"
    assert client.get("/books/2").text == "Emma"
    assert client.put("/books/2", data={"title": "Persuasion"}).text == "updated"
    assert client.get("/books/2").text == "Persuasion"
    assert client.delete("/books/2").text == "deleted"
    assert client.get("/books/2").status == 404
    assert client.get("/books").text == "1:Dune"


def test_a_rest_application_over_a_real_socket() -> None:
    mount(rest_dispatcher(), at="/api")
    with LiveServer() as server:
        assert server.get("/api/books").text == "1:Dune"
        created = server.post("/api/books", data={"title": "Emma"})
        assert created.status == 201
        assert created.headers["Location"] == f"{server.url}/api/books/2"
        assert server.get("/api/books/2").text == "Emma"
        assert server.request("PATCH", "/api/books/2").status == 405


def test_a_method_no_route_accepts_is_405_with_allow() -> None:
    client = mount(rest_dispatcher())
    response = client.request("PATCH", "/books/1")
    assert response.status == 405
    assert response.headers["Allow"] == "DELETE, GET, HEAD, OPTIONS, PUT"
    assert "PATCH method is not allowed" in response.text
    assert client.delete("/books").headers["Allow"] == "GET, HEAD, OPTIONS, POST"


def test_options_answers_with_allow() -> None:
    client = mount(rest_dispatcher())
    response = client.options("/books")
    assert (response.status, response.body) == (200, b"")
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS, POST"


def test_head_falls_back_to_get_routes() -> None:
    client = mount(rest_dispatcher())
    head = client.head("/books/1")
    assert (head.status, head.body) == (200, b"")
    assert head.headers["Content-Length"] == client.get("/books/1").headers["Content-Length"]


def test_no_route_is_404() -> None:
    client = mount(rest_dispatcher())
    assert client.get("/nothing/here").status == 404
    assert client.get("/books/1/extra").status == 404


def test_path_params_are_keyword_arguments() -> None:
    client = mount(rest_dispatcher())
    assert client.get("/link/7").text == "/books/7"
    assert client.get("/books/1").text == "Dune"


def test_the_query_string_is_merged_after_the_route_as_in_cherrypy() -> None:
    # CherryPy parses the query string after dispatching, so a parameter of the same name
    # replaces the route's; drupe keeps that order (for cached plans too).
    client = mount(rest_dispatcher())
    for _ in range(2):
        assert client.get("/books/1", params={"book_id": "99"}).status == 404
        assert client.get("/link/1", params={"book_id": "5"}).text == "/books/5"


def test_controller_and_action_are_left_out_unless_full_result() -> None:
    seen: list[dict[str, Any]] = []

    class Spy:
        def look(self, **params: Any) -> str:
            seen.append(params)
            return "ok"

    plain = RoutesDispatcher()
    plain.connect("look", "/look/{thing}", Spy(), action="look")
    client = mount(plain)
    client.get("/look/a")
    drupe.reset()
    drupe.config.update({"log.screen": False})
    full = RoutesDispatcher(full_result=True)
    full.connect("look", "/look/{thing}", Spy(), action="look")
    client = mount(full)
    client.get("/look/b")
    assert seen == [{"thing": "a"}, {"thing": "b", "controller": "look", "action": "look"}]


def test_a_controller_class_gets_a_fresh_instance_per_request() -> None:
    class Counter:
        made = 0

        def __init__(self) -> None:
            Counter.made += 1
            self.number = Counter.made

        def number_of(self) -> str:
            return str(self.number)

        def __call__(self) -> str:
            return f"called {self.number}"

    dispatcher = RoutesDispatcher()
    dispatcher.connect("count", "/count", Counter, action="number_of")
    dispatcher.connect("call", "/call", Counter)
    client = mount(dispatcher)
    assert [client.get("/count").text for _ in range(3)] == ["1", "2", "3"]
    assert client.get("/call").text == "called 4"


def test_a_controller_without_action_is_called() -> None:
    dispatcher = RoutesDispatcher()
    dispatcher.connect("hello", "/hello/{name}", lambda name: f"hi {name}")
    assert mount(dispatcher).get("/hello/Ann").text == "hi Ann"


def test_actions_named_in_the_url_cannot_reach_private_or_non_callable_attributes() -> None:
    client = mount(rest_dispatcher())
    assert client.get("/do/index").text == "1:Dune"
    for action in ("_secret", "__init__", "__class__", "title", "no_such_action"):
        assert client.get(f"/do/{action}").status == 404, action


def test_config_merges_per_route_path_as_cherrypy_does() -> None:
    client = mount(rest_dispatcher(), {
        "/": {"response.headers.X-Root": "root"},
        "/books": {"response.headers.X-Books-Section": "books",
                   "response.headers.X-Controller": "section wins for /books"},
    })
    listing = client.get("/books")
    assert listing.headers["X-Root"] == "root"
    assert listing.headers["X-Books-Section"] == "books"
    # The section of the full path is merged after the controller's _cp_config.
    assert listing.headers["X-Controller"] == "section wins for /books"
    one = client.get("/books/1")
    # For /books/1, [/books] is a leading segment's section: the controller's config wins.
    assert one.headers["X-Books-Section"] == "books"
    assert one.headers["X-Controller"] == "books"
    assert one.headers["X-Action"] == "show"
    assert "X-Action" not in listing.headers


def test_root_cp_config_applies() -> None:
    class Root:
        _cp_config = {"response.headers.X-Root-Object": "yes"}

    dispatcher = rest_dispatcher()
    drupe.tree.mount(Root(), "/", {"/": {"request.dispatch": dispatcher}})
    assert Client(drupe.tree).get("/books").headers["X-Root-Object"] == "yes"


def test_url_for_and_redirect_to_work_in_handlers_under_a_mount_point() -> None:
    client = mount(rest_dispatcher(), at="/shop")
    assert client.get("/shop/link/3").text == "/shop/books/3"
    response = client.get("/shop/go/3")
    assert response.status == 303
    assert response.headers["Location"] == "http://localhost/shop/books/3"


def test_request_config_is_set_for_every_request() -> None:
    client = Client(drupe.tree, host="books.example", port=8080)
    mount(rest_dispatcher())
    for _ in range(2):  # the second one comes from a cached plan
        assert client.get("/memory").text == "memory books.example:8080 http"
    https = Client(drupe.tree, scheme="https")
    assert https.get("/memory").text == "memory localhost https"


def test_url_for_per_thread_under_load() -> None:
    mount(rest_dispatcher())
    errors: list[str] = []
    with LiveServer() as server:
        def worker(number: int) -> None:
            for _ in range(10):
                text = server.get(f"/link/{number}").text
                if text != f"/books/{number}":
                    errors.append(f"{number}: {text}")

        threads = [threading.Thread(target=worker, args=(number,)) for number in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []


def test_routes_connected_after_the_first_request_are_matched() -> None:
    dispatcher = rest_dispatcher()
    client = mount(dispatcher)
    assert client.get("/late").status == 404
    dispatcher.connect("late", "/late", lambda: "late route")
    assert client.get("/late").text == "late route"


def test_the_mapper_is_reachable() -> None:
    dispatcher = rest_dispatcher()
    assert isinstance(dispatcher.mapper, routes.Mapper)
    client = mount(dispatcher)
    client.get("/books")
    assert dispatcher.mapper.generate(controller="book", action="show", book_id=5) == "/books/5"


def test_mapper_options_reach_the_mapper() -> None:
    dispatcher = RoutesDispatcher(explicit=False)
    assert dispatcher.mapper.explicit is False


def test_the_short_name_is_a_startup_error_naming_the_key() -> None:
    mount("routes")
    with pytest.raises(drupe.ConfigError, match=r"'request\.dispatch'.*RoutesDispatcher\(\)"):
        LiveServer().start()
    assert drupe.engine.state == drupe.engine.states.STOPPED


def test_routes_imports_without_warnings(tmp_path: Path) -> None:
    # Compiled from source (an empty bytecode cache), with every warning an error.
    env = dict(os.environ, PYTHONPYCACHEPREFIX=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", "import routes, routes.mapper, routes.route, routes.util; "
         "import drupe_dispatch_routes"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
