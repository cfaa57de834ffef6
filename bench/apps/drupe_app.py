"""The benchmark application, written for CherryPy and run on drupe.

``cherrypy_app.py`` is this file with the import line changed; ``run.py`` refuses to run
when the two differ anywhere else.
"""

import html

from cases import GZIP_PAGE, JSON_OUT

import drupe as cherrypy


class Root:
    @cherrypy.expose
    def index(self):
        return "Hello world!"

    @cherrypy.expose
    def greet(self, name="world"):
        return f"Hello {html.escape(name)}!"

    @cherrypy.expose
    def json_out(self):
        return JSON_OUT

    @cherrypy.expose
    def json_in(self):
        return cherrypy.request.json

    @cherrypy.expose
    def session(self):
        count = cherrypy.session.get("count", 0) + 1
        cherrypy.session["count"] = count
        return str(count)

    @cherrypy.expose
    def gzip(self):
        return GZIP_PAGE


def configure(settings):
    """Global config, then mount the root; return the WSGI application (the tree).

    ``settings`` holds the socket and thread-pool numbers, used when the framework's own
    server runs (``engine.start()``); with a bare ``cheroot.wsgi.Server`` the worker gives
    it the same numbers. ``settings["cases"]`` names the cases to serve: a case whose
    plugin is not installed gets no config (its tool would not load).
    """
    cherrypy.config.update({
        "environment": "production",
        "log.screen": False,
        "log.access_file": "",
        "log.error_file": "",
        "checker.on": False,
        "server.socket_host": settings["host"],
        "server.socket_port": settings["port"],
        "server.thread_pool": settings["thread_pool"],
        "server.socket_queue_size": settings["socket_queue_size"],
        "server.socket_timeout": settings["socket_timeout"],
        "server.shutdown_timeout": settings["shutdown_timeout"],
        "server.max_request_header_size": settings["max_request_header_size"],
        "server.max_request_body_size": settings["max_request_body_size"],
    })
    # "production" already turns the autoreloader off where there is one; say it anyway.
    # (A framework without an autoreloader plugin installed has nothing to turn off.)
    if hasattr(cherrypy.engine, "autoreload"):
        cherrypy.config.update({"engine.autoreload.on": False})
    cases = set(settings["cases"])
    config = {"/": {}}
    if "json_out" in cases:
        config["/json_out"] = {"tools.json_out.on": True}
    if "json_in" in cases:
        config["/json_in"] = {"tools.json_in.on": True, "tools.json_out.on": True}
    if cases & {"static64k", "static1m"}:
        config["/static"] = {"tools.staticdir.on": True, "tools.staticdir.dir": settings["static_dir"]}
    if "session" in cases:
        config["/session"] = {"tools.sessions.on": True}
    if "gzip" in cases:
        config["/gzip"] = {"tools.gzip.on": True}
    cherrypy.tree.mount(Root(), "", config)
    return cherrypy.tree


def start_engine():
    cherrypy.engine.start()


def stop_engine():
    cherrypy.engine.exit()
