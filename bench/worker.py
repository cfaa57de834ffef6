"""One benchmark target in its own process, run with that target's Python environment.

Started by ``run.py``; not meant to be run by hand (but it can be, to poke at a target).

``worker.py inproc --target T``
    Reads JSON commands, one a line, on stdin and answers each with one JSON line:
    ``{"cmd": "check"}`` calls every case once and reports wrong responses;
    ``{"cmd": "calibrate", "case": C, "seconds": S}`` picks an iteration count that takes
    about S seconds; ``{"cmd": "time", "case": C, "iterations": N}`` times N calls of the
    WSGI app and answers the nanoseconds per call.

``worker.py serve --target T --server wsgi|engine``
    Serves the target on a free loopback port: ``wsgi`` wraps its WSGI app in a bare
    ``cheroot.wsgi.Server``; ``engine`` runs the framework's own server through
    ``engine.start()``. Prints ``{"port": ..., "pid": ...}`` once it accepts connections,
    then serves until stdin is closed.

Standard library, cheroot and the target's framework only: the CherryPy environment has
no drupe, and the workspace one has no CherryPy.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE / "apps")]

from cases import CASES, fresh_input, make_environ, session_cookie  # noqa: E402

APP_MODULES = {"raw": "raw_app", "drupe": "drupe_app", "cherrypy": "cherrypy_app", "falcon": "falcon_app"}
FRAMEWORK_MODULES = {"drupe": "drupe", "cherrypy": "cherrypy", "falcon": "falcon"}


def emit(obj: object) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def info(target: str) -> dict[str, object]:
    import cheroot

    result: dict[str, object] = {
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "prefix": sys.prefix,
        "cheroot": cheroot.__version__,
        "pid": os.getpid(),
    }
    framework = FRAMEWORK_MODULES.get(target)
    if framework:
        result[framework] = importlib.import_module(framework).__version__
    if framework == "drupe":
        # What a drupe figure means depends on which plugins are installed.
        from importlib.metadata import distributions

        result["drupe_distributions"] = sorted(
            f"{d.metadata['Name']} {d.version}" for d in distributions()
            if (d.metadata["Name"] or "").startswith("drupe")
        )
    return result


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> object:
    return _write


def _write(data: bytes) -> None:
    pass


def call_once(app, case, cookie: str | None = None) -> tuple[int, bytes, set[str]]:
    """One WSGI call, keeping what came back (for the checks)."""
    status, body, headers = call_full(app, case, cookie)
    return status, body, {name.lower() for name, _ in headers}


def call_full(app, case, cookie: str | None = None) -> tuple[int, bytes, list[tuple[str, str]]]:
    """One WSGI call: status, body and the header list."""
    seen: dict[str, object] = {}

    def start_response(status, headers, exc_info=None):
        seen["status"] = int(status.split()[0])
        seen["headers"] = list(headers)
        return _write

    environ = make_environ(case, cookie=cookie)
    environ["wsgi.input"] = fresh_input(case)
    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return seen["status"], body, seen["headers"]  # type: ignore[return-value]


def check_case(app, case) -> tuple[str | None, str | None]:
    """(problem or None, session cookie or None) for one case, called in-process.

    A session case is called twice: the second call, with the cookie the first one set,
    must count one more.
    """
    status, body, headers = call_full(app, case)
    problem = case.check(status, body, {name.lower() for name, _ in headers})
    if problem or not case.session:
        return problem, None
    cookie = session_cookie([v for n, v in headers if n.lower() == "set-cookie"])
    if cookie is None:
        return f"no session_id cookie in {headers}", None
    status, body2, headers = call_full(app, case, cookie)
    problem = case.check(status, body2, {name.lower() for name, _ in headers})
    if problem is None and int(body2) != int(body) + 1:
        problem = f"the session counter went from {body!r} to {body2!r} with the cookie {cookie!r}"
    return problem, cookie


def time_calls(app, case, iterations: int, cookie: str | None = None) -> int:
    """Nanoseconds for ``iterations`` calls: fresh environ copy and wsgi.input, body consumed, closed."""
    template = make_environ(case, cookie=cookie)
    body = case.body
    from io import BytesIO

    start_response = _start_response
    perf = time.perf_counter_ns
    start = perf()
    for _ in range(iterations):
        environ = template.copy()
        environ["wsgi.input"] = BytesIO(body)
        result = app(environ, start_response)
        for _chunk in result:
            pass
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return perf() - start


def load_app(target: str, settings: dict[str, object]):
    module = importlib.import_module(APP_MODULES[target])
    return module, module.configure(settings)


def run_inproc(target: str, settings: dict[str, object]) -> None:
    _, app = load_app(target, settings)
    cookies: dict[str, str | None] = {}
    for line in sys.stdin:
        command = json.loads(line)
        cmd = command["cmd"]
        if cmd == "info":
            emit(info(target))
        elif cmd == "check":
            problems = {}
            for name in settings["cases"]:
                problem, cookies[name] = check_case(app, CASES[name])
                if problem:
                    problems[name] = problem
            emit({"problems": problems})
        elif cmd == "calibrate":
            case = CASES[command["case"]]
            iterations = 50
            while True:
                elapsed = time_calls(app, case, iterations, cookies.get(case.name))
                if elapsed > 0.05e9 or iterations >= 10_000_000:
                    break
                iterations *= 4
            per_call = elapsed / iterations
            emit({"iterations": max(100, int(command["seconds"] * 1e9 / per_call))})
        elif cmd == "time":
            case = CASES[command["case"]]
            iterations = command["iterations"]
            cpu0 = time.process_time_ns()
            elapsed = time_calls(app, case, iterations, cookies.get(case.name))
            cpu = time.process_time_ns() - cpu0
            emit({"ns_per_call": elapsed / iterations, "cpu_ns_per_call": cpu / iterations,
                  "iterations": iterations})
        elif cmd == "quit":
            break
        else:
            emit({"error": f"unknown command {cmd!r}"})


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def run_server(target: str, mode: str, settings: dict[str, object]) -> None:
    host = str(settings["host"])
    if mode == "engine":
        settings = dict(settings, port=settings["port"] or free_port(host))
        module, _ = load_app(target, settings)
        module.start_engine()
        port = int(settings["port"])  # type: ignore[call-overload]
        stop = module.stop_engine
    else:
        from cheroot import wsgi

        _, app = load_app(target, settings)
        server = wsgi.Server(
            (host, int(settings["port"])), app,  # type: ignore[call-overload]
            numthreads=settings["thread_pool"],
            server_name="bench",
            request_queue_size=settings["socket_queue_size"],
            timeout=settings["socket_timeout"],
            shutdown_timeout=settings["shutdown_timeout"],
        )
        server.max_request_header_size = settings["max_request_header_size"]
        server.max_request_body_size = settings["max_request_body_size"]
        server.nodelay = True
        server.prepare()
        port = server.bind_addr[1]
        thread = threading.Thread(target=server.serve, name="cheroot serve", daemon=True)
        thread.start()

        def stop() -> None:
            server.stop()
            thread.join(10)

    emit({"port": port, **info(target)})
    # Serve until run.py closes our stdin (or dies, which closes it too).
    sys.stdin.read()
    stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["inproc", "serve"])
    parser.add_argument("--target", required=True, choices=sorted(APP_MODULES))
    parser.add_argument("--server", choices=["wsgi", "engine"], default="wsgi")
    parser.add_argument("--settings", required=True, help="JSON: host, thread_pool, socket_* ...")
    args = parser.parse_args()
    settings = json.loads(args.settings)
    settings.setdefault("port", 0)
    if args.mode == "inproc":
        run_inproc(args.target, settings)
    else:
        run_server(args.target, args.server, settings)


if __name__ == "__main__":
    main()
