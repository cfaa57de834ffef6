"""The benchmark application as a bare WSGI callable: the floor under any framework.

No framework: a dict from PATH_INFO to a handler, each returning the body as bytes. It
sends the same status line and the same Content-Type and Content-Length headers as the
framework apps do (cheroot adds Date and Server for all three).
"""

import html
from urllib.parse import parse_qs


def index(environ):
    return b"Hello world!"


def greet(environ):
    name = parse_qs(environ.get("QUERY_STRING", "")).get("name", ["world"])[0]
    return f"Hello {html.escape(name)}!".encode()


HANDLERS = {"/": index, "/greet": greet}


def application(environ, start_response):
    handler = HANDLERS.get(environ.get("PATH_INFO", ""))
    if handler is None:
        body = b"Not Found"
        start_response("404 Not Found", [("Content-Type", "text/plain"),
                                         ("Content-Length", str(len(body)))])
        return [body]
    body = handler(environ)
    start_response("200 OK", [("Content-Type", "text/html;charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]


def configure(settings):
    return application
