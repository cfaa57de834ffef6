"""The gunicorn recipe: drupe's kernel as a WSGI app, the engine started in each worker."""

from __future__ import annotations

import importlib.util
import signal
import sys
import threading
from pathlib import Path

import pytest
from deploy_support import Proc, Processes, copy_recipes, free_port, get, wait_for_http, wait_until

import drupe

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("gunicorn") is None,
                       reason="gunicorn is not installed (it is in the root dev group)"),
]


def start_gunicorn(site: Path, processes: Processes, port: int, *extra: str) -> Proc:
    copy_recipes(site, "gunicorn.conf.py")
    server = processes.start([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
                              "-b", f"127.0.0.1:{port}", *extra], site, name="gunicorn")
    return server


def test_two_workers_each_run_their_own_started_engine(site: Path, processes: Processes) -> None:
    port = free_port()
    server = start_gunicorn(site, processes, port)
    wait_for_http(port, process=server)
    pids: set[str] = set()

    def collect() -> bool:
        # Parallel slow requests make both workers busy at once.
        answers: list[str] = []
        threads = [threading.Thread(target=lambda: answers.append(get(port, "/slow?seconds=0.3").text))
                   for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        pids.update(answer.rsplit(" ", 1)[-1] for answer in answers)
        return len(pids) >= 2

    wait_until(collect, timeout=30, message="answers from two workers")
    assert len(pids) == 2
    # The engine runs in the worker (started after the fork), not inherited as a corpse.
    for _ in range(6):
        assert get(port, "/state").text == "STARTED"
    server.send_signal(signal.SIGTERM)
    assert server.finish() == 0


SESSION_APP = '''
import drupe
from drupe_process import hosting

class Root:
    @drupe.expose
    def bump(self):
        count = drupe.session.get("count", 0) + 1
        drupe.session["count"] = count
        return str(count)

hosting.embed()
application = drupe.tree.mount(Root(), "", {"/": {
    "tools.sessions.on": True,
    "tools.sessions.storage_type": "sql",
    "tools.sessions.url": "sqlite:///" + __import__("os").path.abspath("sessions.db"),
    "tools.sessions.locking": "early",
}})
'''


@pytest.mark.skipif(not drupe.registry.has("drupe.sessions", "sql"),
                    reason="SQL sessions need drupe-session-sqlalchemy "
                           "(pip install drupe-session-sqlalchemy)")
def test_sql_sessions_shared_by_workers_lose_no_update(site: Path, processes: Processes) -> None:
    (site / "sessionapp.py").write_text(SESSION_APP)
    port = free_port()
    server = start_gunicorn(site, processes, port, "--workers", "2", "--threads", "4",
                            "sessionapp:application")
    wait_for_http(port, "/bump", process=server)
    first = get(port, "/bump")
    cookie = first.headers["set-cookie"].split(";", 1)[0]
    start = int(first.text)
    errors: list[str] = []

    def bump(times: int) -> None:
        for _ in range(times):
            response = get(port, "/bump", headers={"Cookie": cookie})
            if response.status != 200:
                errors.append(f"{response.status} {response.text[:200]}")

    threads = [threading.Thread(target=bump, args=(10,)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert int(get(port, "/bump", headers={"Cookie": cookie}).text) == start + 60 + 1
    server.send_signal(signal.SIGTERM)
    assert server.finish() == 0
