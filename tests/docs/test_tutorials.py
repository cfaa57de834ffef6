"""The one-minute application (4.1) and Tutorials 1–4 (3.1–3.4), run as the documentation
says: saved to a file and started with ``python``, serving on 127.0.0.1:8080.

Each example is extracted from the documentation and changed only by ``as_drupe``. Each
run checks CherryPy's engine lines, serves the requests the tutorial describes, then is
stopped with SIGTERM or, in a second run, SIGINT (Ctrl-C), and must exit with status 0
after ``Bus EXITED``, leaving port 8080 free.

Port 8080 is CherryPy's default and the documentation's: these tests fail (saying so)
when something else holds it, and must not run in parallel with each other.
"""

from __future__ import annotations

import re
import signal
import string
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from docs_support import (
    Program,
    assert_in_order,
    fetch,
    port_in_use,
    program,
    random_hex,
    require_free_port,
    wait_until,
)
from seed import as_drupe, section

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("requires_http_server")]

PORT = 8080

# The lines the acceptance names, in the order CherryPy prints them.
ENGINE_LINES = [
    "ENGINE Listening for SIGTERM.",
    "ENGINE Bus STARTING",
    "ENGINE Serving on http://127.0.0.1:8080",
    "ENGINE Bus STARTED",
]

STOPS = [pytest.param(signal.SIGTERM, id="SIGTERM"), pytest.param(signal.SIGINT, id="Ctrl-C")]



def documented_engine_lines() -> list[str]:
    """The ``ENGINE`` lines of Tutorial 1's documented output, without their timestamps."""
    output = section("3.1").block(2)
    return [line.split("] ", 1)[1] for line in output.splitlines() if "] ENGINE " in line]


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Callable[[str, str], Program]]:
    """Start a tutorial program (``code``, saved as ``filename``) and wait until it serves."""
    started: list[Program] = []

    def start(code: str, filename: str) -> Program:
        require_free_port(PORT)
        running = program(tmp_path, as_drupe(code), filename)
        started.append(running)
        output = running.wait_for("ENGINE Bus STARTED")
        assert_in_order(output, ENGINE_LINES)
        # Every engine line Tutorial 1 shows (signals, monitor threads, ...), in its order.
        assert_in_order(output, documented_engine_lines())
        return running

    yield start
    for running in started:
        running.cleanup()


def stop_cleanly(running: Program, signum: int) -> None:
    status = running.stop(signum)
    output = running.output()
    assert status == 0, f"exit status {status}:\n{output}"
    assert_in_order(output, ["ENGINE Bus STOPPING", "ENGINE Bus STOPPED", "ENGINE Bus EXITED"])
    assert "Traceback" not in output, output
    wait_until(lambda: not port_in_use(PORT), timeout=5, message="port 8080 to be free")


def get(path: str, **kwargs: object) -> tuple[int, str]:
    status, _headers, body = fetch(PORT, path, **kwargs)  # type: ignore[arg-type]
    return status, body.decode("utf-8")


def test_documented_output_names_the_acceptance_lines() -> None:
    # The check above reads Tutorial 1's printed output; make sure it holds what matters.
    documented = documented_engine_lines()
    for line in ENGINE_LINES:
        assert line in documented


@pytest.mark.parametrize("signum", STOPS)
def test_4_1_one_minute_application(run: Callable[[str, str], Program], signum: int) -> None:
    running = run(section("4.1").block(0), "myapp.py")
    assert get("/") == (200, "Hello World!")
    stop_cleanly(running, signum)


@pytest.mark.parametrize("signum", STOPS)
def test_3_1_tutorial_1_basic_web_application(run: Callable[[str, str], Program],
                                              signum: int) -> None:
    running = run(section("3.1").block(0), "tut01.py")
    assert get("/") == (200, "Hello world!")
    # The tutorial prints the checker's remark about the empty application config.
    assert "The Application mounted at '' has an empty config." in running.output()
    stop_cleanly(running, signum)


@pytest.mark.parametrize("signum", STOPS)
def test_3_2_tutorial_2_different_urls(run: Callable[[str, str], Program], signum: int) -> None:
    running = run(section("3.2").block(0), "tut02.py")
    assert get("/") == (200, "Hello world!")
    status, first = get("/generate")
    assert status == 200
    assert random_hex(first, 8)
    # "a random string each time it is called"
    others = {get("/generate")[1] for _ in range(3)}
    assert others - {first}
    stop_cleanly(running, signum)


@pytest.mark.parametrize("signum", STOPS)
def test_3_3_tutorial_3_urls_with_parameters(run: Callable[[str, str], Program],
                                             signum: int) -> None:
    running = run(section("3.3").block(0), "tut03.py")
    status, generated = get("/generate?length=16")
    assert status == 200
    assert random_hex(generated, 16)
    # The default argument keeps /generate working.
    status, generated = get("/generate")
    assert status == 200
    assert random_hex(generated, 8)
    stop_cleanly(running, signum)


@pytest.mark.parametrize("signum", STOPS)
def test_3_4_tutorial_4_submit_this_form(run: Callable[[str, str], Program], signum: int) -> None:
    running = run(section("3.4").block(0), "tut04.py")
    status, page = get("/")
    assert status == 200
    form = re.search(r'<form method="(\w+)" action="(\w+)">', page)
    assert form is not None, page
    field = re.search(r'<input type="text" value="(\d+)" name="(\w+)" />', page)
    assert field is not None, page
    method, action = form.groups()
    value, name = field.groups()
    # What the browser sends when the button is pressed: the form's GET ...
    status, generated = get(f"/{action}?{name}={value}", method=method.upper())
    assert status == 200
    assert random_hex(generated, int(value))
    # ... and, as the tutorial says, a POST form is handled the same way.
    status, generated = get(f"/{action}", method="POST", body=f"{name}=12".encode(),
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200
    assert random_hex(generated, 12)
    stop_cleanly(running, signum)
