"""Request bodies: urlencoded and multipart forms, uploads, limits, unparsed entities."""

from __future__ import annotations

import gc
import io
from typing import Any

import pytest
from kernel_support import call, call_environ, make_environ, mount

import drupe

FORM = "application/x-www-form-urlencoded"


class Forms:
    @drupe.expose
    def echo(self, **params: Any) -> str:
        return repr(sorted(params.items()))

    @drupe.expose
    def upload(self, **params: Any) -> str:
        lines = []
        for name, value in sorted(params.items()):
            if hasattr(value, "file") and getattr(value, "filename", None) is not None:
                data = value.file.read()
                in_memory = isinstance(value.file, io.BytesIO)
                lines.append(f"{name}: file {value.filename!r} {value.content_type.value} "
                             f"{len(data)} bytes memory={in_memory} head={data[:5]!r}")
            else:
                lines.append(f"{name}: {value!r}")
        return "\n".join(lines)

    @drupe.expose
    def raw(self) -> str:
        body = drupe.request.body
        return f"{body.content_type.value} {body.read()!r} params={body.params!r}"

    @drupe.expose
    def charset(self, **params: Any) -> str:
        return f"{drupe.request.body.charset} {sorted(params.items())!r}"


def post(path: str, body: bytes, content_type: str | None = FORM, method: str = "POST",
         **kwargs: Any) -> Any:
    headers = list(kwargs.pop("headers", []))
    if content_type is not None:
        headers.append(("Content-Type", content_type))
    return call(path=path, method=method, body=body, headers=headers, **kwargs)


def multipart(*parts: tuple[dict[str, str], bytes], boundary: str = "XyZzY") -> tuple[bytes, str]:
    chunks = []
    for headers, content in parts:
        chunks.append(f"--{boundary}\r\n".encode())
        for name, value in headers.items():
            chunks.append(f"{name}: {value}\r\n".encode())
        chunks.append(b"\r\n" + content + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def field(name: str, value: bytes) -> tuple[dict[str, str], bytes]:
    return {"Content-Disposition": f'form-data; name="{name}"'}, value


def upload(name: str, filename: str, data: bytes,
           content_type: str = "application/octet-stream") -> tuple[dict[str, str], bytes]:
    return ({"Content-Disposition": f'form-data; name="{name}"; filename="{filename}"',
             "Content-Type": content_type}, data)


# ---------------------------------------------------------------------------
# urlencoded


def test_urlencoded_form() -> None:
    mount(Forms())
    result = post("/echo?q=1", b"name=J%C3%BCrgen&tags=a&tags=b&empty=")
    assert result.text == "[('empty', ''), ('name', 'J\u00fcrgen'), ('q', '1'), ('tags', ['a', 'b'])]"


def test_body_and_query_params_with_one_name_become_a_list() -> None:
    mount(Forms())
    assert post("/echo?x=query", b"x=body").text == "[('x', ['query', 'body'])]"


def test_urlencoded_charset_parameter() -> None:
    mount(Forms())
    result = post("/charset", b"name=%E9t%E9", content_type=FORM + "; charset=iso-8859-1")
    assert result.text == "iso-8859-1 [('name', '\u00e9t\u00e9')]"


def test_undecodable_urlencoded_body_is_a_400() -> None:
    mount(Forms())
    result = post("/echo", b"name=%E9t%E9")
    assert result.code == 400
    assert "could not be decoded" in result.text
    assert "utf-8" in result.text


def test_attempt_charsets_from_config() -> None:
    mount(Forms(), config={"/": {"request.body.attempt_charsets": ["utf-8", "latin-1"]}})
    assert post("/charset", b"name=%E9").text == "latin-1 [('name', '\u00e9')]"
    assert post("/charset", b"name=%C3%A9").text == "utf-8 [('name', '\u00e9')]"


def test_put_and_patch_bodies_are_processed_get_bodies_are_not() -> None:
    mount(Forms())
    assert post("/echo", b"a=1", method="PUT").text == "[('a', '1')]"
    assert post("/echo", b"a=1", method="PATCH").text == "[('a', '1')]"
    assert post("/echo", b"a=1", method="GET").text == "[]"


def test_too_many_form_fields_is_a_413() -> None:
    mount(Forms(), config={"/": {"request.body.maxparams": 2}})
    assert post("/echo", b"a=1&b=2").code == 200
    result = post("/echo", b"a=1&b=2&c=3")
    assert result.code == 413


# ---------------------------------------------------------------------------
# multipart


def test_multipart_text_fields() -> None:
    mount(Forms())
    body, content_type = multipart(field("title", "H\u00e9llo".encode()), field("n", b"1"),
                                   field("n", b"2"))
    result = post("/upload", body, content_type)
    assert result.text == "n: ['1', '2']\ntitle: 'H\u00e9llo'"


def test_multipart_small_upload_stays_in_memory() -> None:
    mount(Forms())
    body, content_type = multipart(field("desc", b"a picture"),
                                   upload("pic", "cat.png", b"\x89PNG" + b"x" * 100, "image/png"))
    result = post("/upload", body, content_type)
    assert result.text == ("desc: 'a picture'\n"
                           "pic: file 'cat.png' image/png 104 bytes memory=True head=b'\\x89PNGx'")


def test_multipart_large_upload_is_spooled_to_a_file() -> None:
    mount(Forms())
    data = bytes(range(256)) * 400  # 100 KiB, more than Part.maxrambytes
    body, content_type = multipart(upload("blob", "data.bin", data))
    result = post("/upload", body, content_type)
    assert result.code == 200
    assert result.text == (f"blob: file 'data.bin' application/octet-stream {len(data)} bytes "
                           "memory=False head=b'\\x00\\x01\\x02\\x03\\x04'")
    gc.collect()  # an unclosed spool file would warn (and fail the test) here


def test_uploaded_data_survives_boundaries_in_the_content() -> None:
    class App:
        @drupe.expose
        def index(self, f: Any) -> bytes:
            return f.file.read()  # type: ignore[no-any-return]

    mount(App())
    # Near misses: a shorter prefix at a line start, the boundary inside a line.
    tricky = b"--XyZz\r\nx--XyZzY\r\n\r\n-XyZzY\r\n" * 5000
    body, content_type = multipart(upload("f", "t.txt", tricky))
    assert post("/", body, content_type).body == tricky


def test_multipart_filename_star_and_lf_line_endings() -> None:
    mount(Forms())
    body = (b"--B\n"
            b"Content-Disposition: form-data; name=\"doc\"; filename*=UTF-8''r%C3%A9sum%C3%A9.txt\n"
            b"Content-Type: text/plain\n\n"
            b"cv\n"
            b"--B--\n")
    result = post("/upload", body, "multipart/form-data; boundary=B")
    assert result.text == "doc: file 'r\u00e9sum\u00e9.txt' text/plain 2 bytes memory=True head=b'cv'"


@pytest.mark.parametrize(("body", "content_type"), [
    (b"--XyZzY\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated",
     "multipart/form-data; boundary=XyZzY"),
    (b"no boundary anywhere", "multipart/form-data; boundary=XyZzY"),
    (b"--XyZzY\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--XyZzY--\r\n",
     "multipart/form-data"),
    (b"--XyZzY\r\nBroken header line\r\n\r\nx\r\n--XyZzY--\r\n",
     "multipart/form-data; boundary=XyZzY"),
    (b"--XyZzY\r\nContent-Disposition: form-data; name=\"a\"\r\n",
     "multipart/form-data; boundary=XyZzY"),
    (b"--XyZzYgarbage\r\n\r\nx\r\n--XyZzY--\r\n", "multipart/form-data; boundary=XyZzY"),
])
def test_malformed_multipart_is_a_400(body: bytes, content_type: str) -> None:
    mount(Forms())
    result = post("/upload", body, content_type)
    assert result.code == 400, result.text


def test_too_many_parts_is_a_413() -> None:
    mount(Forms(), config={"/": {"request.body.maxparts": 3}})
    body, content_type = multipart(*(field(f"f{i}", b"v") for i in range(3)))
    assert post("/upload", body, content_type).code == 200
    body, content_type = multipart(*(field(f"f{i}", b"v") for i in range(4)))
    result = post("/upload", body, content_type)
    assert result.code == 413
    assert "Too many multipart parts" in result.text


def test_oversized_part_headers_are_a_400() -> None:
    mount(Forms())
    body, content_type = multipart(({"Content-Disposition": 'form-data; name="a"',
                                     "X-Padding": "p" * 20000}, b"v"))
    assert post("/upload", body, content_type).code == 400


def test_other_multipart_types_keep_their_parts() -> None:
    class App:
        @drupe.expose
        def index(self, parts: list[str]) -> str:
            kept = drupe.request.body.parts
            assert parts == [part.fullvalue() for part in kept]
            return " ".join(f"{part.content_type.value}={part.fullvalue()}" for part in kept)

    mount(App())
    body = (b"--M\r\nContent-Type: text/plain\r\n\r\nfirst\r\n"
            b"--M\r\nContent-Type: text/html\r\n\r\n<b>second</b>\r\n--M--\r\n")
    assert post("/", body, "multipart/mixed; boundary=M").text == \
        "text/plain=first text/html=<b>second</b>"


def test_other_multipart_types_pass_their_parts_as_parameters() -> None:
    # As CherryPy does: unnamed parts as a list under `parts`, named ones under their name.
    class App:
        @drupe.expose
        def index(self, parts: Any, note: str) -> str:
            return repr((parts, note))

    mount(App())
    body = (b"--M\r\nContent-Type: text/plain\r\n\r\nfirst\r\n"
            b"--M\r\nContent-Type: text/plain\r\nContent-Disposition: inline; name=note\r\n\r\n"
            b"named\r\n--M--\r\n")
    assert post("/", body, "multipart/mixed; boundary=M").text == repr(("first", "named"))


# ---------------------------------------------------------------------------
# Limits and framing


def test_a_body_without_length_is_a_411() -> None:
    mount(Forms())
    environ = make_environ("/echo", method="POST", body=b"a=1",
                           headers=[("Content-Type", FORM)])
    del environ["CONTENT_LENGTH"]
    result = call_environ(drupe.tree, environ)
    assert result.code == 411


def test_a_chunked_body_needs_no_length() -> None:
    mount(Forms())
    environ = make_environ("/echo", method="POST", body=b"a=1",
                           headers=[("Content-Type", FORM), ("Transfer-Encoding", "chunked")])
    del environ["CONTENT_LENGTH"]
    assert call_environ(drupe.tree, environ).text == "[('a', '1')]"


def test_maxbytes_is_a_413() -> None:
    mount(Forms(), config={"/": {"request.body.maxbytes": 10}})
    assert post("/echo", b"a=123456").code == 200
    result = post("/echo", b"a=12345678901")
    assert result.code == 413
    assert "limit of 10 bytes" in result.text
    # Without a declared length the limit applies while reading.
    environ = make_environ("/echo", method="POST", body=b"a=12345678901",
                           headers=[("Content-Type", FORM), ("Transfer-Encoding", "chunked")])
    del environ["CONTENT_LENGTH"]
    assert call_environ(drupe.tree, environ).code == 413


def test_a_bad_content_length_is_a_400() -> None:
    mount(Forms())
    result = post("/echo", b"a=1", headers=[("Content-Length", "-3")])
    assert result.code == 400


def test_only_content_length_bytes_are_read() -> None:
    mount(Forms())
    environ = make_environ("/raw", method="POST", body=b"abcdef",
                           headers=[("Content-Type", "application/octet-stream")])
    environ["CONTENT_LENGTH"] = "3"
    result = call_environ(drupe.tree, environ)
    assert result.text == "application/octet-stream b'abc' params={}"


# ---------------------------------------------------------------------------
# Unprocessed entities and processors


def test_unknown_media_types_are_left_for_the_handler() -> None:
    mount(Forms())
    result = post("/raw", b'{"a": 1}', "application/json")
    assert result.text == "application/json b'{\"a\": 1}' params={}"
    result = post("/raw", b"\x00\x01", "application/octet-stream")
    assert result.text == "application/octet-stream b'\\x00\\x01' params={}"


def test_a_body_without_content_type() -> None:
    mount(Forms())
    assert post("/raw", b"plain", content_type=None).text == " b'plain' params={}"


def test_process_request_body_off_leaves_the_stream() -> None:
    class App:
        @drupe.expose
        def index(self) -> bytes:
            assert drupe.request.body.params == {}
            return drupe.request.rfile.read(int(drupe.request.headers["Content-Length"]))  # type: ignore[no-any-return]

    mount(App(), config={"/": {"request.process_request_body": False}})
    assert post("/", b"a=1&b=2").body == b"a=1&b=2"


def test_processors_from_config() -> None:
    def reverse(entity: Any) -> None:
        entity.params["reversed"] = entity.fullvalue()[::-1]

    mount(Forms(), config={"/": {"request.body.processors": {"text/plain": reverse}}})
    assert post("/echo", b"abc", "text/plain").text == "[('reversed', 'cba')]"


def test_a_tool_can_change_the_body_processors_before_the_body_is_read() -> None:
    def add_processor() -> None:
        drupe.request.body.processors["application/x-shout"] = (
            lambda entity: entity.params.update(loud=entity.fullvalue().upper()))

    drupe.tools.shout_bodies = drupe.Tool("before_request_body", add_processor)
    mount(Forms(), config={"/": {"tools.shout_bodies.on": True}})
    assert post("/echo", b"hey", "application/x-shout").text == "[('loud', 'HEY')]"


def test_body_attributes_without_a_body() -> None:
    class App:
        @drupe.expose
        def index(self) -> str:
            body = drupe.request.body
            return f"{body.length} {body.read()!r}"

    mount(App())
    assert call(path="/").text == "None b''"
