"""serve_file, serve_download, serve_fileobj from page handlers; staticfile; the tools'
registration, settings and ``drupe.lib.static``."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from typing import Any

import pytest

import drupe
import drupe_tool_static
from drupe_testing import Client
from drupe_tool_static import content_disposition


class Files:
    def __init__(self, site: Any) -> None:
        self.site = site

    @drupe.expose
    def file(self, name: str, disposition: str | None = None, shown: str | None = None) -> Any:
        from drupe.lib.static import serve_file

        return serve_file(str(self.site.static / name), disposition=disposition, name=shown)

    @drupe.expose
    def typed(self) -> Any:
        from drupe.lib.static import serve_file

        return serve_file(self.site.static / "css" / "style.css", "text/plain")

    @drupe.expose
    def relative(self) -> Any:
        from drupe.lib.static import serve_file

        return serve_file("static/css/style.css")

    @drupe.expose
    def download(self, shown: str | None = None) -> Any:
        from drupe.lib.static import serve_download

        return serve_download(str(self.site.static / "js" / "app.js"), shown)

    @drupe.expose
    def memory(self, disposition: str | None = None, shown: str | None = None) -> Any:
        from drupe.lib.static import serve_fileobj

        return serve_fileobj(io.BytesIO(b"0123456789"), "text/plain", disposition, shown)

    @drupe.expose
    def opened(self) -> Any:
        from drupe.lib.static import serve_fileobj

        return serve_fileobj(open(self.site.static / "css" / "style.css", "rb"))

    @drupe.expose
    def partial(self) -> Any:
        from drupe.lib.static import serve_fileobj

        buffer = io.BytesIO(b"skip:rest of it")
        buffer.seek(5)
        return serve_fileobj(buffer)

    @drupe.expose
    def unseekable(self) -> Any:
        from drupe.lib.static import serve_fileobj

        return serve_fileobj(Unseekable([b"first ", b"second"]))

    @drupe.expose
    def preset(self) -> Any:
        from drupe.lib.static import serve_fileobj

        drupe.response.headers["Content-Type"] = "image/png"
        return serve_fileobj(io.BytesIO(b"\x89PNG"))


class Unseekable:
    """A read-only stream without fileno or seek (a socket-like source)."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        return self.pieces.pop(0) if self.pieces else b""

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def files(site: Any, client: Client) -> Client:
    drupe.tree.mount(Files(site))
    return client


def test_serve_file(site: Any, files: Client) -> None:
    response = files.get("/file", params={"name": "css/style.css"})
    assert response.status == 200
    assert response.body == site.style
    # (The encode tool, when installed, labels text it did not encode with its charset.)
    assert response.headers["Content-Type"].startswith("text/css")
    assert "ETag" in response.headers
    assert "Content-Disposition" not in response.headers
    assert files.get("/typed").headers["Content-Type"].startswith("text/plain")


def test_serve_file_answers_404_for_what_is_not_a_file(files: Client) -> None:
    assert files.get("/file", params={"name": "missing.txt"}).status == 404
    assert files.get("/file", params={"name": "sub"}).status == 404


def test_serve_file_wants_an_absolute_path(files: Client, error_log: list[str]) -> None:
    assert files.get("/relative").status == 500
    assert any("is not an absolute path" in message for message in error_log)


def test_serve_file_conditional_and_ranges(site: Any, files: Client) -> None:
    params = {"name": "css/style.css"}
    etag = files.get("/file", params=params).headers["ETag"]
    assert files.get("/file", params=params, headers={"If-None-Match": etag}).status == 304
    ranged = files.get("/file", params=params, headers={"Range": "bytes=-3"})
    assert ranged.status == 206
    assert ranged.body == site.style[-3:]


@pytest.mark.parametrize(("shown", "expected"), [
    (None, 'attachment; filename="app.js"'),
    ("report 2024.txt", 'attachment; filename="report 2024.txt"'),
    ("résumé.pdf", "attachment; filename=\"resume.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"),
    ('evil".txt', "attachment; filename=\"evil_.txt\"; filename*=UTF-8''evil%22.txt"),
    ("名前.txt", "attachment; filename=\".txt\"; filename*=UTF-8''%E5%90%8D%E5%89%8D.txt"),
    ("a\r\nSet-Cookie: x=1", "attachment; filename=\"a__Set-Cookie: x=1\"; "
                             "filename*=UTF-8''a%0D%0ASet-Cookie%3A%20x%3D1"),
])
def test_serve_download(files: Client, shown: str | None, expected: str) -> None:
    response = files.get("/download", params={} if shown is None else {"shown": shown})
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/x-download"
    assert response.headers["Content-Disposition"] == expected
    assert "Set-Cookie" not in response.headers


def test_serve_file_with_a_disposition(files: Client) -> None:
    response = files.get("/file", params={"name": "index.html", "disposition": "inline"})
    assert response.headers["Content-Disposition"] == 'inline; filename="index.html"'
    assert files.get("/file", params={"name": "index.html", "disposition": "in line"}).status == 500


def test_content_disposition_fallback_name() -> None:
    assert content_disposition("attachment", "名前") == (
        "attachment; filename=\"download\"; filename*=UTF-8''%E5%90%8D%E5%89%8D")


def test_serve_fileobj_from_memory(files: Client) -> None:
    response = files.get("/memory")
    assert response.body == b"0123456789"
    assert response.headers["Content-Length"] == "10"
    assert response.headers["Content-Type"].startswith("text/plain")
    assert "ETag" not in response.headers
    ranged = files.get("/memory", headers={"Range": "bytes=2-4"})
    assert (ranged.status, ranged.body) == (206, b"234")
    # No validator: an If-Range can never match, so the whole body is sent.
    assert files.get("/memory", headers={"Range": "bytes=2-4", "If-Range": '"x"'}).status == 200
    assert files.get("/memory", headers={"If-Match": '"x"'}).status == 412


def test_serve_fileobj_disposition(files: Client) -> None:
    assert files.get("/memory", params={"disposition": "attachment"}).headers[
        "Content-Disposition"] == "attachment"
    assert files.get("/memory", params={"disposition": "attachment", "shown": "d.txt"}).headers[
        "Content-Disposition"] == 'attachment; filename="d.txt"'


def test_serve_fileobj_of_an_open_file(site: Any, files: Client) -> None:
    response = files.get("/opened")
    assert response.body == site.style
    assert response.headers["Content-Type"].startswith("text/css")
    etag = response.headers["ETag"]
    assert files.get("/opened", headers={"If-None-Match": etag}).status == 304


def test_serve_fileobj_starts_at_the_current_position(files: Client) -> None:
    response = files.get("/partial")
    assert response.body == b"rest of it"
    assert response.headers["Content-Length"] == "10"
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert files.get("/partial", headers={"Range": "bytes=0-3"}).body == b"rest"


def test_serve_fileobj_streams_what_has_no_length(wsgi: Callable[..., Any], site: Any) -> None:
    drupe.tree.mount(Files(site))
    started = wsgi("/unseekable")
    assert started.code == 200
    assert "Content-Length" not in started.headers
    assert b"".join(started.body) == b"first second"


def test_serve_fileobj_keeps_a_content_type_the_handler_set(files: Client) -> None:
    assert files.get("/preset").headers["Content-Type"] == "image/png"


# -- staticfile ------------------------------------------------------------------------------


class Root:
    @drupe.expose
    def index(self) -> str:
        return "root"


def test_staticfile(site: Any, client: Client) -> None:
    drupe.tree.mount(Root(), "/", {"/style.css": {
        "tools.staticfile.on": True, "tools.staticfile.filename": str(site.static / "css" / "style.css")}})
    response = client.get("/style.css")
    assert response.status == 200
    assert response.body == site.style
    assert client.head("/style.css").body == b""
    assert client.post("/style.css").status == 404
    assert client.get("/").text == "root"


def test_staticfile_relative_to_root(site: Any, client: Client) -> None:
    drupe.tree.mount(Root(), "/", {"/": {"tools.staticfile.root": str(site.static)},
                                   "/app.js": {"tools.staticfile.on": True,
                                               "tools.staticfile.filename": "js/app.js"}})
    assert client.get("/app.js").body == b"console.log('hi');\n"


def test_staticfile_relative_without_root_names_the_keys(client: Client, error_log: list[str]) -> None:
    drupe.tree.mount(Root(), "/", {"/a.js": {"tools.staticfile.on": True,
                                             "tools.staticfile.filename": "js/app.js"}})
    assert client.get("/a.js").status == 500
    assert any("'tools.staticfile.root'" in message for message in error_log)


def test_staticfile_content_types_and_missing_file(site: Any, client: Client) -> None:
    drupe.tree.mount(Root(), "/", {
        "/style.css": {"tools.staticfile.on": True, "tools.staticfile.content_types": {"css": "text/x-css"},
                       "tools.staticfile.filename": str(site.static / "css" / "style.css")},
        "/gone.css": {"tools.staticfile.on": True,
                      "tools.staticfile.filename": str(site.static / "gone.css")},
    })
    assert client.get("/style.css").headers["Content-Type"] == "text/x-css"
    assert client.get("/gone.css").status == 404


def test_staticfile_as_a_page_handler(site: Any, client: Client) -> None:
    class WithHandler:
        style = drupe.tools.staticfile.handler(filename=str(site.static / "css" / "style.css"))

    drupe.tree.mount(WithHandler())
    assert client.get("/style").body == site.style


# -- registration and settings ---------------------------------------------------------------


def test_tools_are_handler_tools_at_before_handler_50() -> None:
    for name in ("staticdir", "staticfile"):
        tool = drupe.registry.load("drupe.tools", name)
        assert isinstance(tool, drupe.HandlerTool)
        assert (tool.point, tool.priority) == ("before_handler", 50)


def test_lib_static_names() -> None:
    from drupe.lib import static

    assert static.serve_file is drupe_tool_static.serve_file
    assert static.serve_fileobj is drupe_tool_static.serve_fileobj
    assert static.serve_download is drupe_tool_static.serve_download
    assert static.staticdir is drupe_tool_static.staticdir
    assert static.staticfile is drupe_tool_static.staticfile


@pytest.mark.parametrize(("tool", "argument", "value"), [
    ("staticdir", "match", "(unclosed"), ("staticdir", "match", 3), ("staticdir", "dir", 5),
    ("staticdir", "content_types", ["css"]), ("staticdir", "content_types", {"css": 1}),
    ("staticdir", "index", 3), ("staticdir", "follow_symlinks", "yes"), ("staticdir", "max_ranges", 0),
    ("staticdir", "root", "relative"), ("staticfile", "filename", ""), ("staticfile", "max_ranges", True),
    ("staticfile", "root", "not/absolute"),
])
def test_bad_settings_name_the_key(client: Client, error_log: list[str], site: Any, tool: str,
                                   argument: str, value: Any) -> None:
    key = f"tools.{tool}.{argument}"
    with pytest.raises(drupe.ConfigError, match=f"'{key}'".replace(".", r"\.")):
        getattr(drupe.tools, tool)(**{argument: value})
    settings = {f"tools.{tool}.on": True, key: value}
    if tool == "staticdir" and argument != "dir":
        settings.setdefault("tools.staticdir.dir", str(site.static))
    if tool == "staticfile" and argument != "filename":
        settings.setdefault("tools.staticfile.filename", str(site.static / "index.html"))
    drupe.tree.mount(Root(), "/", {"/static": settings})
    assert client.get("/static/index.html").status == 500
    assert any(f"'{key}'" in message for message in error_log), error_log


def test_an_unknown_argument_is_a_config_error(client: Client, error_log: list[str], site: Any) -> None:
    drupe.tree.mount(Root(), "/", {"/static": {"tools.staticdir.on": True,
                                               "tools.staticdir.dir": str(site.static),
                                               "tools.staticdir.follow_links": True}})
    assert client.get("/static/index.html").status == 500
    assert any("follow_symlinks" in message for message in error_log)


def test_missing_dir_names_the_key(client: Client, error_log: list[str]) -> None:
    drupe.tree.mount(Root(), "/", {"/static": {"tools.staticdir.on": True}})
    assert client.get("/static/x").status == 500
    assert any("'tools.staticdir.dir' is required" in message for message in error_log)


def test_paths_may_be_pathlib_objects(site: Any, client: Client) -> None:
    drupe.tree.mount(Root(), "/", {"/static": {"tools.staticdir.on": True,
                                               "tools.staticdir.dir": site.static}})
    assert client.get("/static/css/style.css").body == site.style


def test_dir_may_start_with_a_tilde(site: Any, client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(site.root))
    drupe.tree.mount(Root(), "/", {"/static": {"tools.staticdir.on": True,
                                               "tools.staticdir.dir": "~/static"}})
    assert client.get("/static/css/style.css").body == site.style
    assert os.path.expanduser("~") == str(site.root)


# -- the default favicon ---------------------------------------------------------------------


def test_a_root_mounted_at_the_site_root_gets_a_favicon(client: Client) -> None:
    drupe.tree.mount(Root())
    response = client.get("/favicon.ico")
    assert response.status == 200
    assert response.headers["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    assert response.body[:4] == b"\x00\x00\x01\x00"  # an ICO file


def test_no_default_favicon_elsewhere_or_over_the_applications_own(client: Client) -> None:
    class Own:
        @drupe.expose
        def favicon_ico(self) -> str:
            return "mine"

    drupe.tree.mount(Root(), "/app")
    assert client.get("/app/favicon.ico").status == 404
    drupe.tree.mount(Own())
    assert client.get("/favicon.ico").text == "mine"


def test_configured_favicon_wins(site: Any, client: Client) -> None:
    settings = {"tools.staticfile.on": True, "tools.staticfile.filename": str(site.static / "empty.txt")}
    drupe.tree.mount(Root(), "/", {"/favicon.ico": settings})
    assert client.get("/favicon.ico").body == b""
