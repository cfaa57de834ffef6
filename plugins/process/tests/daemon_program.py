"""A drupe program (kernel and drupe-process only) that daemonizes through config.

Usage: ``python daemon_program.py OPTIONS_JSON``; OPTIONS: ``config`` (global config
entries), ``fail`` (a start listener after the daemonizer raises). It serves no HTTP.
"""

from __future__ import annotations

import json
import sys

import drupe


def failing_listener() -> None:
    raise RuntimeError("the database is not reachable")


def main() -> int:
    options = json.loads(sys.argv[1])
    drupe.server.unsubscribe()
    drupe.config.update(options.get("config", {}))
    if options.get("fail"):
        drupe.engine.subscribe("start", failing_listener, priority=80)
    drupe.engine.signals.subscribe()
    try:
        drupe.engine.start()
    except Exception:
        drupe.engine.exit()
        return 1
    drupe.engine.block()
    return 0


if __name__ == "__main__":
    sys.exit(main())
