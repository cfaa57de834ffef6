"""Fixtures for the cheroot server's tests: a clean drupe, a leak check, an HTTP client.

Every test runs between two ``drupe.reset()`` calls, with the screen log off, and fails
if it leaves a thread or a file descriptor (socket, file) open behind it. Servers are
real: they listen on 127.0.0.1 port 0 (or a UNIX socket under ``tmp_path``) and are
talked to with the standard library's HTTP client over real sockets.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import drupe

# How long a test's threads and descriptors may take to go away after the engine exits
# (threads that were told to stop may still be on their last lines).
_LEAK_GRACE = 5.0


def _open_descriptors() -> set[str] | None:
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        # Without /proc the descriptor part of the leak check is skipped.
        return None
    # The listing used a descriptor of its own, closed by now: keep only live ones, or
    # that number would hide a descriptor the test opens later.
    return {name for name in names if os.path.lexists(f"/proc/self/fd/{name}")}


def _describe(descriptors: set[str]) -> list[str]:
    described = []
    for name in sorted(descriptors):
        try:
            described.append(f"{name} -> {os.readlink(f'/proc/self/fd/{name}')}")
        except OSError:
            continue
    return described


@pytest.fixture(autouse=True)
def clean_drupe() -> Iterator[None]:
    """Reset drupe around the test and fail on leaked threads or descriptors."""
    drupe.reset()
    drupe.config.update({"log.screen": False})
    threads_before = set(threading.enumerate())
    descriptors_before = _open_descriptors()
    yield
    drupe.reset()
    deadline = time.monotonic() + _LEAK_GRACE
    while True:
        leaked_threads = [thread for thread in threading.enumerate()
                          if thread not in threads_before and thread.is_alive()]
        descriptors_now = _open_descriptors()
        leaked_descriptors: set[str] = set()
        if descriptors_before is not None and descriptors_now is not None:
            leaked_descriptors = descriptors_now - descriptors_before
        if not leaked_threads and not leaked_descriptors:
            break
        if time.monotonic() > deadline:
            pytest.fail(f"The test left threads {leaked_threads} and descriptors "
                        f"{_describe(leaked_descriptors)} behind.")
        time.sleep(0.05)


class Root:
    """A small CherryPy-style application."""

    @drupe.expose
    def index(self) -> str:
        return "Hello World!"

    @drupe.expose
    def environ(self, name: str) -> str:
        return repr(drupe.request.wsgi_environ.get(name))

    @drupe.expose
    def remote(self) -> str:
        remote = drupe.request.remote
        return f"{remote.ip}|{remote.name}"

    @drupe.expose
    def echo(self, **params: Any) -> str:
        return repr(sorted(params.items()))

    @drupe.expose
    def upload(self) -> str:
        return str(len(drupe.request.body.read()))

    @drupe.expose
    def pid(self) -> str:
        return str(os.getpid())


@pytest.fixture
def root() -> Root:
    return Root()


@pytest.fixture
def log_messages() -> Iterator[list[str]]:
    """Every message published on the engine's ``log`` channel during the test."""
    messages: list[str] = []

    def listen(msg: str, level: int = 20) -> None:
        messages.append(msg)

    drupe.engine.subscribe("log", listen)
    yield messages
    drupe.engine.unsubscribe("log", listen)


def _serve(app: Any = None, **settings: Any) -> tuple[str, int]:
    config = {"server.socket_port": 0}
    config.update({f"server.{key}": value for key, value in settings.items()})
    drupe.config.update(config)
    if app is not None:
        drupe.tree.mount(app)
    drupe.engine.start()
    address = drupe.server.bound_addr
    assert isinstance(address, tuple)
    return address


@pytest.fixture
def serve() -> Callable[..., tuple[str, int]]:
    """``serve(app, **server_settings)``: mount, start the engine, return the bound address."""
    return _serve


def _get(address: tuple[str, int], path: str, **kwargs: Any) -> tuple[int, bytes, http.client.HTTPResponse]:
    connection = http.client.HTTPConnection(*address, timeout=10)
    try:
        connection.request("GET", path, **kwargs)
        response = connection.getresponse()
        return response.status, response.read(), response
    finally:
        connection.close()


@pytest.fixture
def http_get() -> Callable[..., tuple[int, bytes, http.client.HTTPResponse]]:
    """``http_get(address, path)``: one GET on a fresh connection -> (status, body, response)."""
    return _get


class UnixHTTPConnection(http.client.HTTPConnection):
    """``http.client`` over a UNIX socket file."""

    def __init__(self, path: str, timeout: float = 10) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def _port_accepts(address: tuple[str, int]) -> bool:
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.settimeout(1)
    try:
        probe.connect(address)
    except OSError:
        return False
    else:
        return True
    finally:
        probe.close()


@pytest.fixture
def port_accepts() -> Callable[[tuple[str, int]], bool]:
    """``port_accepts(address)``: does something accept TCP connections there?"""
    return _port_accepts


@pytest.fixture
def unix_connection() -> type[UnixHTTPConnection]:
    """``unix_connection(path)``: an ``http.client`` connection over a UNIX socket file."""
    return UnixHTTPConnection


@pytest.fixture(scope="session")
def openssl_command() -> str:
    """The ``openssl`` binary (the test is skipped when it is not installed)."""
    binary = shutil.which("openssl")
    if binary is None:
        pytest.skip("the 'openssl' command is not installed; install OpenSSL to run the TLS tests")
    return binary


def run_openssl(binary: str, directory: Path, *args: str) -> None:
    """Run ``openssl args...`` in ``directory``; fail with its error output."""
    completed = subprocess.run([binary, *args], cwd=directory, capture_output=True, text=True,
                               timeout=60, check=False)
    if completed.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)} failed:\n{completed.stderr}")


_OPENSSL_CONFIG = """\
[req]
distinguished_name = name
prompt = no

[name]
CN = unused

[root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash

[intermediate]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[self_signed]
basicConstraints = critical,CA:TRUE
subjectAltName = IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier = hash
"""


class PKI:
    """Certificates made by the ``openssl`` command for the TLS tests (paths as str).

    ``certificate``/``private_key``: a self-signed certificate for 127.0.0.1 and
    localhost, as in the documentation's "SSL support" steps. ``root``: a certificate
    authority; ``intermediate``: a CA signed by it; ``leaf``/``leaf_key``: a server
    certificate signed by the intermediate (so clients trusting ``root`` need the chain).
    ``other_key``: a key that belongs to none of them.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, name: str) -> str:
        return str(self.directory / name)

    certificate = property(lambda self: self.path("cert.pem"))
    private_key = property(lambda self: self.path("privkey.pem"))
    root = property(lambda self: self.path("root.pem"))
    intermediate = property(lambda self: self.path("intermediate.pem"))
    leaf = property(lambda self: self.path("leaf.pem"))
    leaf_key = property(lambda self: self.path("leaf.key"))
    other_key = property(lambda self: self.path("other.key"))


@pytest.fixture(scope="session")
def pki(openssl_command: str, tmp_path_factory: pytest.TempPathFactory) -> PKI:
    """Generate the test certificates once per run (see :class:`PKI`)."""
    directory = tmp_path_factory.mktemp("pki")
    (directory / "openssl.cnf").write_text(_OPENSSL_CONFIG)

    def openssl(*args: str) -> None:
        run_openssl(openssl_command, directory, *args)

    new_key = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    # The documentation's two steps: a private key, then a self-signed certificate.
    openssl("genrsa", "-out", "privkey.pem", "2048")
    openssl("req", "-new", "-x509", "-days", "2", "-key", "privkey.pem", "-out", "cert.pem",
            "-config", "openssl.cnf", "-extensions", "self_signed", "-subj", "/CN=localhost")
    openssl("req", "-x509", "-days", "2", *new_key, "-keyout", "root.key", "-out", "root.pem",
            "-config", "openssl.cnf", "-extensions", "root", "-subj", "/CN=drupe test root")
    for name, issuer, extensions in (("intermediate", "root", "intermediate"),
                                     ("leaf", "intermediate", "leaf")):
        openssl("req", "-new", *new_key, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-config", "openssl.cnf", "-subj", f"/CN=drupe test {name}")
        openssl("x509", "-req", "-days", "2", "-in", f"{name}.csr", "-CA", f"{issuer}.pem",
                "-CAkey", f"{issuer}.key", "-CAcreateserial", "-out", f"{name}.pem",
                "-extfile", "openssl.cnf", "-extensions", extensions)
    openssl("genrsa", "-out", "other.key", "2048")
    return PKI(directory)
