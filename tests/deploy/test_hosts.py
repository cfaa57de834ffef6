"""The other hosts of the documentation's section 8.7 (Tornado, Twisted, uWSGI) and the
supervisord recipe of section 8.5, each run from its file in deploy/.

These servers are not dependencies of the workspace: each test installs what it needs
into a throw-away directory with uv (a second or two from uv's cache) and runs the recipe
with that directory on ``PYTHONPATH``. Without uv or network, the tests skip and say so.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest
from deploy_support import (
    Processes,
    base_environment,
    copy_recipes,
    drupe_command,
    free_port,
    get,
    set_port,
    third_party,
    wait_for_http,
    wait_for_port_closed,
    wait_until,
    with_pythonpath,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Install each third-party host once for this module."""
    installed: dict[str, Path] = {}
    reasons: dict[str, str] = {}

    def need(name: str, *requirements: str) -> Path:
        if name not in installed and name not in reasons:
            path, why = third_party(tmp_path_factory.mktemp(name), *requirements)
            if path is None:
                reasons[name] = why
            else:
                installed[name] = path
        if name in reasons:
            pytest.skip(reasons[name])
        return installed[name]

    return _Lazy(need)  # type: ignore[return-value]


class _Lazy:
    def __init__(self, need: object) -> None:
        self.need = need

    def __getitem__(self, name: str) -> Path:
        requirements = {"tornado": ("tornado>=6.3",), "twisted": ("twisted>=23.8",),
                        "uwsgi": ("pyuwsgi>=2.0.28",), "supervisor": ("supervisor>=4.2",)}[name]
        return self.need(name, *requirements)  # type: ignore[operator, no-any-return]


def test_tornado(site: Path, processes: Processes, packages: dict[str, Path]) -> None:
    target = packages["tornado"]
    copy_recipes(site, "tornado_host.py")
    port = free_port()
    server = processes.start([sys.executable, "tornado_host.py", str(port)], site, name="tornado",
                             env=with_pythonpath(base_environment(), target, site))
    assert wait_for_http(port, process=server).text == f"Hello from pid {server.pid}"
    assert get(port, "/state").text == "STARTED"
    # drupe's signal handler stops the engine, and the engine's exit stops Tornado's loop.
    server.send_signal(signal.SIGTERM)
    assert server.finish() == 0
    assert "ENGINE Bus EXITED" in server.output()


def test_twisted(site: Path, processes: Processes, packages: dict[str, Path]) -> None:
    target = packages["twisted"]
    copy_recipes(site, "twisted_host.py")
    port = free_port()
    env = with_pythonpath(base_environment(), target, site)
    server = processes.start(
        [sys.executable, "-m", "twisted", "web", "--port", f"tcp:{port}:interface=127.0.0.1",
         "--wsgi", "twisted_host.wsgiapp"], site, name="twistd", env=env)
    assert wait_for_http(port, process=server).text == f"Hello from pid {server.pid}"
    assert get(port, "/state").text == "STARTED"
    server.send_signal(signal.SIGTERM)
    # Twisted's runner ends by re-raising the signal it stopped for.
    assert server.finish() in (0, -signal.SIGTERM)
    # The reactor's 'before shutdown' trigger exited the engine first.
    assert "ENGINE Bus EXITED" in server.output()


def test_uwsgi_with_two_workers(site: Path, processes: Processes, packages: dict[str, Path]) -> None:
    target = packages["uwsgi"]
    copy_recipes(site, "uwsgi_host.py")
    port = free_port()
    env = with_pythonpath(base_environment(), target, site)
    server = processes.start(
        [sys.executable, "-c", "import sys, pyuwsgi; pyuwsgi.run(sys.argv[1:])",
         "--http-socket", f"127.0.0.1:{port}", "--master", "--processes", "2", "--enable-threads",
         "--wsgi-file", "uwsgi_host.py", "--callable", "wsgiapp", "--die-on-term",
         "--need-app"], site, name="uwsgi", env=env)
    wait_for_http(port, process=server)
    seen = set()
    for _ in range(60):
        response = get(port, "/state")
        assert response.text == "STARTED"   # started in the worker after the fork
        seen.add(get(port).text)
    server.send_signal(signal.SIGTERM)
    assert server.finish() in (0, 30)
    assert seen
    assert all(text.startswith("Hello from pid ") for text in seen)


def test_supervisord(site: Path, processes: Processes, packages: dict[str, Path]) -> None:
    target = packages["supervisor"]
    copy_recipes(site, "supervisord.conf")
    port = free_port()
    set_port(site / "app.conf", port)
    conf = site / "supervisord.conf"
    text = conf.read_text().replace("/tmp/", f"{site}/")
    # The recipe runs the `drupe` script from PATH; here, the interpreter running the tests.
    text = text.replace("command=drupe ", f"command={sys.executable} -m drupe ")
    conf.write_text(text)
    env = with_pythonpath(base_environment(), target)
    supervisord = processes.start([sys.executable, "-m", "supervisor.supervisord", "-n", "-c", str(conf)],
                                  site, name="supervisord", env=env)
    answer = wait_for_http(port, process=supervisord).text
    app_pid = int(answer.rsplit(" ", 1)[-1])
    processes.track_pid(app_pid)

    def ctl(*args: str) -> str:
        done = processes.run([sys.executable, "-m", "supervisor.supervisorctl", "-c", str(conf), *args],
                             site, env=env)
        return done.stdout + done.stderr

    # supervisord calls a program RUNNING once it stayed up for startsecs (1 s).
    wait_until(lambda: "RUNNING" in ctl("status", "myapp"), message="supervisord's RUNNING")
    # supervisorctl signal HUP: the application re-executes itself in place.
    assert "signalled" in ctl("signal", "HUP", "myapp")
    wait_until(lambda: (site / "myapp.log").read_text().count("ENGINE Bus STARTED") >= 2,
               message="the application's second start")
    assert get(port).text == f"Hello from pid {app_pid}"
    assert "RUNNING" in ctl("status", "myapp")
    ctl("shutdown")
    assert supervisord.finish() == 0
    wait_for_port_closed(port)
    assert "ENGINE Bus EXITED" in (site / "myapp.log").read_text()
    assert drupe_command()  # the recipe's command is the drupe command
