"""Helpers for the documentation tests: run an extracted example in-process or as a program.

- :func:`load` executes an example's code (already passed through ``as_drupe``) as a
  module that is not ``__main__``, so its classes and functions are defined but its
  ``if __name__ == '__main__':`` part does not run; the test then uses them.
- :class:`Program` runs an example as a real program (``sys.executable``, a file in the
  test's temporary directory), with its output in a file the test reads, and drives it
  with HTTP requests and real signals. :func:`program_on_port` runs it with the
  server's port set beforehand, so examples that serve on CherryPy's default port 8080
  can be run on a free port instead.
- :func:`require_free_port` fails a test clearly when a port the documentation names is
  taken by something else.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import string
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

TIMEOUT = 30.0
"""Seconds any single wait may take before the test fails (generous for slow CI)."""

HOST = "127.0.0.1"


def random_hex(text: str, length: int) -> bool:
    """True when ``text`` is what the tutorials' generator makes: ``length`` hex digits."""
    return len(text) == length and set(text) <= set(string.hexdigits)


def load(code: str, directory: Path, name: str) -> dict[str, Any]:
    """Run ``code`` as module ``name`` (written to ``directory`` for readable tracebacks)."""
    path = directory / f"{name}.py"
    path.write_text(code, encoding="utf-8")
    namespace: dict[str, Any] = {"__name__": name, "__file__": str(path)}
    exec(compile(code, str(path), "exec"), namespace)
    return namespace


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


def assert_in_order(output: str, lines: list[str]) -> None:
    """Each of ``lines`` appears in ``output``, in this order."""
    position = 0
    for line in lines:
        found = output.find(line, position)
        assert found >= 0, f"{line!r} missing (or out of order) in the output:\n{output}"
        position = found + len(line)


def port_in_use(port: int, host: str = HOST) -> bool:
    """True when ``host:port`` cannot be bound (something listens, or holds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def require_free_port(port: int) -> None:
    """Fail (not skip: the documentation names this port) when ``port`` is taken."""
    if port_in_use(port):
        raise AssertionError(
            f"Port {port} on {HOST} is already in use, so the documentation's example that "
            f"serves on it cannot be tested. Stop whatever listens on {port} (or wait for "
            "another test run to finish: these tests must not run in parallel) and retry."
        )


def free_port() -> int:
    """A port the OS reports free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def fetch(port: int, path: str, method: str = "GET", body: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request to ``127.0.0.1:port``; its status, headers (lower-case names) and body."""
    connection = http.client.HTTPConnection(HOST, port, timeout=TIMEOUT)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        content = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, content
    finally:
        connection.close()


class Program:
    """A program run in a subprocess; output (stdout and stderr) goes to a file."""

    def __init__(self, directory: Path, arguments: list[str]) -> None:
        self.directory = directory
        self.log_path = directory / "output.txt"
        env = dict(os.environ)
        env.pop("DRUPE_DISABLE_PLUGIN_AUTOLOAD", None)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["PYTHONUNBUFFERED"] = "1"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, *arguments], cwd=directory, env=env,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, text: str, timeout: float = TIMEOUT) -> str:
        """Wait until ``text`` appears in the output; the output."""

        def seen() -> str | None:
            output = self.output()
            if text in output:
                return output
            if self.process.poll() is not None:
                raise AssertionError(
                    f"The program ended (status {self.process.returncode}) before printing "
                    f"{text!r}:\n{output}"
                )
            return None

        return wait_until(seen, timeout, message=f"{text!r} in the program's output")  # type: ignore[no-any-return]

    def stop(self, signum: int = signal.SIGTERM, timeout: float = TIMEOUT) -> int:
        """Send ``signum`` and wait for the program to end; its exit status."""
        os.kill(self.process.pid, signum)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"The program did not end within {timeout} s of signal {signum}:\n{self.output()}"
            ) from None

    def cleanup(self) -> None:
        """Kill the program if it still runs, and reap it."""
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(TIMEOUT)


_RUNNER = """\
# Written by the documentation tests: serve the example on the port the test chose.
import runpy
import sys

import drupe

drupe.config.update({"server.socket_port": int(sys.argv[1])})
runpy.run_path(sys.argv[2], run_name="__main__")
"""


def program(directory: Path, code: str, name: str = "example.py") -> Program:
    """Run ``code`` as the program ``name`` (as ``python name``)."""
    (directory / name).write_text(code, encoding="utf-8")
    return Program(directory, [name])


def program_on_port(directory: Path, code: str, port: int, name: str = "example.py") -> Program:
    """Run ``code`` as ``__main__`` with ``server.socket_port`` set to ``port`` first."""
    (directory / name).write_text(code, encoding="utf-8")
    (directory / "run_on_port.py").write_text(_RUNNER, encoding="utf-8")
    return Program(directory, ["run_on_port.py", str(port), name])


def run_fragment(code: str, namespace: dict[str, Any] | None = None,
                 **names: Any) -> dict[str, Any]:
    """Run a fragment of the documentation (no imports of its own) with ``names`` defined.

    ``cherrypy`` is drupe (what ``import drupe as cherrypy`` would bind); the test gives
    whatever else the fragment uses. With ``namespace`` (say, what :func:`load` returned
    for the example the fragment continues), the fragment runs there. Returns the
    namespace the fragment ran in.
    """
    import drupe

    if namespace is None:
        namespace = {"__name__": "docs_fragment"}
    namespace.setdefault("cherrypy", drupe)
    namespace.update(names)
    exec(compile(code, "<documentation fragment>", "exec"), namespace)
    return namespace


class Served:
    """An example program serving on ``port`` (see the ``serve`` fixture)."""

    def __init__(self, running: Program, port: int | None) -> None:
        self.program = running
        self.port = port

    def get(self, path: str, **kwargs: Any) -> tuple[int, dict[str, str], bytes]:
        assert self.port is not None, "this program serves no port"
        return fetch(self.port, path, **kwargs)

    def output(self) -> str:
        return self.program.output()

    def stop(self, signum: int = signal.SIGTERM) -> str:
        """Stop the program with ``signum``; it must exit 0 after ``Bus EXITED``."""
        status = self.program.stop(signum)
        output = self.program.output()
        assert status == 0, f"exit status {status}:\n{output}"
        assert "ENGINE Bus EXITED" in output, output
        if self.port is not None:
            wait_until(lambda: not port_in_use(self.port), timeout=5,
                       message=f"port {self.port} to be free")
        return output


def needs(group: str, name: str, distribution: str) -> pytest.MarkDecorator:
    """``xfail(strict=True)`` while the plugin ``name`` of ``group`` is not installed.

    Once the distribution is installed, the mark is inert and the test must pass; while it
    is missing, a test that passes anyway fails (strict), so the mark cannot go stale.
    """
    import drupe

    missing = not drupe.registry.has(group, name)
    return pytest.mark.xfail(missing, strict=True,
                             reason=f"needs {distribution} ({name!r} in {group!r})")
