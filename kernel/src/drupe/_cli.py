"""The ``drupe`` command (also ``python -m drupe``).

Imported only by the console script and ``python -m drupe``, never by ``import drupe``.

``drupe [OPTIONS]`` — CherryPy's ``cherryd``: import modules that mount applications,
apply config files, then run the engine until a signal stops it::

    drupe -c site.conf -c app.conf -i myapp -e production -d -p /run/myapp.pid

``-c/--config FILE`` (several: each goes to ``drupe.config.update``, and into the
application when exactly one is mounted), ``-d`` (daemonize: the ``daemonizer`` engine
plugin), ``-e/--environment NAME``, ``-i/--import MODULE`` (several), ``-p/--pidfile
FILE`` (the ``pidfile`` engine plugin), ``-P/--Path DIR`` (several, put first on
``sys.path``). ``-f``, ``-s`` and ``-x`` (flup FastCGI / SCGI / CGI servers) are refused
with the reason.

``drupe serve MODULE:OBJECT`` mounts a root object, a drupe ``Application`` or any WSGI
callable (``--host``, ``--port``, ``--script-name``; the cherryd options too) and serves
it. ``--reload`` runs the server in a child process and restarts that child whenever one
of its source files or config files changes: the reloader stays outside, so a syntax
error leaves it waiting for the fix instead of dying.

``drupe check CONFIG...`` validates config files against the installed plugins without
starting anything (exit status 0 when valid, 1 otherwise; every problem names its key).

``drupe plugins [--json]`` lists every installed plugin, group by group: its name, the
distribution that provides it and its version; tools also show their hook point and
priority, in the order they run.

Signals (when drupe-process is installed): SIGTERM and Ctrl-C stop, SIGUSR1 reloads
(``graceful``), SIGHUP restarts the process when standard input is not a terminal (a
daemon, a systemd or supervisord service) and stops it otherwise (a closed terminal).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import signal
import subprocess
import sys
import sysconfig
import time
import traceback
from collections.abc import Callable
from typing import Any

from drupe._registry import GROUPS, installed_plugins
from drupe._request import hookpoints

__all__ = ["main"]

_MANIFEST_VARIABLE = "DRUPE_RELOADER_MANIFEST"
"""Set by ``drupe serve --reload`` for its child: where to write the files to watch."""


class CommandError(Exception):
    """A problem to report in one line on standard error (exit status ``status``)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


# ---------------------------------------------------------------------------
# drupe plugins


def _tool_order(row: dict[str, Any]) -> tuple[int, float, str]:
    point = row.get("point")
    index = hookpoints.index(point) if point in hookpoints else len(hookpoints)
    priority = row.get("priority")
    return index, float(priority) if isinstance(priority, (int, float)) else 0.0, row["name"]


def _print_table(rows: list[dict[str, Any]]) -> None:
    for group, info in GROUPS.items():
        group_rows = [row for row in rows if row["group"] == group]
        hint = f"; config: {info.key_hint.replace('{name}', '<name>')}" if info.key_hint else ""
        print(f"{group}  [{info.what}{hint}]")
        if not group_rows:
            print("  (none installed)")
            print()
            continue
        if group == "drupe.tools":
            group_rows.sort(key=_tool_order)
        width = max(len(row["name"]) for row in group_rows)
        dist_width = max(len(row["distribution"]) for row in group_rows)
        for row in group_rows:
            line = f"  {row['name']:<{width}}  {row['distribution']:<{dist_width}}  {row['version']}"
            if group == "drupe.tools":
                if "error" in row:
                    line += f"  ERROR: {row['error']}"
                else:
                    line += f"  {row.get('point') or 'error_response'} priority {row.get('priority')}"
            elif group in ("drupe.compat", "drupe.plugins"):
                line += f"  {row['value']}"
            print(line)
        print()


def _plugins(args: argparse.Namespace) -> int:
    rows = installed_plugins()
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        print()
    else:
        _print_table(rows)
    return 0


# ---------------------------------------------------------------------------
# The parser


_UNSUPPORTED_SERVERS = {
    "fastcgi": "-f (FastCGI)",
    "scgi": "-s (SCGI)",
    "cgi": "-x (CGI)",
}


def _add_process_options(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """cherryd's options; ``prefix`` keeps a subcommand's values apart from the top level's."""
    group = parser.add_argument_group("cherryd options")
    group.add_argument("-c", "--config", action="append", dest=prefix + "config", metavar="FILE",
                       help="apply a config file (repeatable)")
    group.add_argument("-d", action="store_true", dest=prefix + "daemonize", default=None,
                       help="run in the background (double fork; needs drupe-process)")
    group.add_argument("-e", "--environment", dest=prefix + "environment", metavar="NAME",
                       help="config environment: production, staging, embedded, test_suite")
    group.add_argument("-i", "--import", action="append", dest=prefix + "imports", metavar="MODULE",
                       help="import a module, which usually mounts applications (repeatable)")
    group.add_argument("-p", "--pidfile", dest=prefix + "pidfile", metavar="FILE",
                       help="write the process id to FILE (needs drupe-process)")
    group.add_argument("-P", "--Path", action="append", dest=prefix + "paths", metavar="DIR",
                       help="add DIR to the front of sys.path (repeatable)")
    group.add_argument("-f", action="store_true", dest=prefix + "fastcgi", default=None,
                       help="not supported: FastCGI (see the message)")
    group.add_argument("-s", action="store_true", dest=prefix + "scgi", default=None,
                       help="not supported: SCGI")
    group.add_argument("-x", action="store_true", dest=prefix + "cgi", default=None,
                       help="not supported: CGI")


_PROCESS_OPTIONS = ("config", "daemonize", "environment", "imports", "pidfile", "paths",
                    "fastcgi", "scgi", "cgi")


def _merged_process_options(args: argparse.Namespace) -> argparse.Namespace:
    """The top-level cherryd options, extended by those given after a subcommand."""
    for name in _PROCESS_OPTIONS:
        top = getattr(args, name, None)
        sub = getattr(args, "sub_" + name, None)
        if isinstance(top, list) or isinstance(sub, list):
            setattr(args, name, (top or []) + (sub or []))
        elif sub is not None:
            setattr(args, name, sub)
        else:
            setattr(args, name, top)
    return args


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="drupe",
        description="Run drupe applications (cherryd's options), serve a WSGI/drupe object, "
                    "check config files, list plugins.",
        epilog="Commands: 'drupe serve MODULE:OBJECT', 'drupe check CONFIG', 'drupe plugins'. "
               "Without a command, the options run the engine as cherryd does.")
    _add_process_options(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    plugins = commands.add_parser("plugins", help="list installed plugins by entry-point group")
    plugins.add_argument("--json", action="store_true", help="print JSON instead of a table")

    serve = commands.add_parser(
        "serve", help="serve MODULE:OBJECT (a root object, an Application or a WSGI callable)",
        description="Mount MODULE:OBJECT and serve it. OBJECT is a root object (or a class of "
                    "one, created without arguments), a drupe Application, or a WSGI callable "
                    "(grafted: drupe's tools do not apply to it). Without ':OBJECT', 'app' is used.")
    serve.add_argument("target", metavar="MODULE:OBJECT")
    serve.add_argument("--host", help="server.socket_host (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="server.socket_port (default 8080)")
    serve.add_argument("--script-name", default="", help="mount point (default: the root)")
    serve.add_argument("--reload", action="store_true",
                       help="restart the server (a child process) when a source or config file changes")
    serve.add_argument("--reload-interval", type=float, default=0.5, metavar="SECONDS",
                       help="how often --reload checks the files (default 0.5)")
    serve.add_argument("--watch", action="append", default=[], metavar="PATH",
                       help="with --reload, also watch PATH (repeatable)")
    _add_process_options(serve, prefix="sub_")

    check = commands.add_parser(
        "check", help="validate config files against the installed plugins",
        description="Check config files without starting anything: unknown namespaces, tools, "
                    "engine plugins and keys, bad values, missing distributions. Exit status 0 "
                    "when every file is valid, 1 otherwise.")
    check.add_argument("files", nargs="+", metavar="CONFIG")
    check.add_argument("-i", "--import", action="append", dest="check_imports", default=[],
                       metavar="MODULE", help="import MODULE first (it may mount apps, add namespaces)")
    check.add_argument("-P", "--Path", action="append", dest="check_paths", default=[], metavar="DIR",
                       help="add DIR to the front of sys.path")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``drupe`` command; returns the exit status."""
    parser = _build_parser()
    args = _merged_process_options(parser.parse_args(argv))
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if args.command == "plugins":
            return _plugins(args)
        if args.command == "check":
            return _check(args)
        if args.command == "serve":
            return _serve(args)
        if not any(getattr(args, name) for name in _PROCESS_OPTIONS):
            parser.print_help()
            return 2
        _refuse_unsupported_servers(args)
        _prepare(args)
        return _run_engine(args)
    except CommandError as exc:
        print(f"drupe: {exc}", file=sys.stderr)
        return exc.status


# ---------------------------------------------------------------------------
# Running the engine (cherryd)


def _refuse_unsupported_servers(args: argparse.Namespace) -> None:
    chosen = [label for name, label in _UNSUPPORTED_SERVERS.items() if getattr(args, name)]
    if chosen:
        raise CommandError(
            f"{', '.join(chosen)} is not supported. cherryd ran flup's FastCGI/SCGI/CGI servers; "
            "flup is unmaintained and those gateways add a process hop without benefit over "
            "HTTP. Serve HTTP with drupe's own server behind the front server (nginx: "
            "proxy_pass, see deploy/README.md), or hand drupe.tree to a WSGI host that speaks "
            "the protocol (uWSGI: --socket with uwsgi_pass; gunicorn).", status=2)


def _add_paths(paths: list[str]) -> None:
    # As cherryd: the working directory first, then each -P in front of it.
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    for path in paths or []:
        sys.path.insert(0, os.path.abspath(path))


def _import(module: str, option: str = "-i") -> Any:
    try:
        return importlib.import_module(module)
    except SyntaxError:
        traceback.print_exc()
        raise CommandError(f"cannot import {module!r} ({option}): syntax error (see above).") from None
    except ImportError as exc:
        missing = exc.name
        if isinstance(exc, ModuleNotFoundError) and missing and (
                module == missing or module.startswith(missing + ".")):
            raise CommandError(f"cannot import {module!r} ({option}): no module named {missing!r} "
                               f"(sys.path starts with {sys.path[:2]!r}; add a directory with -P).") from None
        traceback.print_exc()
        raise CommandError(f"cannot import {module!r} ({option}): {exc}") from None
    except Exception as exc:
        traceback.print_exc()
        raise CommandError(f"importing {module!r} ({option}) failed: {exc!r}") from None


def _apply_config_file(path: str) -> None:
    from drupe._config import config
    from drupe._errors import ConfigError
    from drupe._registry import PluginError
    from drupe._tree import Application, tree

    if not os.path.isfile(path):
        raise CommandError(f"config file {path!r} (-c) does not exist.")
    try:
        config.update(path)
        apps = [app for app in tree.apps.values() if isinstance(app, Application)]
        if len(tree.apps) == 1 and len(apps) == 1:
            apps[0].merge(path)
    except (ConfigError, PluginError, ValueError, TypeError) as exc:
        raise CommandError(f"{path}: {exc}") from None


def _prepare(args: argparse.Namespace, before_config: Callable[[], None] | None = None) -> None:
    """Imports, config files, environment, daemonizer, PID file, signals (cherryd's order)."""
    from drupe._config import config
    from drupe._engine import engine
    from drupe._errors import ConfigError
    from drupe._registry import PluginError

    _add_paths(args.paths)
    for module in args.imports or []:
        _import(module)
    if before_config is not None:
        before_config()
    for path in args.config or []:
        _apply_config_file(path)
    try:
        if args.environment:
            config.update({"environment": args.environment})
        if args.daemonize:
            config.update({"log.screen": False})
            engine.daemonizer.subscribe()
        if args.pidfile:
            engine.pidfile.pidfile = os.path.abspath(args.pidfile)
            engine.pidfile.subscribe()
    except (ConfigError, PluginError) as exc:
        raise CommandError(str(exc)) from None
    _subscribe_signals()


def _run_as_cherrypy() -> bool:
    """Whether this command runs as ``python -m cherrypy`` (drupe-cherrypy's alias)."""
    argv = list(getattr(sys, "orig_argv", ()))
    return any(arg == "-m" and argv[index + 1:index + 2] in (["cherrypy"], ["cherrypy.__main__"])
               for index, arg in enumerate(argv))


def _subscribe_signals() -> None:
    from drupe._config import config
    from drupe._engine import engine
    from drupe._registry import MissingPluginError

    try:
        handler = engine.signal_handler
    except MissingPluginError:
        engine.log("Signal handling is not available: pip install drupe-process", level=30)
        return
    if "engine.signal_handler.sighup_restarts" not in config and hasattr(handler, "sighup_restarts") \
            and not _run_as_cherrypy():
        # No terminal to have hung up: SIGHUP is a request to reload (systemd's
        # ExecReload, supervisorctl signal HUP, kill -HUP on a daemon). Run as CherryPy's
        # command (`python -m cherrypy`), the handler decides as cherryd does: restart
        # only when daemonized, else exit.
        stdin = sys.stdin
        try:
            interactive = stdin is not None and os.isatty(stdin.fileno())
        except (OSError, ValueError):
            interactive = False
        if not interactive:
            handler.sighup_restarts = True
    engine.signals.subscribe()


def _run_engine(args: argparse.Namespace) -> int:
    from drupe._engine import engine

    if os.environ.get(_MANIFEST_VARIABLE):
        _write_manifest(args)
    try:
        engine.start()
    except Exception:
        # The engine logged the error (without a traceback for configuration errors). The
        # bus is stopped; exiting it publishes 'exit' (the PID file is removed).
        engine.exit()
        return 1
    engine.block()
    return 0


# ---------------------------------------------------------------------------
# drupe serve


def _resolve_target(target: str) -> Any:
    module_name, _, attribute = target.partition(":")
    if not module_name:
        raise CommandError(f"{target!r}: expected MODULE:OBJECT, e.g. 'myapp:Root' or 'myapp:application'.",
                           status=2)
    module = _import(module_name, option="serve")
    names = attribute.split(".") if attribute else ["app"]
    obj: Any = module
    for name in names:
        try:
            obj = getattr(obj, name)
        except AttributeError:
            public = sorted(name for name in vars(module) if not name.startswith("_"))
            raise CommandError(f"module {module_name!r} has no attribute {'.'.join(names)!r}. "
                               f"It has: {', '.join(public) or 'nothing public'}.") from None
    return obj


def _has_exposed(obj: Any) -> bool:
    if getattr(obj, "exposed", False) or hasattr(obj, "_cp_config") or hasattr(obj, "_cp_dispatch"):
        return True
    for holder in (type(obj), obj):
        try:
            values = list(vars(holder).values())
        except TypeError:
            continue
        if any(getattr(value, "exposed", False) for value in values):
            return True
    return False


def _mount_target(obj: Any, script_name: str) -> Any:
    from drupe._tree import Application, Tree, tree

    if isinstance(obj, Tree):
        return obj
    if isinstance(obj, Application):
        if obj.script_name not in (script_name, None) and script_name:
            raise CommandError(f"the Application is mounted at {obj.script_name!r}, not at "
                               f"{script_name!r} (--script-name).")
        return tree.mount(obj, script_name if obj.script_name is None else "")
    if isinstance(obj, type):
        try:
            obj = obj()
        except TypeError as exc:
            raise CommandError(f"cannot create the root object {obj.__name__}(): {exc}") from None
        return tree.mount(obj, script_name)
    if callable(obj) and not _has_exposed(obj):
        tree.graft(obj, script_name)
        return obj
    return tree.mount(obj, script_name)


def _serve(args: argparse.Namespace) -> int:
    _refuse_unsupported_servers(args)
    if args.reload:
        if args.daemonize:
            raise CommandError("--reload and -d do not go together: the reloader watches files "
                               "from the foreground.", status=2)
        return _reload_loop(args)

    from drupe._config import config
    from drupe._errors import ConfigError

    def mount() -> None:
        # Off unless a config file turns it on: the in-process autoreloader re-executes the
        # process; 'drupe serve --reload' restarts it from outside instead.
        config.update({"engine.autoreload.on": False})
        if os.environ.get(_MANIFEST_VARIABLE):
            # Written now, so that an import error below still leaves files to watch.
            _write_manifest(args)
        try:
            _mount_target(_resolve_target(args.target), args.script_name.rstrip("/"))
        except CommandError:
            if os.environ.get(_MANIFEST_VARIABLE):
                _write_manifest(args, sys.exc_info()[1])
            raise
        except ValueError as exc:
            raise CommandError(str(exc)) from None

    _prepare(args, before_config=mount)
    settings: dict[str, Any] = {}
    if args.host is not None:
        settings["server.socket_host"] = args.host
    if args.port is not None:
        settings["server.socket_port"] = args.port
    if settings:
        try:
            config.update(settings)
        except (ConfigError, ValueError) as exc:
            raise CommandError(str(exc), status=2) from None
    return _run_engine(args)


# -- the reloader (drupe serve --reload) ----------------------------------------------


def _stdlib_directories() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    return tuple({os.path.abspath(paths[name]) + os.sep for name in ("stdlib", "platstdlib")
                  if name in paths})


def _write_manifest(args: argparse.Namespace, error: BaseException | None = None) -> None:
    """In the reloader's child: list the files whose change should restart the server."""
    target = os.environ[_MANIFEST_VARIABLE]
    skip = _stdlib_directories()
    files: set[str] = set()
    for module in list(sys.modules.values()):
        filename = getattr(module, "__file__", None)
        if isinstance(filename, str):
            filename = os.path.abspath(filename)
            if not filename.startswith(skip):
                files.add(filename[:-1] if filename.endswith(".pyc") else filename)
    for path in getattr(args, "config", None) or []:
        files.add(os.path.abspath(path))
    for path in getattr(args, "watch", None) or []:
        files.add(os.path.abspath(path))
    # The file that failed to import (a syntax error) is not in sys.modules.
    cause = error.__cause__ or error.__context__ if error is not None else None
    for exc in (cause, sys.exc_info()[1]):
        filename = getattr(exc, "filename", None)
        if isinstance(filename, str):
            files.add(os.path.abspath(filename))
        tb = getattr(exc, "__traceback__", None)
        for frame in traceback.extract_tb(tb) if tb is not None else []:
            files.add(os.path.abspath(frame.filename))
    temporary = f"{target}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(sorted(files), handle)
    os.replace(temporary, target)


def _child_command(argv: list[str]) -> list[str]:
    """The command line of the reloader's child: the same, without the reload options."""
    result: list[str] = []
    skip_next = False
    for arg in argv:
        if skip_next:
            skip_next = False
            continue
        if arg == "--reload":
            continue
        if arg in ("--reload-interval", "--watch"):
            skip_next = True
            continue
        if arg.startswith(("--reload-interval=", "--watch=")):
            continue
        result.append(arg)
    return [sys.executable, "-m", "drupe", *result]


def _mtime(path: str) -> float | None:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


class _Reloader:
    """Run the server as a child process; restart it when a watched file changes."""

    def __init__(self, args: argparse.Namespace, argv: list[str]) -> None:
        import tempfile

        self.interval = max(0.05, args.reload_interval)
        self.command = _child_command(argv)
        self.extra = {os.path.abspath(path) for path in (args.config or []) + (args.watch or [])}
        self.directory = tempfile.mkdtemp(prefix="drupe-reload-")
        self.manifest = os.path.join(self.directory, "files.json")
        self.child: subprocess.Popen[bytes] | None = None
        self.mtimes: dict[str, float | None] = {}
        self.manifest_mtime: float | None = None
        self.stopping = False
        self.restart_requested = False

    def log(self, message: str) -> None:
        print(f"drupe serve --reload: {message}", file=sys.stderr, flush=True)

    def spawn(self) -> None:
        env = dict(os.environ, **{_MANIFEST_VARIABLE: self.manifest})
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.manifest)
        self.manifest_mtime = None
        self.child = subprocess.Popen(self.command, env=env)
        self.log(f"started the server (pid {self.child.pid}).")

    def refresh_files(self) -> None:
        """Add files the child listed since the last look (each with its current time)."""
        current = _mtime(self.manifest)
        if current is None or current == self.manifest_mtime:
            if not self.mtimes:
                for path in self.extra:
                    self.mtimes.setdefault(path, _mtime(path))
            return
        self.manifest_mtime = current
        try:
            with open(self.manifest, encoding="utf-8") as handle:
                listed = json.load(handle)
        except (OSError, ValueError):
            return
        for path in [*listed, *self.extra]:
            if path not in self.mtimes:
                self.mtimes[path] = _mtime(path)

    def changed(self) -> str | None:
        for path, seen in list(self.mtimes.items()):
            if _mtime(path) != seen:
                return path
        return None

    def stop_child(self) -> int | None:
        child = self.child
        if child is None:
            return None
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                self.log(f"the server (pid {child.pid}) did not stop within 30 s; killing it.")
                child.kill()
                child.wait()
        self.child = None
        return child.returncode

    def run(self) -> int:
        def on_stop(signum: int, frame: Any) -> None:
            self.stopping = True

        def on_hup(signum: int, frame: Any) -> None:
            self.restart_requested = True

        signal.signal(signal.SIGTERM, on_stop)
        signal.signal(signal.SIGINT, on_stop)
        if hasattr(signal, "SIGHUP"):
            signal.signal(signal.SIGHUP, on_hup)
        try:
            self.spawn()
            reported_exit = False
            while True:
                time.sleep(self.interval)
                if self.stopping:
                    status = self.stop_child()
                    self.log("stopped.")
                    return 0 if status in (None, 0, -signal.SIGTERM) else 1
                self.refresh_files()
                reason = self.changed()
                if reason is None and self.restart_requested:
                    reason = "SIGHUP"
                if reason is not None:
                    self.restart_requested = False
                    self.log(f"{reason} changed; restarting the server." if reason != "SIGHUP"
                             else "SIGHUP received; restarting the server.")
                    self.stop_child()
                    self.mtimes.clear()
                    self.spawn()
                    reported_exit = False
                    continue
                child = self.child
                if child is not None and child.poll() is not None and not reported_exit:
                    reported_exit = True
                    self.log(f"the server exited with status {child.returncode}; waiting for a "
                             "file to change.")
        finally:
            self.stop_child()
            import shutil

            shutil.rmtree(self.directory, ignore_errors=True)


def _reload_loop(args: argparse.Namespace) -> int:
    return _Reloader(args, args.argv).run()


# ---------------------------------------------------------------------------
# drupe check


def _read_config_file(path: str, problems: list[str]) -> dict[str, dict[str, Any]]:
    """Parse an ini config file, evaluating each value on its own (every bad one reported)."""
    import configparser

    from drupe._configfile import Parser, unrepr

    parser = Parser()
    try:
        parser.read(path)
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"cannot read the file: {exc}")
        return {}
    except configparser.Error as exc:
        problems.append(f"not a valid config file: {exc}")
        return {}
    result: dict[str, dict[str, Any]] = {}
    for section in parser.sections():
        values: dict[str, Any] = {}
        for option in parser.options(section):
            try:
                text = parser.get(section, option)
            except configparser.InterpolationError as exc:
                problems.append(f"[{section}] {option}: {exc.message} (write %% for a literal %)")
                continue
            try:
                values[option] = unrepr(text)
            except Exception as exc:
                problems.append(f"[{section}] {option}: {exc} (value: {text!r}). Config values "
                                "are Python literals, importable names or calls of classes.")
        result[section] = values
    return result


def _check_engine_key(key: str, value: Any) -> None:
    """Check ``engine.<rest>`` on a scratch bus: the plugin exists and takes the attribute."""
    from drupe._bus import Bus
    from drupe._engine import engine
    from drupe._errors import ConfigError
    from drupe._registry import registry

    if key in ("SIGHUP", "SIGTERM"):
        return
    if "." not in key:
        if not hasattr(engine, key):
            raise ConfigError(f"Config key 'engine.{key}': the engine has no attribute {key!r}.")
        return
    name, attr = key.split(".", 1)
    plugin = registry.load("drupe.engine", name, key=f"engine.{key}")(Bus())
    if attr == "on":
        return
    if not hasattr(plugin, attr):
        raise ConfigError(f"Config key 'engine.{key}': the {name!r} engine plugin has no attribute "
                          f"{attr!r}.")
    try:
        setattr(plugin, attr, value)
    except ConfigError:
        raise
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"Config key 'engine.{key}': {exc}") from None


def _check_server_key(key: str, value: Any, servers: dict[str, Any]) -> None:
    """Set ``server.<key>`` on a scratch server (``servers``: name -> scratch server)."""
    from drupe._bus import Bus
    from drupe._errors import ConfigError
    from drupe._server import _OTHER_NAMES, SERVER_SETTINGS, Server

    name, dot, rest = key.partition(".")
    target = ""
    if dot and name not in SERVER_SETTINGS and name not in _OTHER_NAMES:
        # server.<name>.<key>: an extra server.
        target, key = name, rest
    scratch = servers.get(target)
    if scratch is None:
        scratch = servers[target] = Server(Bus())
    if key == "on" and target:
        return
    try:
        setattr(scratch, key, value)
    except ValueError as exc:
        raise ConfigError(f"Config key 'server.{key}': {exc}") from None


def _check_global(values: dict[str, Any], where: str, problems: list[str]) -> None:
    from drupe._checker import _check_mapping
    from drupe._checker import checker as the_checker
    from drupe._config import config
    from drupe._errors import ConfigError
    from drupe._log import log
    from drupe._registry import PluginError, registry

    servers: dict[str, Any] = {}
    request_level: dict[str, Any] = {}
    for key, value in values.items():
        namespace, dot, rest = key.partition(".")
        try:
            if key == "environment":
                if value not in config.environments:
                    raise ConfigError(f"Config key 'environment': unknown environment {value!r}. "
                                      f"Known: {', '.join(sorted(config.environments))}.")
            elif not dot:
                raise ConfigError(f"Config key {key!r}: keys look like 'namespace.name' "
                                  "(engine., server., log., tools., request., ...).")
            elif namespace == "engine":
                _check_engine_key(rest, value)
            elif namespace == "server":
                _check_server_key(rest, value, servers)
            elif namespace == "log":
                if rest.startswith("_") or not hasattr(log, rest):
                    raise ConfigError(f"Config key {key!r}: the log has no setting {rest!r}.")
            elif namespace == "checker":
                if rest != "on" and not hasattr(the_checker, rest):
                    raise ConfigError(f"Config key {key!r}: the checker has no check {rest!r}.")
            elif namespace == "tree" or namespace in config.namespaces:
                continue
            else:
                request_level[key] = value
        except (ConfigError, PluginError) as exc:
            problems.append(f"{where}: {exc}")
    for server in servers.values():
        try:
            adapter = registry.load("drupe.servers", server.type, key="server.type")
            server._check_settings(adapter)
        except (ConfigError, PluginError) as exc:
            problems.append(f"{where}: {exc}")
    _check_mapping(request_level, None, where, problems)


# Config keys whose value names a plugin that the request pipeline loads only when a
# request needs it: checked here so that a missing distribution shows before deployment.
_PLUGIN_VALUED_KEYS = {"tools.sessions.storage_type": "drupe.sessions"}


def _check_plugin_values(values: dict[str, Any], where: str, problems: list[str]) -> None:
    from drupe._registry import registry

    for key, group in _PLUGIN_VALUED_KEYS.items():
        name = values.get(key)
        if isinstance(name, str) and not registry.has(group, name):
            problems.append(f"{where}: {registry.missing(group, name, key)}")


def _check_file(path: str) -> tuple[list[str], list[str], int]:
    """``(problems, warnings, number of keys)`` for one config file."""
    from drupe._checker import _check_mapping
    from drupe._errors import ConfigError
    from drupe._registry import PluginError
    from drupe._tree import Application, tree

    problems: list[str] = []
    warnings: list[str] = []
    if not os.path.isfile(path):
        return [f"no such file: {path!r}"], warnings, 0
    sections = _read_config_file(path, problems)
    count = sum(len(values) for values in sections.values())
    mounted = [app for app in tree.apps.values() if isinstance(app, Application)]
    app = mounted[0] if len(mounted) == 1 else Application(None, "")
    for section, values in sections.items():
        if section == "global":
            _check_global(values, "[global]", problems)
            _check_plugin_values(values, "[global]", problems)
        elif section.startswith("/"):
            _check_mapping(values, app, f"[{section}]", problems)
            _check_plugin_values(values, f"[{section}]", problems)
            if "request.dispatch" in values:
                try:
                    app._make_dispatcher(values["request.dispatch"], "request.dispatch")
                except (ConfigError, PluginError) as exc:
                    problems.append(f"[{section}]: {exc}")
        else:
            warnings.append(f"section [{section}] is ignored: sections are [global] or paths "
                            "starting with '/'.")
    return problems, warnings, count


def _check(args: argparse.Namespace) -> int:
    from drupe._boot import boot
    from drupe._registry import PluginError, registry

    boot()
    _add_paths(args.check_paths)
    for module in args.check_imports:
        _import(module)
    status = 0
    try:
        registry.check_duplicates()
    except PluginError as exc:
        print(f"drupe check: {exc}")
        status = 1
    for path in args.files:
        problems, warnings, count = _check_file(path)
        for warning in warnings:
            print(f"{path}: warning: {warning}")
        if problems:
            status = 1
            print(f"{path}: {len(problems)} problem{'s' if len(problems) != 1 else ''}:")
            for problem in problems:
                print(f"  - {problem}")
        else:
            print(f"{path}: OK ({count} key{'s' if count != 1 else ''} checked)")
    return status
