"""Helpers for the deployment tests: start commands, wait for HTTP, clean up.

:class:`Processes` starts subprocesses with their output in a log file and kills them
(and their process groups, and the pids their PID files name) afterwards.
:func:`get` makes one HTTP request on a fresh connection. :func:`third_party` installs a
package that is not a dependency of the workspace (tornado, twisted, supervisor, pyuwsgi)
into a throw-away directory with uv, for the recipes that need it.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
RECIPES = REPO / "deploy"
TIMEOUT = 30.0


def copy_recipes(target: Path, *names: str) -> None:
    for name in names:
        source = RECIPES / name
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, destination)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def set_port(conf: Path, port: int) -> None:
    """Rewrite ``server.socket_port`` in a config file copied from deploy/."""
    lines = [f"server.socket_port: {port}" if line.startswith("server.socket_port") else line
             for line in conf.read_text().splitlines()]
    conf.write_text("\n".join(lines) + "\n")


def wait_until(condition: Callable[[], Any], timeout: float = TIMEOUT, interval: float = 0.05,
               message: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout} s waiting for {message}.")
        time.sleep(interval)


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def get(port: int, path: str = "/", timeout: float = 10.0, headers: dict[str, str] | None = None) -> Response:
    """One GET on a new connection to 127.0.0.1:port."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return Response(response.status, {k.lower(): v for k, v in response.getheaders()},
                        response.read())
    finally:
        connection.close()


def try_get(port: int, path: str = "/") -> Response | None:
    try:
        return get(port, path, timeout=2.0)
    except (OSError, http.client.HTTPException):
        return None


def wait_for_http(port: int, path: str = "/", process: Proc | None = None,
                  timeout: float = TIMEOUT) -> Response:
    def answered() -> Response | None:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"{process.name} ended with status {process.returncode} before "
                                 f"serving:\n{process.output()}")
        response = try_get(port, path)
        return response if response is not None and response.status == 200 else None

    response: Response = wait_until(answered, timeout, message=f"HTTP 200 on port {port}{path}")
    if process is not None and process.drupe_engine:
        # The server answers from its 'start' listener on; signals sent before the bus is
        # STARTED are carried out after (see drupe.Bus.exit), but tests should not race.
        process.wait_for_output("ENGINE Bus STARTED", timeout)
    return response


def wait_for_port_closed(port: int, timeout: float = TIMEOUT) -> None:
    def closed() -> bool:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            return sock.connect_ex(("127.0.0.1", port)) != 0

    wait_until(closed, timeout, message=f"port {port} to close")


def read_pid(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie child of ours still "exists": look at its state.
    with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as handle:
        if handle.read().split(")")[-1].split()[0] == "Z":
            return False
    return True


def drupe_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "drupe", *args]


def base_environment(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DRUPE_DISABLE_PLUGIN_AUTOLOAD", None)
    for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        env.pop(name, None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


class Proc(subprocess.Popen[bytes]):
    name: str
    log_path: Path
    drupe_engine: bool = False

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for_output(self, text: str, timeout: float = TIMEOUT, count: int = 1) -> str:
        def seen() -> str | None:
            output = self.output()
            if output.count(text) >= count:
                return output
            if self.poll() is not None:
                raise AssertionError(f"{self.name} ended (status {self.returncode}) before writing "
                                     f"{text!r}:\n{output}")
            return None

        return wait_until(seen, timeout, message=f"{text!r} in the output of {self.name}")  # type: ignore[no-any-return]

    def finish(self, timeout: float = TIMEOUT) -> int:
        try:
            return self.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.name} did not end within {timeout} s:\n{self.output()}")


class Processes:
    """Start processes; :meth:`cleanup` kills everything they left running."""

    def __init__(self) -> None:
        self.started: list[Proc] = []
        self.pidfiles: list[Path] = []
        self.pids: list[int] = []

    def start(self, command: list[str], cwd: Path, name: str = "", env: dict[str, str] | None = None,
              **popen: Any) -> Proc:
        log_path = cwd / f"{name or Path(command[0]).name}-{len(self.started)}.log"
        with open(log_path, "wb") as log:
            process = Proc(command, cwd=cwd, env=env or base_environment(), stdin=subprocess.DEVNULL,
                           stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **popen)
        process.name = name or " ".join(command[:4])
        process.drupe_engine = command[1:3] == ["-m", "drupe"]
        process.log_path = log_path
        self.started.append(process)
        return process

    def run(self, command: list[str], cwd: Path, timeout: float = TIMEOUT,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run a command to its end (a daemonizing launcher, ``drupe check``)."""
        return subprocess.run(command, cwd=cwd, env=env or base_environment(), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout, check=False)

    def track_pidfile(self, path: Path) -> None:
        self.pidfiles.append(path)

    def track_pid(self, pid: int) -> None:
        self.pids.append(pid)

    def cleanup(self) -> None:
        pids = list(self.pids)
        for path in self.pidfiles:
            pid = read_pid(path)
            if pid:
                pids.append(pid)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        for process in self.started:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            if process.poll() is None:
                process.kill()
            process.wait(TIMEOUT)
        deadline = time.monotonic() + 10
        while any(pid_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.05)


# ---------------------------------------------------------------------------
# Third-party hosts, installed for the test only


def _uv_command() -> list[str] | None:
    candidates: list[list[str]] = []
    found = shutil.which("uv")
    if found:
        candidates.append([found])
    base = getattr(sys, "_base_executable", None)
    for python in (base, shutil.which("python3", path="/usr/local/bin:/usr/bin")):
        if python:
            candidates.append([python, "-m", "uv"])
    for command in candidates:
        try:
            done = subprocess.run([*command, "--version"], capture_output=True, timeout=30, check=False)
        except OSError:
            continue
        if done.returncode == 0:
            return command
    return None


def third_party(target: Path, *requirements: str) -> tuple[Path | None, str]:
    """Install ``requirements`` into ``target`` with uv; ``(path, '')`` or ``(None, why)``."""
    uv = _uv_command()
    if uv is None:
        return None, "uv is not available to install " + ", ".join(requirements)
    done = subprocess.run(
        [*uv, "pip", "install", "--quiet", "--python", sys.executable, "--target", str(target),
         *requirements], capture_output=True, text=True, timeout=240, check=False)
    if done.returncode != 0:
        return None, f"could not install {', '.join(requirements)}: {done.stderr.strip()[-500:]}"
    return target, ""


def with_pythonpath(env: dict[str, str], *paths: Path) -> dict[str, str]:
    existing = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = os.pathsep.join([*(str(path) for path in paths), *([existing] if existing else [])])
    return env
