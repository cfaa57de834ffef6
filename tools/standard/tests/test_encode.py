"""The encode and decode tools through whole WSGI calls, and drupe.lib.encoding's names."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import drupe
from drupe_testing import Client

TEXT = "caf\u00e9 \u20ac"  # é is in Latin-1, € is not (it is in cp1252 and UTF-16)


class Page:
    @drupe.expose
    def index(self) -> str:
        return TEXT

    @drupe.expose
    def ascii(self) -> str:
        return "plain"

    @drupe.expose
    def raw(self) -> bytes:
        return TEXT.encode("utf-8")

    @drupe.expose
    def chunks(self) -> list[Any]:
        return ["caf", b"\xc3\xa9", " \u20ac"]

    @drupe.expose
    def generated(self) -> Iterator[str]:
        yield "caf\u00e9"
        yield " \u20ac"

    @drupe.expose
    def plain(self) -> str:
        drupe.response.headers["Content-Type"] = "text/plain"
        return TEXT

    @drupe.expose
    def json(self) -> str:
        drupe.response.headers["Content-Type"] = "application/json"
        return '{"price": "\u20ac"}'

    @drupe.expose
    def latin(self) -> str:
        drupe.response.headers["Content-Type"] = "text/plain; charset=iso-8859-1"
        return "caf\u00e9"

    @drupe.expose
    def mislabelled(self) -> str:
        drupe.response.headers["Content-Type"] = "text/plain; charset=iso-8859-1"
        return TEXT

    @drupe.expose
    def stale_length(self) -> str:
        drupe.response.headers["Content-Length"] = "2"
        return TEXT

    @drupe.expose
    def surrogate(self) -> str:
        return "broken \ud800"

    @drupe.expose
    def failing(self) -> Iterator[str]:
        yield "start"
        raise IndexError("generator failed")


def mount(conf: dict[str, Any] | None = None) -> None:
    drupe.tree.mount(Page(), "/", conf or {})


def message(reply: Any) -> str:
    """The message of an error page, unescaped."""
    text = reply.text
    return html.unescape(text[text.index("<p>") + 3:text.index("</p>")])


# -- on by default ---------------------------------------------------------------------


def test_text_is_encoded_as_utf8_and_labelled(client: Client) -> None:
    mount()
    reply = client.get("/")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/html;charset=utf-8"
    assert reply.body == TEXT.encode("utf-8")
    assert reply.headers["Content-Length"] == str(len(TEXT.encode("utf-8")))


def test_the_tool_wraps_the_handler(client: Client) -> None:
    seen: list[Any] = []

    def record() -> None:
        seen.append(drupe.request.handler)

    drupe.tools.record_handler = drupe.Tool("before_handler", record, priority=80)
    mount({"/": {"tools.record_handler.on": True}})
    client.get("/")
    assert type(seen[0]).__name__ == "EncodingHandler"
    # The wrapped handler's attributes stay reachable (the params tool reads .callable).
    assert seen[0].callable.__name__ == "index"


def test_turned_off_the_kernel_still_sends_utf8(client: Client) -> None:
    mount({"/": {"tools.encode.on": False}})
    client_reply = client.get("/", headers={"Accept-Charset": "utf-16"})
    assert client_reply.body == TEXT.encode("utf-8")
    assert client_reply.headers["Content-Type"] == "text/html;charset=utf-8"
    seen: list[Any] = []
    drupe.tools.record_handler = drupe.Tool("before_handler", lambda: seen.append(drupe.request.handler),
                                            priority=80)
    drupe.tree.mount(Page(), "/off", {"/": {"tools.encode.on": False, "tools.record_handler.on": True}})
    client.get("/off/")
    assert type(seen[0]).__name__ != "EncodingHandler"


@pytest.mark.parametrize("path", ["/chunks", "/generated"])
def test_mixed_and_generated_bodies(client: Client, path: str) -> None:
    mount()
    reply = client.get(path, headers={"Accept-Charset": "utf-8"})
    assert reply.body == TEXT.encode("utf-8")
    assert reply.headers["Content-Type"] == "text/html;charset=utf-8"


def test_bytes_bodies_are_labelled_with_the_default(client: Client) -> None:
    mount()
    reply = client.get("/raw", headers={"Accept-Charset": "iso-8859-1"})
    # Bytes cannot be re-encoded; the client's wish does not describe them.
    assert reply.body == TEXT.encode("utf-8")
    assert reply.headers["Content-Type"] == "text/html;charset=utf-8"


def test_non_text_is_left_to_the_kernel(client: Client) -> None:
    mount()
    reply = client.get("/json", headers={"Accept-Charset": "utf-16"})
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.body == '{"price": "\u20ac"}'.encode()


def test_text_only_off_encodes_and_labels_any_type(client: Client) -> None:
    mount({"/": {"tools.encode.text_only": False}})
    reply = client.get("/json", headers={"Accept-Charset": "utf-16"})
    assert reply.headers["Content-Type"] == "application/json;charset=utf-16"
    assert reply.body == '{"price": "\u20ac"}'.encode("utf-16")


def test_add_charset_off_encodes_without_a_label(client: Client) -> None:
    mount({"/": {"tools.encode.add_charset": False}})
    reply = client.get("/plain", headers={"Accept-Charset": "utf-16"})
    assert reply.headers["Content-Type"] == "text/plain"
    assert reply.body == TEXT.encode("utf-16")


def test_stale_content_length_is_dropped(client: Client) -> None:
    mount()
    reply = client.get("/stale_length")
    assert reply.headers["Content-Length"] == str(len(TEXT.encode("utf-8")))
    assert reply.body == TEXT.encode("utf-8")


# -- Accept-Charset ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept_charset", "charset"),
    [
        ("utf-8", "utf-8"),
        ("UTF-16", "utf-16"),
        ("utf-16, utf-8", "utf-16"),
        ("utf-8;q=0.5, utf-16", "utf-16"),
        ("iso-8859-1, utf-16;q=0.5", "utf-16"),  # Latin-1 cannot encode the euro sign
        ("iso-8859-1, *;q=0.1", "utf-8"),  # '*' stands for the default
        ("*", "utf-8"),
        ("*;q=1, utf-7;q=.2", "utf-8"),
        ("utf8;q=0, cp1252", "cp1252"),  # aliases are the same charset
        ("cp1252;q=high, utf-8;q=0.5", "cp1252"),  # a malformed q counts as 1
        ("cp1252;q=2, utf-8;q=0.5", "cp1252"),
        ("cp1252;q=, utf-8;q=0.5", "cp1252"),
        ("ISO-8859-1,utf-8;q=0.7,*;q=0.7)", "utf-8"),  # CherryPy answers this with a 400
        ("x-unknown, utf-16", "utf-16"),  # charsets Python lacks are skipped
        ("utf-8;q=0.5, utf-8;q=0, cp1252;q=0.1", "utf-8"),  # the first entry of a name counts
        (",, utf-16 ,,", "utf-16"),
        ("", "utf-8"),  # an empty header says nothing
    ],
)
def test_accept_charset_negotiation(client: Client, accept_charset: str, charset: str) -> None:
    mount()
    reply = client.get("/", headers={"Accept-Charset": accept_charset})
    assert reply.status == 200
    assert reply.headers["Content-Type"] == f"text/html;charset={charset}"
    assert reply.body == TEXT.encode(charset)


@pytest.mark.parametrize(
    ("accept_charset", "tried"),
    [
        ("iso-8859-1", "iso-8859-1"),
        ("iso-8859-1, *;q=0", "iso-8859-1"),
        ("us-ascii, ISO-8859-1, x-mac-ce", "us-ascii, iso-8859-1, x-mac-ce"),
        ("utf-8;q=0", "none"),
        ("utf-8;q=0, *", "none"),  # '*' is the default: refused
        ("*;q=0", "none"),
    ],
)
def test_no_acceptable_charset_is_406(client: Client, accept_charset: str, tried: str) -> None:
    mount()
    reply = client.get("/", headers={"Accept-Charset": accept_charset})
    assert reply.status == 406
    assert f"Accept-Charset header ({accept_charset!r})" in message(reply)
    assert f"Charsets tried: {tried}." in message(reply)


def test_ascii_text_fits_a_narrow_charset(client: Client) -> None:
    mount()
    reply = client.get("/ascii", headers={"Accept-Charset": "us-ascii"})
    assert reply.headers["Content-Type"] == "text/html;charset=us-ascii"
    assert reply.body == b"plain"


# -- encoding, default_encoding, errors ---------------------------------------------------


def test_encoding_forces_one_charset(client: Client) -> None:
    mount({"/": {"tools.encode.encoding": "cp1252"}})
    reply = client.get("/")
    assert reply.headers["Content-Type"] == "text/html;charset=cp1252"
    assert reply.body == TEXT.encode("cp1252")
    assert client.get("/", headers={"Accept-Charset": "*"}).body == TEXT.encode("cp1252")
    refused = client.get("/", headers={"Accept-Charset": "utf-8, utf-16"})
    assert refused.status == 406
    assert message(refused) == ("This resource is only available in the charset 'cp1252', which "
                                "the request's Accept-Charset header ('utf-8, utf-16') does not "
                                "accept.")


def test_a_forced_charset_that_cannot_encode_is_500(client: Client, error_log: list[str]) -> None:
    mount({"/": {"tools.encode.encoding": "iso-8859-1"}})
    reply = client.get("/")
    assert reply.status == 500
    assert message(reply) == ("The response text could not be encoded with the charset "
                              "'iso-8859-1': '\u20ac' (ordinal not in range(256)).")


def test_default_encoding_serves_clients_that_accept_anything(client: Client) -> None:
    mount({"/": {"tools.encode.default_encoding": "utf-16"}})
    assert client.get("/").headers["Content-Type"] == "text/html;charset=utf-16"
    assert client.get("/").body == TEXT.encode("utf-16")
    assert client.get("/", headers={"Accept-Charset": "*"}).body == TEXT.encode("utf-16")


def test_text_the_default_cannot_encode_is_a_500_naming_it(client: Client) -> None:
    mount()
    reply = client.get("/surrogate")
    assert reply.status == 500
    assert message(reply) == ("The response text could not be encoded with the charset "
                              "'utf-8': '\\ud800' (surrogates not allowed).")


def test_errors_argument(client: Client) -> None:
    mount({"/": {"tools.encode.encoding": "us-ascii", "tools.encode.errors": "xmlcharrefreplace"}})
    assert client.get("/").body == b"caf&#233; &#8364;"


# -- a charset the handler names ----------------------------------------------------------


def test_the_handlers_charset_is_used_when_it_can_encode(client: Client) -> None:
    mount()
    reply = client.get("/latin")
    assert reply.headers["Content-Type"] == "text/plain; charset=iso-8859-1"
    assert reply.body == "caf\u00e9".encode("iso-8859-1")


def test_the_handlers_charset_is_replaced_when_it_cannot(client: Client) -> None:
    mount()
    reply = client.get("/mislabelled")
    assert reply.headers["Content-Type"] == "text/plain;charset=utf-8"
    assert reply.body == TEXT.encode("utf-8")


def test_the_handlers_charset_gives_way_to_the_client(client: Client) -> None:
    mount()
    reply = client.get("/latin", headers={"Accept-Charset": "utf-16"})
    assert reply.headers["Content-Type"] == "text/plain;charset=utf-16"
    assert reply.body == "caf\u00e9".encode("utf-16")


# -- streams ------------------------------------------------------------------------------


class Streaming:
    def __init__(self) -> None:
        self.closed = False

    @drupe.expose
    def index(self) -> Iterator[str]:
        try:
            yield "one \u20ac"
            yield "two"
        finally:
            self.closed = True

    # Set before the generator runs: a streamed body starts after the headers left.
    index._cp_config = {"response.stream": True, "response.headers.Content-Type": "text/plain"}


def test_streams_are_encoded_chunk_by_chunk(open_stream: Callable[..., Any]) -> None:
    drupe.tree.mount(Streaming())
    stream = open_stream("/", {"Accept-Charset": "utf-16;q=0.5, cp1252"})
    assert stream.headers["Content-Type"] == "text/plain;charset=cp1252"
    assert "Content-Length" not in stream.headers
    pieces = iter(stream.body)
    assert next(pieces) == "one \u20ac".encode("cp1252")
    assert next(pieces) == b"two"


def test_closing_a_stream_closes_the_handlers_generator(open_stream: Callable[..., Any]) -> None:
    root = Streaming()
    drupe.tree.mount(root)
    stream = open_stream("/")
    assert next(iter(stream.body)) == "one \u20ac".encode()
    stream.body.close()
    assert root.closed


def test_a_stream_with_no_known_acceptable_charset_is_406(client: Client) -> None:
    drupe.tree.mount(Streaming())
    reply = client.get("/", headers={"Accept-Charset": "x-unknown"})
    assert reply.status == 406


def test_buffered_generators_that_fail_give_a_500(client: Client, error_log: list[str]) -> None:
    mount()
    reply = client.get("/failing")
    assert reply.status == 500
    assert "IndexError" in reply.text
    assert any("generator failed" in message for message in error_log)


# -- checking arguments -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "value", "message"),
    [
        ("encoding", "no-such-charset", "knows no charset named 'no-such-charset'"),
        ("default_encoding", 8, "expected a charset name"),
        ("errors", "sloppy", "expected an error handler"),
    ],
)
def test_bad_arguments_are_config_errors(argument: str, value: Any, message: str) -> None:
    with pytest.raises(drupe.ConfigError, match=rf"tools.encode.{argument}.*{message}"):
        drupe.tools.encode.check_settings({argument: value})
    with pytest.raises(drupe.ConfigError, match=message):
        drupe.tools.encode(**{argument: value})


def test_a_bad_value_stops_the_engine() -> None:
    drupe.server.unsubscribe()  # validation comes first; no server even if it passed
    drupe.tree.mount(Page(), "/", {"/": {"tools.encode.encoding": "no-such-charset"}})
    with pytest.raises(drupe.ConfigError, match=r"tools.encode.encoding"):
        drupe.engine.start()


def test_a_bad_value_makes_the_planned_request_fail(client: Client, error_log: list[str]) -> None:
    mount({"/": {"tools.encode.encoding": "no-such-charset"}})
    assert client.get("/").status == 500
    assert any("tools.encode.encoding" in message for message in error_log)


def test_decorator_use() -> None:
    class Root:
        @drupe.expose
        @drupe.tools.encode(encoding="utf-16")
        def index(self) -> str:
            return TEXT

    assert Root.index._cp_config == {"tools.encode.on": True, "tools.encode.encoding": "utf-16"}
    drupe.tree.mount(Root())
    reply = Client(drupe.tree).get("/")
    assert reply.body == TEXT.encode("utf-16")


# -- decode -------------------------------------------------------------------------------

UTF16_FORM = "q=\u00a3".encode("utf-16")


class Forms:
    @drupe.expose
    def index(self, **params: Any) -> str:
        return ", ".join(f"{key}: {value}" for key, value in sorted(params.items()))

    @drupe.expose
    def charsets(self) -> str:
        return repr(drupe.request.body.attempt_charsets)


def post(client: Client, path: str, body: bytes, content_type: str) -> Any:
    return client.post(path, body=body, headers={"Content-Type": content_type})


def test_decode_default_encoding_extends_the_charsets(client: Client) -> None:
    drupe.tree.mount(Forms(), "/", {"/": {"tools.decode.on": True,
                                          "tools.decode.default_encoding": ["utf-16"]}})
    form = "application/x-www-form-urlencoded"
    assert post(client, "/", UTF16_FORM, form).text == "q: \u00a3"
    assert post(client, "/", "q=\u00a3".encode(), form).text == "q: \u00a3"
    reply = client.post("/charsets", body=b"", headers={"Content-Type": form})
    assert reply.text == "['utf-8', 'utf-16']"


def test_decode_encoding_replaces_the_charsets(client: Client) -> None:
    drupe.tree.mount(Forms(), "/", {"/": {"tools.decode.on": True, "tools.decode.encoding": "utf-16"}})
    form = "application/x-www-form-urlencoded"
    assert post(client, "/", UTF16_FORM, form).text == "q: \u00a3"
    # Three bytes cannot be UTF-16, and the charset the request names is not tried.
    refused = post(client, "/", b"q=x", form + ";charset=utf-8")
    assert refused.status == 400
    assert "utf-16" in refused.text


def test_decode_is_off_by_default(client: Client) -> None:
    drupe.tree.mount(Forms())
    reply = post(client, "/", UTF16_FORM, "application/x-www-form-urlencoded")
    assert reply.status == 400


def test_decode_checks_its_charsets() -> None:
    with pytest.raises(drupe.ConfigError, match=r"tools.decode.encoding"):
        drupe.tools.decode.check_settings({"encoding": ["utf-8", "no-such-charset"]})
    with pytest.raises(drupe.ConfigError, match=r"tools.decode.default_encoding"):
        drupe.tools.decode.check_settings({"default_encoding": 3})


# -- drupe.lib.encoding -------------------------------------------------------------------


def test_lib_encoding_names() -> None:
    from drupe.lib import encoding

    assert encoding.prepare_iter("") == []
    assert encoding.prepare_iter(b"x") == [b"x"]
    assert encoding.prepare_iter(None) == []
    items = iter([1])
    assert encoding.prepare_iter(items) is items

    def words() -> Iterator[Any]:
        yield "\u20ac"
        yield b"b"

    stream = encoding.UTF8StreamEncoder(words())
    assert list(stream) == ["\u20ac".encode(), b"b"]
    assert stream.gi_running is False  # other attributes are the wrapped iterator's
    # gzip's names come from drupe-tool-gzip, in the same module.
    assert callable(encoding.gzip)
    assert encoding.decode.__module__ == "drupe_tool_standard._encoding"


def test_response_encoder_as_a_hand_made_tool(client: Client) -> None:
    from drupe.lib import encoding

    drupe.tools.old_encode = drupe.Tool("before_handler", encoding.ResponseEncoder, priority=70)
    mount({"/": {"tools.encode.on": False, "tools.old_encode.on": True,
                 "tools.old_encode.encoding": "utf-16"}})
    reply = client.get("/")
    assert reply.headers["Content-Type"] == "text/html;charset=utf-16"
    assert reply.body == TEXT.encode("utf-16")


def test_response_encoder_methods() -> None:
    from drupe.lib import encoding

    encoder = encoding.ResponseEncoder(errors="strict")  # outside a request: no handler
    encoder.body = ["\u20ac"]
    assert not encoder.encode_string("iso-8859-1")
    assert encoder.encode_string("utf-8")
    assert encoder.body == ["\u20ac".encode()]
    assert not encoder.encode_string("utf-8")  # tried already
    assert encoder.attempted_charsets == {"iso-8859-1", "utf-8"}
    encoder.body = iter(["a"])
    assert encoder.encode_stream("utf-16")
    assert list(encoder.body) == ["a".encode("utf-16")]


# -- charsets with a byte-order mark ---------------------------------------------------


@pytest.mark.parametrize("path", ["/chunks_text", "/generated"])
@pytest.mark.parametrize("charset", ["utf-16", "utf-32"])
def test_a_byte_order_mark_starts_the_body_once(client: Client, path: str, charset: str) -> None:
    # Encoding chunk by chunk would put a byte-order mark before each chunk; the body must
    # be one text, as decoding it whole shows.
    class BOMPage(Page):
        @drupe.expose
        def chunks_text(self) -> list[str]:
            return ["caf\u00e9", " \u20ac", "!"]

    drupe.tree.mount(BOMPage(), "/", {"/": {"tools.encode.encoding": charset}})
    reply = client.get(path)
    expected = "caf\u00e9 \u20ac" + ("!" if path == "/chunks_text" else "")
    assert reply.body.decode(charset) == expected
    assert reply.body == expected.encode(charset)
