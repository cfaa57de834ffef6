"""drupe showcase: a small bookshelf application that shows the plugin model at work.

Run it with ``uv run examples/showcase.py`` and open http://127.0.0.1:8080/.

What it demonstrates:

* the object-tree dispatcher (a plugin) with ``index``, ``default`` and ``popargs``;
* a tool from a plugin distribution (``gzip``) switched on by config alone;
* a tool written in this file (``@drupe.tools.register``) and a toolbox with its own
  config namespace (``shelf.*``);
* an engine plugin (``drupe.SimplePlugin``) that owns a resource for the life of the bus;
* a custom error page, raised errors and redirects;
* ``/plugins``: what is installed, read from the entry-point registry at run time;
* ``/plan``: the hooks drupe planned for a path, in the order they run.
"""

from __future__ import annotations

import html
import threading
import time
from typing import Any

import drupe

# ---------------------------------------------------------------------------
# An engine plugin: the bookshelf lives as long as the bus runs.


class Shelf(drupe.SimplePlugin):
    """Keeps the books; opened on 'start', closed on 'stop'."""

    def __init__(self, bus: Any) -> None:
        super().__init__(bus)
        self.books: dict[str, dict[str, str]] = {}
        self.lock = threading.Lock()

    def start(self) -> None:
        self.bus.log("Opening the bookshelf")
        with self.lock:
            self.books = {
                "dune": {"title": "Dune", "author": "Frank Herbert"},
                "solaris": {"title": "Solaris", "author": "Stanisław Lem"},
            }

    def stop(self) -> None:
        self.bus.log("Closing the bookshelf")


shelf = Shelf(drupe.engine)
shelf.subscribe()


# ---------------------------------------------------------------------------
# Tools written in application code.


@drupe.tools.register("before_finalize", priority=60)
def timing_header() -> None:
    """Say how long the page took (a per-request tool at before_finalize)."""
    started = drupe.response.time
    drupe.response.headers["X-Elapsed-Ms"] = f"{(time.time() - started) * 1000:.2f}"


# A toolbox gives its tools their own config namespace: shelf.<tool>.<arg>.
shelf_tools = drupe.Toolbox("shelf")


@shelf_tools.register("on_start_resource")
def read_only(message: str = "This shelf is read-only.") -> None:
    """Refuse anything but GET and HEAD."""
    if drupe.request.method not in ("GET", "HEAD"):
        drupe.response.headers["Allow"] = "GET, HEAD"
        raise drupe.HTTPError(405, message)


# ---------------------------------------------------------------------------
# The application.

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body {{ font-family: sans-serif; max-width: 40em; margin: 2em auto; }}
code {{ background: #eee; padding: 0 .2em; }}</style></head>
<body><h1>{title}</h1>{body}
<p><a href="/">home</a> · <a href="/books/">books</a> · <a href="/plugins">plugins</a> ·
<a href="/plan?path=/books/dune/">plan of /books/dune/</a></p></body></html>
"""


def page(title: str, body: str) -> str:
    return PAGE.format(title=html.escape(title), body=body)


@drupe.popargs("slug")
class Books:
    """``/books/`` lists the books, ``/books/<slug>/`` shows one (popargs names the segment).

    ``/books/dune`` is redirected to ``/books/dune/`` by the trailing_slash tool, which is on
    by default (drupe-tool-standard), as in CherryPy.
    """

    @drupe.expose
    def index(self, slug: str | None = None) -> str:
        with shelf.lock:
            books = dict(shelf.books)
        if slug is None:
            items = "".join(
                f'<li><a href="/books/{html.escape(key)}/">{html.escape(book["title"])}</a></li>'
                for key, book in sorted(books.items())
            )
            return page("Books", f"<ul>{items}</ul>")
        book = books.get(slug)
        if book is None:
            raise drupe.NotFound()
        return page(book["title"], f"<p>by {html.escape(book['author'])}</p>")


class Root:
    books = Books()

    @drupe.expose
    def index(self) -> str:
        return page(
            "drupe showcase",
            "<p>A bookshelf served by drupe's kernel and the plugins this environment has "
            "installed. Every response here is gzip-compressed by a plugin turned on in "
            "config, and carries an <code>X-Elapsed-Ms</code> header from a tool defined "
            "in this file.</p>",
        )

    @drupe.expose
    def plugins(self) -> str:
        # The same table `drupe plugins` prints.
        table = "".join(
            f"<tr><td>{html.escape(row['group'])}</td><td>{html.escape(row['name'])}</td>"
            f"<td>{html.escape(row['distribution'])} {html.escape(str(row['version']))}</td>"
            f"<td>{html.escape(str(row.get('point') or ''))} {row.get('priority', '')}</td></tr>"
            for row in drupe.installed_plugins()
        )
        return page("Installed plugins", f"<table>{table}</table>")

    @drupe.expose
    def plan(self, path: str = "/") -> str:
        hooks_by_point = drupe.request.app.describe_plan(path)
        if hooks_by_point is None:
            return page("Plan", f"<p>No request has been planned for <code>{html.escape(path)}</code> "
                                f"yet: <a href='{html.escape(path)}'>visit it</a> first.</p>")
        points = "".join(
            f"<li>{html.escape(point)}: "
            + ", ".join(f"{html.escape(name)} ({priority})" for priority, name in hooks)
            + "</li>"
            for point, hooks in hooks_by_point.items()
        )
        return page(f"Plan of {path}", f"<ul>{points}</ul>")

    @drupe.expose
    def old(self) -> None:
        raise drupe.HTTPRedirect("/books/", 301)


def error_page(status: str, message: str, traceback: str, version: str) -> str:
    return page(status, f"<p>{message}</p>")


CONFIG = {
    "global": {
        "server.socket_host": "127.0.0.1",
        "server.socket_port": 8080,
    },
    "/": {
        "tools.gzip.on": True,
        "tools.gzip.mime_types": ["text/html", "text/plain"],
        "tools.timing_header.on": True,
        "error_page.default": error_page,
    },
    "/books": {
        "shelf.read_only.on": True,
    },
}


def make_app() -> drupe.Application:
    """Mount the showcase on drupe.tree (used by the tests too)."""
    return drupe.tree.mount(Root(), "/", CONFIG)


if __name__ == "__main__":
    drupe.quickstart(Root(), "/", CONFIG)
