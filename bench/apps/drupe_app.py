"""The benchmark application, written for CherryPy and run on drupe.

``cherrypy_app.py`` is this file with the import line changed; ``run.py`` refuses to run
when the two differ anywhere else.
"""

import html

import drupe as cherrypy


class Root:
    @cherrypy.expose
    def index(self):
        return "Hello world!"

    @cherrypy.expose
    def greet(self, name="world"):
        return f"Hello {html.escape(name)}!"


def configure(settings):
    """Global config, then mount the root; return the WSGI application (the tree).

    ``settings`` holds the socket and thread-pool numbers, used when the framework's own
    server runs (``engine.start()``); with a bare ``cheroot.wsgi.Server`` the worker gives
    it the same numbers.
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
    cherrypy.tree.mount(Root(), "", {"/": {}})
    return cherrypy.tree


def start_engine():
    cherrypy.engine.start()


def stop_engine():
    cherrypy.engine.exit()
