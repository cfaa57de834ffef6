"""The application every recipe in this folder serves (see README.md).

Importing it mounts ``Root`` on ``drupe.tree`` (what ``drupe -i app`` expects);
``application`` is the WSGI callable for hosts (``gunicorn app:application``).
``/`` answers with the serving process id, so a test can tell processes apart;
``/slow?seconds=N`` takes its time (to watch a graceful stop drain it).
"""

import os
import time

import drupe


class Root:
    @drupe.expose
    def index(self):
        return f"Hello from pid {os.getpid()}"

    @drupe.expose
    def slow(self, seconds="1"):
        time.sleep(min(float(seconds), 30.0))
        return f"slept {seconds} s in pid {os.getpid()}"

    @drupe.expose
    def state(self):
        return drupe.engine.state.name


application = drupe.tree.mount(Root(), "", {"/": {"tools.encode.on": True}})
