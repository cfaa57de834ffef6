"""``python -m drupe_cherrypy [--real NAME=PATH]... (-m MODULE | SCRIPT) [ARGS...]``.

Runs a script or module, as ``python`` would, with ``import cherrypy`` aliased to drupe.
``--real cherrypy.test=PATH`` loads that package from its real files instead. Python
processes the program starts inherit the alias (``DRUPE_CHERRYPY=1`` and
``DRUPE_CHERRYPY_REAL`` are set in its environment).
"""

from __future__ import annotations

import os
import runpy
import sys
from typing import NoReturn

import drupe_cherrypy

USAGE = "usage: python -m drupe_cherrypy [--real cherrypy.NAME=PATH]... (-m MODULE | SCRIPT) [ARGS...]"


def _fail(message: str) -> NoReturn:
    print(f"{USAGE}\npython -m drupe_cherrypy: {message}", file=sys.stderr)
    raise SystemExit(2)


def main(argv: list[str] | None = None) -> None:
    """Parse like ``python`` does: options end at ``-m MODULE`` or at the script's name."""
    args = list(sys.argv[1:] if argv is None else argv)
    real: dict[str, str] = {}
    while args and args[0].startswith("--real"):
        option = args.pop(0)
        if option == "--real":
            if not args:
                _fail("--real wants cherrypy.NAME=PATH")
            item = args.pop(0)
        else:
            item = option.partition("=")[2]
        name, sep, path = item.partition("=")
        if not sep or not name.startswith("cherrypy.") or not path:
            _fail(f"--real wants cherrypy.NAME=PATH, not {item!r}")
        real[name] = path
    if args and args[0] in ("-h", "--help"):
        print(USAGE)
        print(__doc__)
        return
    module: str | None = None
    if args and args[0] == "-m":
        if len(args) < 2:
            _fail("-m wants a module name")
        module, args = args[1], args[2:]
    elif not args:
        _fail("name a script to run, or a module with -m")
    try:
        drupe_cherrypy.install(real)
    except drupe_cherrypy.AliasError as exc:
        _fail(str(exc))
    # Python processes the program starts (a re-exec, `python -m cherrypy`) get the alias too.
    drupe_cherrypy.export_to_children(real)
    if module is not None:
        sys.argv = [module, *args]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return
    sys.argv = list(args)
    sys.path.insert(0, os.path.dirname(os.path.abspath(args[0])))
    runpy.run_path(args[0], run_name="__main__")


if __name__ == "__main__":
    main()
