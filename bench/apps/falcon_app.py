"""The benchmark application on Falcon (WSGI): the fastest common peer, served by cheroot.

Written as a Falcon user would: resources with responders, ``resp.media`` for JSON,
``add_static_route`` for the static directory. Falcon has no sessions and no gzip of its
own, so those two cases do what the raw app does (the same dict session store, and
``gzip.compress`` at level 5) inside a responder.
"""

import gzip
import html

import falcon
from cases import GZIP_PAGE, JSON_OUT
from raw_app import SessionStore

HTML = "text/html;charset=utf-8"


class Hello:
    def on_get(self, req, resp):
        resp.content_type = HTML
        resp.text = "Hello world!"


class Greet:
    def on_get(self, req, resp):
        resp.content_type = HTML
        resp.text = f"Hello {html.escape(req.get_param('name', default='world'))}!"


class JsonOut:
    def on_get(self, req, resp):
        resp.media = JSON_OUT


class JsonIn:
    def on_post(self, req, resp):
        resp.media = req.get_media()


class Session:
    def __init__(self):
        self.store = SessionStore()

    def on_get(self, req, resp):
        session_id, count = self.store.count(req.cookies.get("session_id"))
        resp.set_cookie("session_id", session_id, path="/", secure=False, http_only=False)
        resp.content_type = HTML
        resp.text = str(count)


class GzipPage:
    def on_get(self, req, resp):
        resp.content_type = HTML
        resp.vary = ("Accept-Encoding",)
        if "gzip" in (req.get_header("Accept-Encoding") or ""):
            resp.set_header("Content-Encoding", "gzip")
            resp.data = gzip.compress(GZIP_PAGE, 5)
        else:
            resp.data = GZIP_PAGE


def configure(settings):
    app = falcon.App()
    app.add_route("/", Hello())
    app.add_route("/greet", Greet())
    app.add_route("/json_out", JsonOut())
    app.add_route("/json_in", JsonIn())
    app.add_route("/session", Session())
    app.add_route("/gzip", GzipPage())
    app.add_static_route("/static", settings["static_dir"])
    return app
