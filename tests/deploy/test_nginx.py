"""The nginx recipe (the documentation's section 8.9.2): a real nginx in front of two real
drupe processes configured with ``deploy/proxied.conf``.

``deploy/nginx.conf`` holds http-level directives (an ``upstream`` and a ``server``: what
goes in ``/etc/nginx/conf.d/``). The test includes it, as written, in a minimal main
configuration of its own (``events``, temporary paths, logs and pid file in the test's
directory), changing only ports and paths: the upstreams' ports 8080 / 8081, nginx's port
80, and the ``/app`` directories. Each replaced text must occur in the recipe exactly as
expected, so the test fails rather than silently testing something else when the recipe
changes. nginx runs in the foreground as the current user (as root, a ``user`` directive
keeps the workers root too instead of ``nobody``, who could not read the test's files).

Each drupe process serves ``deploy/app.py`` plus a probe mounted at ``/probe`` that
reports what the application sees of the request (client address, base, scheme, the
forwarding headers), and redirects. Without an ``nginx`` binary the tests skip.
"""

from __future__ import annotations

import grp
import http.client
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from deploy_support import (
    RECIPES,
    Proc,
    Processes,
    Response,
    copy_recipes,
    drupe_command,
    free_port,
    set_port,
    wait_for_http,
    wait_for_port_closed,
    wait_until,
)


def _find_nginx() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    # Debian puts it in /usr/sbin, which is not on every user's PATH.
    for candidate in ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


NGINX = _find_nginx()

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(NGINX is None, reason=(
        "the nginx binary is not installed, so the nginx recipe (deploy/nginx.conf) is not run; "
        "install it (Debian/Ubuntu: apt-get install nginx) to run these tests")),
]

PROBE = '''\
"""What the application sees of a request, as JSON (mounted at /probe beside app.py)."""

import json
import os

import drupe


class Probe:
    @drupe.expose
    def index(self, **params):
        request = drupe.request
        drupe.response.headers["Content-Type"] = "application/json"
        return json.dumps({
            "pid": os.getpid(),
            "remote_ip": request.remote.ip,
            "base": request.base,
            "scheme": request.scheme,
            "url": drupe.url("/"),
            "host": request.headers.get("Host"),
            "x_forwarded_for": request.headers.get("X-Forwarded-For"),
            "x_forwarded_host": request.headers.get("X-Forwarded-Host"),
            "x_forwarded_proto": request.headers.get("X-Forwarded-Proto"),
            "x_real_ip": request.headers.get("X-Real-IP"),
        })

    @drupe.expose
    def go(self):
        raise drupe.HTTPRedirect("/probe/")


drupe.tree.mount(Probe(), "/probe")
'''

MAIN_CONF = """\
{user}worker_processes 1;
error_log {nginx}/error.log info;

events {{
    worker_connections 64;
}}

http {{
    access_log {nginx}/access.log;
{temp_paths}
    # deploy/nginx.conf, ports and paths replaced:
    include {nginx}/site.conf;
}}
"""

# Replaced in deploy/nginx.conf: text -> how many times it must occur.
EXPECTED_IN_RECIPE = {
    "server 127.0.0.1:8080;": 1,
    "server 127.0.0.1:8081;": 1,
    "listen 80;": 1,
    "/app/logs/": 2,
    "root /app/static;": 1,
}


@dataclass
class Front:
    """nginx on ``port`` in front of the two drupe processes ``apps``."""

    port: int
    nginx: Proc
    apps: list[Proc]
    upstreams: tuple[int, int]
    directory: Path

    @property
    def site_log(self) -> Path:
        """The recipe's log (access and error lines), moved from /app/logs."""
        return self.directory / "logs" / "www.example.com.log"

    def describe(self) -> str:
        parts = [f"--- nginx error log:\n{_read(self.directory / 'nginx' / 'error.log')}",
                 f"--- site log:\n{_read(self.site_log)}"]
        parts += [f"--- {app.name}:\n{app.output()}" for app in self.apps]
        return "\n".join(parts)


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-4000:]
    except FileNotFoundError:
        return "(none)"


def _nginx_modules() -> str:
    assert NGINX is not None
    done = subprocess.run([NGINX, "-V"], capture_output=True, text=True, timeout=30, check=False)
    return done.stdout + done.stderr


def _temp_paths(nginx_dir: Path) -> str:
    """The temporary directories of the modules compiled in, inside the test's directory
    (the compiled-in ones, /var/lib/nginx/..., belong to root)."""
    built = _nginx_modules()
    lines = [f"    client_body_temp_path {nginx_dir}/client_body;"]
    for module in ("proxy", "fastcgi", "uwsgi", "scgi"):
        if f"--without-http_{module}_module" not in built:
            lines.append(f"    {module}_temp_path {nginx_dir}/{module};")
    return "\n".join(lines) + "\n"


def _user_directive() -> str:
    if os.geteuid() != 0:
        # nginx ignores (and warns about) a user directive when not started as root.
        return ""
    user = pwd.getpwuid(os.geteuid()).pw_name
    group = grp.getgrgid(os.getegid()).gr_name
    return f"user {user} {group};\n"


def site_conf(upstreams: tuple[int, int], port: int, directory: Path) -> str:
    """deploy/nginx.conf with its ports and paths replaced (nothing else)."""
    text = (RECIPES / "nginx.conf").read_text()
    for expected, count in EXPECTED_IN_RECIPE.items():
        assert text.count(expected) == count, (
            f"deploy/nginx.conf no longer holds {expected!r} {count} time(s); update "
            "EXPECTED_IN_RECIPE in tests/deploy/test_nginx.py to the recipe's new text")
    text = text.replace("server 127.0.0.1:8080;", f"server 127.0.0.1:{upstreams[0]};")
    text = text.replace("server 127.0.0.1:8081;", f"server 127.0.0.1:{upstreams[1]};")
    # Every interface, as "listen 80" does: the forged-address test connects from a
    # non-loopback address of this machine.
    text = text.replace("listen 80;", f"listen {port};")
    text = text.replace("/app/logs/", f"{directory}/logs/")
    return text.replace("root /app/static;", f"root {directory}/static;")


def _free_port_everywhere() -> int:
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        return int(sock.getsockname()[1])


def start_front(site: Path, processes: Processes, *extra_configs: str) -> Front:
    """Two drupe processes (``app.conf`` + ``proxied.conf`` + extras) and nginx before them."""
    copy_recipes(site, "proxied.conf")
    (site / "probe.py").write_text(PROBE)
    upstreams = (free_port(), free_port())
    set_port(site / "app.conf", upstreams[0])
    (site / "second.conf").write_text(f"[global]\nserver.socket_port: {upstreams[1]}\n")
    configs = ["-c", "app.conf", "-c", "proxied.conf"]
    for extra in extra_configs:
        configs += ["-c", extra]
    apps = [
        processes.start(drupe_command(*configs, "-i", "app", "-i", "probe"), site, name="drupe-8080"),
        processes.start(drupe_command(*configs, "-c", "second.conf", "-i", "app", "-i", "probe"), site,
                        name="drupe-8081"),
    ]
    for app, upstream in zip(apps, upstreams, strict=True):
        wait_for_http(upstream, process=app)

    nginx_dir = site / "nginx"
    nginx_dir.mkdir()
    (site / "logs").mkdir()
    (site / "static" / "static").mkdir(parents=True)
    (site / "static" / "static" / "hello.txt").write_text("static, from nginx\n")
    port = _free_port_everywhere()
    (nginx_dir / "site.conf").write_text(site_conf(upstreams, port, site))
    (nginx_dir / "main.conf").write_text(MAIN_CONF.format(
        user=_user_directive(), nginx=nginx_dir, temp_paths=_temp_paths(nginx_dir)))
    pidfile = nginx_dir / "nginx.pid"
    processes.track_pidfile(pidfile)
    assert NGINX is not None
    command = [NGINX, "-p", str(nginx_dir), "-c", str(nginx_dir / "main.conf"),
               "-g", f"daemon off; pid {pidfile};"]
    if "-e filename" in subprocess.run([NGINX, "-h"], capture_output=True, text=True, timeout=30,
                                       check=False).stderr:
        # nginx >= 1.19.5: the log for messages before the configuration is read.
        command += ["-e", str(nginx_dir / "error.log")]
    nginx = processes.start(command, site, name="nginx")
    front = Front(port, nginx, apps, upstreams, site)
    try:
        wait_for_http(port, "/readyz", process=nginx)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{front.describe()}") from None
    return front


def stop_front(front: Front) -> None:
    """nginx's graceful stop (SIGQUIT), then SIGTERM to each drupe process: all exit 0."""
    front.nginx.send_signal(signal.SIGQUIT)
    assert front.nginx.finish() == 0, front.describe()
    for app in front.apps:
        if app.poll() is None:
            app.send_signal(signal.SIGTERM)
        assert app.finish() == 0, front.describe()


@pytest.fixture
def front(site: Path, processes: Processes) -> Iterator[Front]:
    running = start_front(site, processes)
    yield running
    stop_front(running)


def request(address: str, port: int, path: str, headers: dict[str, str] | None = None,
            source: str | None = None) -> Response:
    """One GET to nginx at ``address:port``, from ``source`` when given."""
    connection = http.client.HTTPConnection(address, port, timeout=10,
                                            source_address=(source, 0) if source else None)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return Response(response.status, {k.lower(): v for k, v in response.getheaders()},
                        response.read())
    finally:
        connection.close()


def probe(front: Front, path: str = "/probe/", address: str = "127.0.0.1", **kwargs: Any) -> dict[str, Any]:
    response = request(address, front.port, path, **kwargs)
    assert response.status == 200, f"{response.status} {response.text}\n{front.describe()}"
    assert response.headers["content-type"] == "application/json"
    seen: dict[str, Any] = json.loads(response.body)
    return seen


def logged_client(front: Front, tag: str) -> str:
    """The client address nginx wrote in its access log (combined format) for ``tag``."""
    def line() -> str | None:
        for entry in _read(front.site_log).splitlines():
            if tag in entry and "GET " in entry:
                return entry
        return None

    entry: str = wait_until(line, 10, message=f"{tag!r} in nginx's access log")
    return entry.split(" ", 1)[0]


def outside_address() -> str | None:
    """A non-loopback IPv4 address of this machine (None when it has none)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            # No packet is sent: connecting a UDP socket only picks the source address.
            sock.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address = str(sock.getsockname()[0])
    if address.startswith("127.") or address == "0.0.0.0":
        return None
    return address


# ---------------------------------------------------------------------------


def test_nginx_spreads_requests_over_both_processes_and_serves_static_files(front: Front) -> None:
    pids = {str(app.pid) for app in front.apps}
    seen: set[str] = set()
    for _ in range(50):
        response = request("127.0.0.1", front.port, "/")
        assert response.status == 200, front.describe()
        assert response.headers["server"].startswith("nginx")
        seen.add(response.text.rsplit(" ", 1)[-1])
        if seen == pids:
            break
    assert seen == pids

    # location ^~ /static/ { root ...; }: nginx answers from the directory, no upstream.
    static = request("127.0.0.1", front.port, "/static/hello.txt")
    assert (static.status, static.text) == (200, "static, from nginx\n")
    # nginx writes its access log line after the answer has gone out: wait for it.
    wait_until(lambda: "/static/hello.txt" in _read(front.site_log), 10,
               message="the static request in nginx's access log")
    for app in front.apps:
        assert "/static/hello.txt" not in app.output()


def test_the_application_sees_what_nginx_forwards(front: Front) -> None:
    seen = probe(front, "/probe/?tag=loopback-client", headers={"Host": "www.example.com"})
    # The client address nginx reports (its access log, X-Real-IP, X-Forwarded-For).
    client = logged_client(front, "loopback-client")
    assert client == "127.0.0.1"
    assert seen["remote_ip"] == client
    assert seen["x_real_ip"] == client
    assert seen["x_forwarded_for"] == client
    # The host and scheme nginx forwards; the base the proxy tool builds from them.
    assert seen["host"] == "www.example.com"
    assert seen["x_forwarded_host"] == "www.example.com"
    assert seen["x_forwarded_proto"] == "http"
    assert seen["scheme"] == "http"
    assert seen["base"] == "http://www.example.com"
    assert seen["url"] == "http://www.example.com/probe/"


@pytest.mark.parametrize("host", ["www.example.com", "evil.example:666", None])
def test_redirects_point_at_nginx_not_at_the_upstream(front: Front, host: str | None) -> None:
    # The recipe forwards X-Forwarded-Host: $server_name, so every redirect names nginx's
    # public host (port 80 in the recipe: no port), whatever Host the client sent.
    headers = {"Host": host} if host else {}
    for path, location in [("/probe/go", "http://www.example.com/probe/"),
                           ("/probe", "http://www.example.com/probe/")]:  # trailing slash
        response = request("127.0.0.1", front.port, path, headers=headers)
        assert response.status in (301, 303), f"{response.status} {response.text}"
        assert response.headers["location"] == location
    # Followed through nginx, the redirect target answers.
    assert probe(front, "/probe/", headers={"Host": "www.example.com"})["base"] == "http://www.example.com"


def test_a_forged_x_forwarded_for_does_not_become_the_client(front: Front) -> None:
    address = outside_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address: a client on loopback is itself a "
                    "trusted peer under tools.proxy.trusted = 'loopback' (see the trusted_hops test)")
    forged = {"X-Forwarded-For": "6.6.6.6", "X-Real-IP": "6.6.6.6", "X-Forwarded-Host": "evil.example",
              "X-Forwarded-Proto": "https", "Host": "www.example.com"}
    seen = probe(front, "/probe/?tag=forging-client", address=address, source=address, headers=forged)
    client = logged_client(front, "forging-client")
    assert client == address
    # nginx appended the real peer; the proxy tool took the right-most untrusted address.
    assert seen["x_forwarded_for"] == f"6.6.6.6, {address}"
    assert seen["remote_ip"] == address
    # nginx overwrote the others.
    assert seen["x_real_ip"] == address
    assert seen["x_forwarded_host"] == "www.example.com"
    assert seen["x_forwarded_proto"] == "http"
    assert seen["base"] == "http://www.example.com"
    assert seen["scheme"] == "http"


def test_with_trusted_hops_a_loopback_client_cannot_forge_either(site: Path, processes: Processes) -> None:
    # proxied.conf's alternative: exactly one proxy in front. The client is then the
    # address nginx appended, even when the client itself is on loopback (trusted).
    (site / "hops.conf").write_text("[global]\ntools.proxy.trusted_hops: 1\n")
    running = start_front(site, processes, "hops.conf")
    try:
        seen = probe(running, "/probe/?tag=hops-client",
                     headers={"X-Forwarded-For": "6.6.6.6, 10.1.2.3", "Host": "www.example.com"})
        assert logged_client(running, "hops-client") == "127.0.0.1"
        assert seen["x_forwarded_for"] == "6.6.6.6, 10.1.2.3, 127.0.0.1"
        assert seen["remote_ip"] == "127.0.0.1"
    finally:
        stop_front(running)


def test_a_stopping_process_hands_new_requests_to_the_other(front: Front) -> None:
    first, second = front.apps
    # Warm nginx's keep-alive connections to both upstreams.
    for _ in range(10):
        assert request("127.0.0.1", front.port, "/").status == 200
    first.send_signal(signal.SIGTERM)
    assert first.finish(timeout=15) == 0, front.describe()
    # proxy_next_upstream: connections refused (or closed) by the stopped process are
    # retried on the other one; no client sees an error.
    for _ in range(20):
        response = request("127.0.0.1", front.port, "/")
        assert (response.status, response.text) == (200, f"Hello from pid {second.pid}"), front.describe()
    wait_for_port_closed(front.upstreams[0])
