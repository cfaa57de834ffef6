"""Twisted serves HTTP; drupe's engine follows the reactor (the documentation's section 8.7.3).

    twistd -n web --port tcp:8080:interface=127.0.0.1 --wsgi twisted_host.wsgiapp

The engine starts after the reactor and exits before it shuts down; ``main`` is published
every 0.1 s as the bus's own loop would. drupe's HTTP server and autoreloader are off;
Twisted handles the signals.
"""

from app import Root
from twisted.internet import reactor, task

import drupe

wsgiapp = drupe.tree.mount(Root())

drupe.config.update({"engine.autoreload.on": False})
drupe.server.unsubscribe()

task.LoopingCall(lambda: drupe.engine.publish("main")).start(0.1)
reactor.addSystemEventTrigger("after", "startup", drupe.engine.start)
reactor.addSystemEventTrigger("before", "shutdown", drupe.engine.exit)
