"""Real backing services for tests: a memcached process and a PostgreSQL database.

Session backends (and anything else that talks to a service) are tested against the real
thing, never a fake. This module starts what can be started (memcached is a single binary)
and finds what must already run (PostgreSQL), and skips the test with a message that says
what to install or start when a service is missing.

:class:`MemcachedProcess`
    ``memcached -l 127.0.0.1 -p <free port> -U 0`` as a subprocess. Its life::

        MemcachedProcess()      nothing runs yet; the binary is looked up
          .start()              picks a free port, starts the process, waits until it
                                answers ``version``; raises ServiceUnavailable (a skip)
                                when the binary is missing
          .address              "127.0.0.1:<port>" (what ``tools.sessions.servers`` lists)
          .stop()               kills it and waits until it is gone
          .start()              again: same port, empty memory (a restarted memcached)

:class:`ServerProcess`
    a Python program (typically a small drupe application) run as a real server process
    on a given port: ``start()`` waits until the port accepts connections, ``stop()``
    terminates it. For tests where several processes share a store.

``postgresql_url()``
    The SQLAlchemy URL of the test database (``DRUPE_TEST_POSTGRESQL_URL``, default
    ``postgresql+psycopg://postgres@127.0.0.1:5432/test``) once it accepts connections;
    :class:`ServiceUnavailable` otherwise.

pytest fixtures (import them into a ``conftest.py``:
``from drupe_testing.services import memcached_server, postgresql_url_fixture``):

``memcached_server``
    a started :class:`MemcachedProcess` for one test, stopped afterwards.
``postgresql_url_fixture``
    the URL from :func:`postgresql_url`, or the test is skipped.

Nothing here imports drupe, pymemcache or a database driver: the module is usable by any
distribution's tests.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import unittest
from collections.abc import Iterator
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import pytest

__all__ = [
    "DEFAULT_POSTGRESQL_URL",
    "MemcachedProcess",
    "ServerProcess",
    "ServiceUnavailable",
    "free_port",
    "memcached_server",
    "postgresql_url",
    "postgresql_url_fixture",
]

DEFAULT_POSTGRESQL_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
"""Where the tests look for PostgreSQL unless ``DRUPE_TEST_POSTGRESQL_URL`` says otherwise."""

_MEMCACHED_HINT = (
    "install memcached (Debian/Ubuntu: `apt-get install memcached`; macOS: `brew install "
    "memcached`) or point DRUPE_TEST_MEMCACHED at the binary"
)


class ServiceUnavailable(unittest.SkipTest):
    """A service the test needs is missing; the test is skipped with this message."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port the OS reports free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def memcached_binary() -> str | None:
    """The memcached executable (``DRUPE_TEST_MEMCACHED``, ``PATH``, /usr/bin), or None."""
    configured = os.environ.get("DRUPE_TEST_MEMCACHED")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    found = shutil.which("memcached")
    if found:
        return found
    for candidate in ("/usr/bin/memcached", "/usr/local/bin/memcached", "/opt/homebrew/bin/memcached"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def _memcached_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when ``host:port`` answers memcached's ``version`` command."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as connection:
            connection.sendall(b"version\r\n")
            reply = b""
            while not reply.endswith(b"\r\n"):
                chunk = connection.recv(64)
                if not chunk:
                    break
                reply += chunk
            return reply.startswith(b"VERSION ")
    except OSError:
        return False


class MemcachedProcess:
    """A real memcached on 127.0.0.1 and a free port, for the length of a test."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, memory_mb: int = 64,
                 startup_timeout: float = 10.0) -> None:
        self.host = host
        self.port = port
        self.memory_mb = memory_mb
        self.startup_timeout = startup_timeout
        self.binary = memcached_binary()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        """``host:port``, as ``tools.sessions.servers`` lists memcached servers."""
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _command(self) -> list[str]:
        assert self.binary is not None
        command = [self.binary, "-l", self.host, "-p", str(self.port), "-U", "0",
                   "-m", str(self.memory_mb)]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            # memcached refuses to run as root unless told which user to be (CI containers).
            command += ["-u", "root"]
        return command

    def start(self) -> MemcachedProcess:
        """Start memcached and wait until it answers; keeps the port of an earlier run."""
        if self.binary is None:
            raise ServiceUnavailable(f"This test needs memcached, which was not found: {_MEMCACHED_HINT}.")
        if self.running:
            raise RuntimeError(f"memcached already runs on {self.address}.")
        if self.port:
            # A given port, or the port of the previous run (a restart): only that one.
            if self._spawn():
                return self
        else:
            for _attempt in range(5):
                # Another process may grab the port between the probe and memcached's bind;
                # then memcached exits and we try another one.
                self.port = free_port(self.host)
                if self._spawn():
                    return self
        raise RuntimeError(f"memcached did not start on {self.host} (port {self.port}).")

    def _spawn(self) -> bool:
        self.process = subprocess.Popen(
            self._command(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._reap()
                return False
            if _memcached_answers(self.host, self.port):
                return True
            time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"memcached on {self.address} did not answer within "
                           f"{self.startup_timeout} s.")

    def _reap(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.stderr is not None:
            process.stderr.close()
        process.wait()

    def stop(self) -> None:
        """Kill memcached and wait until it is gone (its memory is lost, as on a crash).

        SIGKILL, not SIGTERM: memcached keeps nothing worth a clean shutdown, and on
        SIGTERM it takes up to a second (its clock tick) to exit.
        """
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        self._reap()

    def restart(self) -> MemcachedProcess:
        """Stop and start again on the same port (memcached's memory is lost)."""
        self.stop()
        return self.start()

    def __enter__(self) -> MemcachedProcess:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<MemcachedProcess {self.address} {state}>"


class ServerProcess:
    """``python <script> <args...>`` serving on ``port`` (127.0.0.1) until stopped.

    The program's output (stdout and stderr) goes to ``<script>.log`` beside it, which
    :meth:`output` reads (and failures quote).
    """

    def __init__(self, script: str | os.PathLike[str], port: int, *args: str,
                 host: str = "127.0.0.1", startup_timeout: float = 30.0) -> None:
        self.script = os.fspath(script)
        self.port = port
        self.host = host
        self.args = [str(arg) for arg in args]
        self.startup_timeout = startup_timeout
        self.log_path = self.script + ".log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def output(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as log:
                return log.read()
        except FileNotFoundError:
            return ""

    def start(self) -> ServerProcess:
        """Run the program and wait until its port accepts connections."""
        import sys

        if self.process is not None and self.process.poll() is None:
            raise RuntimeError(f"{self.script} already runs.")
        environment = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1")
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, self.script, *self.args], stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, env=environment,
                cwd=os.path.dirname(os.path.abspath(self.script)),
            )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                status = self.process.returncode
                self.process = None
                raise RuntimeError(f"{self.script} exited (status {status}) before serving on "
                                   f"port {self.port}:\n{self.output()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"{self.script} did not serve on port {self.port} within "
                           f"{self.startup_timeout} s:\n{self.output()}")

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the program (kill it after ``timeout`` s) and wait for it."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def postgresql_url(timeout: float = 2.0) -> str:
    """The test database's SQLAlchemy URL once it accepts connections (else a skip).

    The URL is ``DRUPE_TEST_POSTGRESQL_URL`` or :data:`DEFAULT_POSTGRESQL_URL`. The check
    opens a TCP connection; when psycopg is installed it also logs in, so a missing
    database or role skips the test with PostgreSQL's own message.
    """
    url = os.environ.get("DRUPE_TEST_POSTGRESQL_URL", DEFAULT_POSTGRESQL_URL)
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or 5432
    hint = ("start PostgreSQL (user postgres, trust authentication, a database 'test'), or "
            "set DRUPE_TEST_POSTGRESQL_URL to a database the tests may create tables in")
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        raise ServiceUnavailable(f"This test needs PostgreSQL at {host}:{port} ({exc}): {hint}.") from None
    try:
        import psycopg
    except ImportError:
        return url
    conninfo: dict[str, Any] = {
        "host": host, "port": port, "dbname": (parts.path or "/").lstrip("/") or "postgres",
        "user": parts.username or "postgres", "connect_timeout": max(1, int(timeout)),
    }
    if parts.password:
        conninfo["password"] = parts.password
    try:
        with contextlib.closing(psycopg.connect(**conninfo)):
            pass
    except psycopg.Error as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ServiceUnavailable(f"This test needs PostgreSQL ({url}): {message}; {hint}.") from None
    return url


@pytest.fixture
def memcached_server() -> Iterator[MemcachedProcess]:
    """A memcached process of the test's own (skipped when memcached is not installed)."""
    server = MemcachedProcess()
    try:
        server.start()
    except ServiceUnavailable as exc:
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgresql_url_fixture() -> str:
    """The test database's SQLAlchemy URL (skipped when PostgreSQL is not reachable)."""
    try:
        return postgresql_url()
    except ServiceUnavailable as exc:
        pytest.skip(str(exc))
