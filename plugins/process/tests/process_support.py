"""Helpers for drupe-process's tests (imported by the test modules and conftest).

* :class:`Child` runs ``child_program.py`` — a small drupe program — in a real
  subprocess, with its log in a file the test reads, and sends it real signals.
* :func:`call` drives one request through a WSGI callable (``drupe.tree``) without any
  HTTP server, as a server would: environ in, body consumed, body closed.
* :func:`mount_handler` mounts a single page handler with a tiny dispatcher (CherryPy's
  callable-dispatcher contract), so the tests need no dispatcher distribution.
* :func:`wait_until` polls a condition with a deadline, so nothing hangs.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import drupe

TIMEOUT = 30.0
"""Seconds any single wait may take before the test fails (generous for slow CI)."""

PROGRAM = Path(__file__).with_name("child_program.py")


def wait_until(condition: Callable[[], Any], timeout: float = TIMEOUT, interval: float = 0.02,
               message: str = "condition") -> Any:
    """Poll ``condition`` until it returns something true; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout} s waiting for {message}.")
        time.sleep(interval)


class Child:
    """``child_program.py`` running in a subprocess (see that file for ``options``)."""

    def __init__(self, workdir: Path, options: dict[str, Any]) -> None:
        self.workdir = workdir
        self.marker = workdir / "starts.txt"
        self.log_path = workdir / "output.txt"
        program = workdir / PROGRAM.name
        program.write_text(PROGRAM.read_text())
        env = dict(os.environ)
        env.pop("DRUPE_DISABLE_PLUGIN_AUTOLOAD", None)
        # No __pycache__ in the work directory, and no buffering between us and the log.
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["PYTHONUNBUFFERED"] = "1"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(program), str(self.marker), json.dumps(options)],
                cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT,
            )

    # -- what it wrote ---------------------------------------------------------------

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def starts(self) -> list[int]:
        """The pid written by each start of the program (one line per start)."""
        if not self.marker.exists():
            return []
        return [int(line) for line in self.marker.read_text().split()]

    def wait_for_output(self, text: str, count: int = 1, timeout: float = TIMEOUT) -> str:
        """Wait until ``text`` appears ``count`` times in the log; return the log."""

        def enough() -> str | None:
            output = self.output()
            if output.count(text) >= count:
                return output
            if self.process.poll() is not None:
                raise AssertionError(f"The program ended (status {self.process.returncode}) "
                                     f"before writing {text!r}:\n{output}")
            return None

        return wait_until(enough, timeout, message=f"{text!r} x{count} in the log") # type: ignore[no-any-return]

    def wait_for_starts(self, count: int, timeout: float = TIMEOUT) -> list[int]:
        return wait_until(lambda: len(self.starts()) >= count and self.starts(), timeout,  # type: ignore[no-any-return]
                          message=f"{count} start(s) in {self.marker}")

    def wait_started(self, count: int = 1) -> str:
        """Wait for the ``count``-th "Bus STARTED" (signal handlers are installed then)."""
        return self.wait_for_output("ENGINE Bus STARTED", count)

    # -- driving it ----------------------------------------------------------------

    def send(self, signum: int, pid: int | None = None) -> None:
        os.kill(self.process.pid if pid is None else pid, signum)

    def wait(self, timeout: float = TIMEOUT) -> int:
        """Wait for the process to end; its exit status."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"The program did not end within {timeout} s:\n{self.output()}")

    def cleanup(self) -> None:
        """Kill whatever is still running (the program, and a forked worker it started)."""
        for pid in self.starts():
            if pid != self.process.pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.kill()
        # Reap it (no zombie); a process that survives SIGKILL fails the test loudly.
        self.process.wait(TIMEOUT)


# ---------------------------------------------------------------------------
# In-process requests


@dataclass
class Result:
    status: str
    body: bytes


def call(app: Callable[..., Any], path: str = "/") -> Result:
    """One GET request through the WSGI callable ``app``, consumed and closed."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "40000",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        statuses.append(status)

    body = app(environ, start_response)
    try:
        content = b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return Result(statuses[-1], content)


def mount_handler(handler: Callable[[], Any]) -> None:
    """Mount ``handler`` at every path of ``drupe.tree`` (script name '')."""

    def dispatch(path_info: str) -> None:
        request = drupe.serving.request
        request.handler = handler
        request.config = {}
        request.is_index = None

    drupe.tree.mount(None, "", {"/": {"request.dispatch": dispatch}})
