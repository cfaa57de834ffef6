"""Tornado serves HTTP; drupe's engine runs beside it (the documentation's section 8.7.2).

    python tornado_host.py [PORT]          # default 8080

As in the documentation: mount the application, turn the autoreloader off, unsubscribe
drupe's own HTTP server, let drupe handle SIGTERM/SIGHUP, start the engine without
``block()``, and publish the bus's ``main`` channel from Tornado's loop. The one change:
SIGTERM must also stop Tornado's loop, so an ``exit`` listener does that.
"""

import sys

import app
import tornado.httpserver
import tornado.ioloop
import tornado.wsgi

import drupe


def main(port: int) -> None:
    drupe.config.update({"engine.autoreload.on": False})
    drupe.server.unsubscribe()
    drupe.engine.signals.subscribe()
    drupe.log.error_log.propagate = False

    loop = tornado.ioloop.IOLoop.current()
    # SIGTERM -> engine.exit() -> stop Tornado's loop too (from the loop's own thread).
    drupe.engine.subscribe("exit", lambda: loop.add_callback_from_signal(loop.stop))
    drupe.engine.start()

    container = tornado.wsgi.WSGIContainer(drupe.tree)
    http_server = tornado.httpserver.HTTPServer(container)
    http_server.listen(port, "127.0.0.1")
    tornado.ioloop.PeriodicCallback(lambda: drupe.engine.publish("main"), 100).start()
    loop.start()
    http_server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8080)
