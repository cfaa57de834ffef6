"""params (conversion by annotations) and flatten (nested generators)."""

from __future__ import annotations

import datetime
import decimal
import enum
import html
import uuid
from collections.abc import Iterator
from typing import Annotated, Any, Optional

import pytest

import drupe
from drupe_testing import Client


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


def describe(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(describe(item) for item in value) + "]"
    return f"{type(value).__name__}:{value}"


class Typed:
    @drupe.expose
    def number(self, limit: int = 10) -> str:
        return describe(limit)

    @drupe.expose
    def several(self, price: decimal.Decimal, ratio: float, id: uuid.UUID, colour: Colour,
                flag: bool, day: datetime.date, text: str) -> str:
        return " ".join(describe(value) for value in (price, ratio, id, colour.value, flag, day, text))

    @drupe.expose
    def optional(self, count: int | None = None, legacy: Optional[int] = None) -> str:  # noqa: UP045
        return f"{describe(count)} {describe(legacy)}"

    @drupe.expose
    def many(self, ids: list[int] | None = None) -> str:
        return describe(ids)

    @drupe.expose
    def annotated(self, size: Annotated[int, "pixels"] = 0) -> str:
        return describe(size)

    @drupe.expose
    def custom(self, words: lambda text: text.split("-") = ()) -> str:  # type: ignore[valid-type]
        return describe(words)

    @drupe.expose
    def unknown(self, thing: UndefinedName = None) -> str:  # type: ignore[name-defined]  # noqa: F821
        return describe(thing)

    @drupe.expose
    def upload(self, size: int = 0) -> str:
        return describe(size)

    @drupe.expose
    def positional(self, item: int) -> str:
        # Path segments are positional arguments: not converted (as in CherryPy).
        return describe(item)


@pytest.fixture
def typed(client: Client) -> Client:
    drupe.tree.mount(Typed(), "/", {"/": {"tools.params.on": True}})
    return client


def message(reply: Any) -> str:
    text = reply.text
    return html.unescape(text[text.index("<p>") + 3:text.index("</p>")])


@pytest.mark.parametrize(
    ("query", "body"),
    [
        ("/number", "int:10"),
        ("/number?limit=0", "int:0"),
        ("/number?limit=-3", "int:-3"),
        ("/several?price=1.50&ratio=0.5&id=12345678-1234-5678-1234-567812345678&colour=red"
         "&flag=yes&day=2024-02-29&text=hi",
         "Decimal:1.50 float:0.5 UUID:12345678-1234-5678-1234-567812345678 str:red bool:True "
         "date:2024-02-29 str:hi"),
        ("/several?price=0&ratio=1e3&id=12345678123456781234567812345678&colour=blue&flag=Off"
         "&day=2024-01-01&text=",
         "Decimal:0 float:1000.0 UUID:12345678-1234-5678-1234-567812345678 str:blue bool:False "
         "date:2024-01-01 str:"),
        ("/optional?count=3&legacy=4", "int:3 int:4"),
        ("/optional", "NoneType:None NoneType:None"),
        ("/many?ids=1&ids=2", "[int:1, int:2]"),
        ("/many?ids=7", "[int:7]"),
        ("/annotated?size=64", "int:64"),
        ("/custom?words=a-b", "[str:a, str:b]"),
        ("/unknown?thing=x", "str:x"),
        ("/positional/5", "str:5"),
    ],
)
def test_conversion(typed: Client, query: str, body: str) -> None:
    reply = typed.get(query)
    assert reply.status == 200, reply.text
    assert reply.text == body


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("/number?limit=", "The parameter 'limit' has an invalid value: invalid literal for int() "
                           "with base 10: ''"),
        ("/number?limit=ten", "The parameter 'limit' has an invalid value: invalid literal for "
                              "int() with base 10: 'ten'"),
        ("/number?limit=1&limit=2", "The parameter 'limit' was given 2 times; it takes one value."),
        ("/several?price=x&ratio=1&id=1&colour=red&flag=1&day=2024-01-01&text=",
         "The parameter 'price' has an invalid value: 'x' is not a decimal number"),
        ("/several?price=1&ratio=1&id=1&colour=red&flag=1&day=2024-01-01&text=",
         "The parameter 'id' has an invalid value: badly formed hexadecimal UUID string"),
        ("/several?price=1&ratio=1&id=12345678123456781234567812345678&colour=green&flag=1"
         "&day=2024-01-01&text=", "The parameter 'colour' has an invalid value: 'green' is not a "
                                  "valid Colour"),
        ("/several?price=1&ratio=1&id=12345678123456781234567812345678&colour=red&flag=maybe"
         "&day=2024-01-01&text=", "The parameter 'flag' has an invalid value: 'maybe' is not a "
                                  "boolean (true/false, 1/0, yes/no, on/off)"),
        ("/several?price=1&ratio=1&id=12345678123456781234567812345678&colour=red&flag=1"
         "&day=2024-13-01&text=", "The parameter 'day' has an invalid value: month must be in 1..12"),
        ("/many?ids=1&ids=two", "The parameter 'ids' has an invalid value: invalid literal for int() "
                                "with base 10: 'two'"),
    ],
)
def test_bad_values_are_400(typed: Client, query: str, text: str) -> None:
    reply = typed.get(query)
    assert reply.status == 400
    assert message(reply).startswith(text)


def test_a_file_where_a_number_belongs_is_400(typed: Client) -> None:
    boundary = "XyZ"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"size\"; filename=\"a.txt\"\r\n"
            f"Content-Type: text/plain\r\n\r\n12\r\n--{boundary}--\r\n").encode()
    reply = typed.post("/upload", body=body,
                       headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert reply.status == 400
    assert message(reply).startswith("The parameter 'size' has an invalid value")


def test_error_and_exception_arguments(client: Client) -> None:
    drupe.tree.mount(Typed(), "/", {"/": {"tools.params.on": True, "tools.params.error": 422}})
    reply = client.get("/number?limit=")
    assert reply.status == 422
    assert "invalid literal for int" in message(reply)
    drupe.tree.mount(Typed(), "/narrow", {"/": {"tools.params.on": True,
                                                "tools.params.exception": TypeError}})
    # Only TypeError is the client's fault now: the ValueError is a server error.
    assert client.get("/narrow/number?limit=").status == 500


def test_decorator_use(client: Client) -> None:
    class Root:
        @drupe.expose
        @drupe.tools.params()
        def resource(self, limit: int | None = None, sort: str | None = None) -> str:
            return type(limit).__name__

    drupe.tree.mount(Root())
    assert client.get("/resource").text == "NoneType"
    assert client.get("/resource?limit=0").text == "int"
    assert client.get("/resource?limit=").status == 400


def test_params_runs_before_encode_wraps_the_handler() -> None:
    tool = drupe.tools.params
    assert (tool.point, tool.priority) == ("before_handler", 15)


@pytest.mark.parametrize(("setting", "value"), [("exception", "ValueError"), ("exception", ()),
                                                ("error", 200), ("error", True)])
def test_bad_settings(setting: str, value: Any) -> None:
    with pytest.raises(drupe.ConfigError, match=rf"tools.params.{setting}"):
        drupe.tools.params.check_settings({setting: value})


# -- flatten ------------------------------------------------------------------------------


class Nested:
    def __init__(self) -> None:
        self.closed: list[str] = []

    def _inner(self) -> Iterator[Any]:
        try:
            yield "caf\u00e9 "
            yield b"bytes "
            yield (piece for piece in ["deep ", "\u20ac"])
        finally:
            self.closed.append("inner")

    @drupe.expose
    def index(self) -> Iterator[Any]:
        yield "start "
        yield self._inner()
        yield iter([b" end"])

    @drupe.expose
    def as_string(self) -> str:
        return "content"

    @drupe.expose
    def as_list(self) -> list[str]:
        return ["con", "tent"]

    @drupe.expose
    def as_refyield(self) -> Iterator[bytes]:
        yield from iter([b"con", b"tent"])

    streamed = index


EXPECTED = "start caf\u00e9 bytes deep \u20ac end"


@pytest.mark.parametrize("charset", ["utf-8", "utf-16-le", "cp1252"])
def test_nested_generators_are_flattened_and_encoded(client: Client, charset: str) -> None:
    root = Nested()
    drupe.tree.mount(root, "/", {"/": {"tools.flatten.on": True}})
    reply = client.get("/", headers={"Accept-Charset": charset})
    assert reply.status == 200
    assert reply.headers["Content-Type"] == f"text/html;charset={charset}"
    # The bytes chunks are sent as they are; only text is encoded.
    expected = ("start caf\u00e9 ".encode(charset) + b"bytes " + "deep \u20ac".encode(charset)
                + b" end")
    assert reply.body == expected
    assert root.closed == ["inner"]


def test_nested_generators_when_streamed(client: Client) -> None:
    drupe.tree.mount(Nested(), "/", {"/": {"tools.flatten.on": True, "response.stream": True}})
    reply = client.get("/streamed")
    assert reply.body == EXPECTED.encode()


def test_nested_generators_with_encode_off(client: Client) -> None:
    drupe.tree.mount(Nested(), "/", {"/": {"tools.flatten.on": True, "tools.encode.on": False}})
    assert client.get("/").body == EXPECTED.encode()


@pytest.mark.parametrize("path", ["/as_string", "/as_list", "/as_refyield"])
def test_flat_bodies_are_unchanged(client: Client, path: str) -> None:
    drupe.tree.mount(Nested(), "/", {"/": {"tools.flatten.on": True}})
    assert client.get(path).body == b"content"


def test_without_flatten_nested_generators_fail(client: Client, error_log: list[str]) -> None:
    drupe.tree.mount(Nested())
    assert client.get("/").status == 500


def test_flatten_debug_counts_chunks(client: Client, error_log: list[str]) -> None:
    drupe.tree.mount(Nested(), "/", {"/": {"tools.flatten.on": True, "tools.flatten.debug": True}})
    client.get("/")
    assert any("Flattened 6 chunks." in line for line in error_log)
