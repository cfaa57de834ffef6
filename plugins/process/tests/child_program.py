"""A small drupe program that the process tests run in a real subprocess.

Usage: ``python child_program.py MARKER OPTIONS_JSON``. Each start appends the process
id to MARKER (a re-executed process appends again, with the same id). OPTIONS:

``config``          global config entries applied before ``quickstart``
``import_watched``  import ``watched.py`` from the program's folder (the autoreload test
                    changes it)
``fork``            on the first start, fork: the parent waits for the child and exits
                    with its status; the child — a new pid, stdin not a terminal — is a
                    daemonized process as far as SIGHUP is concerned
``custom_sighup``   set ``engine.SIGHUP`` to a listener of our own that logs and exits

The program serves no HTTP (``drupe.server.unsubscribe()``), as in the documentation's
7.1 example, so its startup log is the engine's lines only.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
from typing import Any

import drupe


class Root:
    @drupe.expose
    def index(self) -> str:
        return "Hello from the child."


class IndexOnlyDispatcher:
    """Stands in for drupe-dispatch-objecttree when only the kernel and drupe-process are
    installed (the isolation run): every path is the root's index."""

    def __call__(self, path_info: str) -> None:
        request = drupe.serving.request
        request.handler = request.app.root.index
        request.config = {}
        request.is_index = True


def custom_sighup() -> None:
    drupe.engine.log("Custom SIGHUP listener called.")
    drupe.engine.exit()


def main() -> None:
    marker, options = sys.argv[1], json.loads(sys.argv[2])
    first_start = not os.path.exists(marker)
    # The test runner may have been started with SIGINT ignored (a background job), and
    # children inherit that; a terminal's Ctrl-C raises KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    if options.get("fork") and first_start:
        # Created before the fork, the handler remembers the launcher's pid and parent.
        drupe.engine.signal_handler  # noqa: B018
        child = os.fork()
        if child:
            _, status = os.waitpid(child, 0)
            os._exit(os.waitstatus_to_exitcode(status))

    with open(marker, "a") as file:
        file.write(f"{os.getpid()}\n")

    if options.get("import_watched"):
        importlib.import_module("watched")

    drupe.engine.subscribe("graceful", lambda: drupe.engine.log("Graceful listener called."))
    config: dict[str, Any] = dict(options.get("config", {}))
    if options.get("custom_sighup"):
        config["engine.SIGHUP"] = [custom_sighup]
    drupe.config.update(config)
    if not drupe.registry.has("drupe.dispatchers", "default"):
        drupe.registry.register("drupe.dispatchers", "default", IndexOnlyDispatcher)
    drupe.server.unsubscribe()
    drupe.quickstart(Root())


if __name__ == "__main__":
    main()
