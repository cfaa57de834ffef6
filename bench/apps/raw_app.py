"""The benchmark application as a bare WSGI callable: the floor under any framework.

No framework: a dict from PATH_INFO to a handler. Each case does the least work that
gives the same answer as the framework apps (same status, same body, Content-Type and
Content-Length; cheroot adds Date and Server for every target): JSON through the standard
library, static files read from disk per request, the session counter in a dict behind a
per-session lock with a cookie, gzip at level 5 (CherryPy's default). No validation beyond
what the case needs: this is the figure a framework is measured against, not an example.
"""

import gzip
import html
import json
import os
import secrets
import threading
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from cases import GZIP_PAGE, JSON_OUT

HTML = "text/html;charset=utf-8"
JSON = "application/json"
STATIC_DIR = ""


class SessionStore:
    """Sessions in a dict: id -> [lock, data]. Also used by ``falcon_app``."""

    def __init__(self):
        self.sessions = {}
        self.guard = threading.Lock()

    def get(self, session_id):
        """The (id, [lock, data]) for a cookie's id, or a new session when it is unknown."""
        entry = self.sessions.get(session_id) if session_id else None
        if entry is None:
            session_id = secrets.token_hex(20)
            entry = [threading.Lock(), {}]
            with self.guard:
                self.sessions[session_id] = entry
        return session_id, entry

    def count(self, session_id):
        """Increment the session's counter; return (id, new count)."""
        session_id, (lock, data) = self.get(session_id)
        with lock:
            data["count"] = data.get("count", 0) + 1
            return session_id, data["count"]


SESSIONS = SessionStore()


def index(environ):
    return "200 OK", HTML, [], b"Hello world!"


def greet(environ):
    name = parse_qs(environ.get("QUERY_STRING", "")).get("name", ["world"])[0]
    return "200 OK", HTML, [], f"Hello {html.escape(name)}!".encode()


def json_out(environ):
    return "200 OK", JSON, [], json.dumps(JSON_OUT).encode()


def json_in(environ):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    value = json.loads(environ["wsgi.input"].read(length))
    return "200 OK", JSON, [], json.dumps(value).encode()


def session(environ):
    cookie = SimpleCookie(environ.get("HTTP_COOKIE", ""))
    morsel = cookie.get("session_id")
    session_id, count = SESSIONS.count(morsel.value if morsel else None)
    return "200 OK", HTML, [("Set-Cookie", f"session_id={session_id}; Path=/")], str(count).encode()


def gzip_page(environ):
    if "gzip" not in environ.get("HTTP_ACCEPT_ENCODING", ""):
        return "200 OK", HTML, [("Vary", "Accept-Encoding")], GZIP_PAGE
    return "200 OK", HTML, [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")], \
        gzip.compress(GZIP_PAGE, 5)


HANDLERS = {"/": index, "/greet": greet, "/json_out": json_out, "/json_in": json_in,
            "/session": session, "/gzip": gzip_page}


def static(environ, start_response, name):
    path = os.path.join(STATIC_DIR, name)
    if "/" in name or not os.path.isfile(path):
        return None
    f = open(path, "rb")  # noqa: SIM115 - closed by the generator
    size = os.fstat(f.fileno()).st_size
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(size))])

    def chunks():
        with f:
            while chunk := f.read(65536):
                yield chunk

    return chunks()


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    handler = HANDLERS.get(path)
    if handler is None:
        if path.startswith("/static/"):
            result = static(environ, start_response, path[len("/static/"):])
            if result is not None:
                return result
        body = b"Not Found"
        start_response("404 Not Found", [("Content-Type", "text/plain"),
                                         ("Content-Length", str(len(body)))])
        return [body]
    status, content_type, headers, body = handler(environ)
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body))),
                            *headers])
    return [body]


def configure(settings):
    global STATIC_DIR
    STATIC_DIR = settings["static_dir"]
    return application
