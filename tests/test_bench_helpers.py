"""bench/'s helpers: the response checks, the request builders, the ratios and targets,
and the benchmark apps answering every case rightly (on drupe in-process, and raw WSGI).

The benchmark itself is not run here (it measures, and nothing in the suite asserts
anything about time); these tests keep its parts honest, fast.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
for folder in (BENCH, BENCH / "apps"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import cases  # noqa: E402
import worker  # noqa: E402


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


bench_run = _load("bench_run", BENCH / "run.py")
loadgen = _load("bench_loadgen", BENCH / "loadgen.py")


# -- response checks ----------------------------------------------------------------


def test_check_status_and_body() -> None:
    case = cases.CASES["hello"]
    assert case.check(200, b"Hello world!") is None
    assert "status 500" in (case.check(500, b"Hello world!") or "")
    assert "expected b'Hello world!'" in (case.check(200, b"Hello") or "")


def test_check_gzip_body_and_header() -> None:
    case = cases.CASES["gzip"]
    body = gzip.compress(cases.GZIP_PAGE, 5)
    assert case.check(200, body, {"content-encoding"}) is None
    assert "lacks header" in (case.check(200, body, set()) or "")
    assert "not gzip" in (case.check(200, cases.GZIP_PAGE, {"content-encoding"}) or "")
    assert "expected" in (case.check(200, gzip.compress(b"other"), {"content-encoding"}) or "")


def test_check_json_compares_values_not_bytes() -> None:
    case = cases.CASES["json_out"]
    assert case.check(200, json.dumps(cases.JSON_OUT, indent=2).encode()) is None
    assert "not JSON" in (case.check(200, b"{") or "")
    assert "expected" in (case.check(200, b"{}") or "")


def test_check_counter_and_static() -> None:
    assert cases.CASES["session"].check(200, b"12") is None
    assert "not a counter" in (cases.CASES["session"].check(200, b"twelve") or "")
    static = cases.CASES["static64k"]
    data = cases.static_bytes("64k.bin")
    assert len(data) == 64 * 1024
    assert static.check(200, data) is None
    assert static.check(200, data[:-1]) is not None


def test_gzip_page_is_deterministic_and_compressible() -> None:
    assert len(cases.GZIP_PAGE) == 32 * 1024
    assert cases._text(32 * 1024) == cases.GZIP_PAGE
    assert len(gzip.compress(cases.GZIP_PAGE, 5)) < len(cases.GZIP_PAGE) / 3


def test_static_dir_written_once(tmp_path: Path) -> None:
    directory = Path(cases.write_static_dir(tmp_path / "static"))
    assert (directory / "1m.bin").read_bytes() == cases.static_bytes("1m.bin")
    stamp = (directory / "1m.bin").stat().st_mtime_ns
    cases.write_static_dir(directory)
    assert (directory / "1m.bin").stat().st_mtime_ns == stamp


def test_session_cookie() -> None:
    assert cases.session_cookie(["a=b", "session_id=abc123; expires=x; Path=/"]) == "session_id=abc123"
    assert cases.session_cookie(["other=1"]) is None


def test_environ_carries_body_headers_and_cookie() -> None:
    environ = cases.make_environ(cases.CASES["json_in"], cookie="session_id=x")
    assert environ["REQUEST_METHOD"] == "POST"
    assert environ["CONTENT_TYPE"] == "application/json"
    assert environ["CONTENT_LENGTH"] == str(len(cases.JSON_IN_BODY))
    assert environ["HTTP_COOKIE"] == "session_id=x"


# -- request builders ---------------------------------------------------------------


def _lua_unescape(literal: str) -> bytes:
    assert literal[0] == literal[-1] == '"'
    return re.sub(r"\\(\d{3})", lambda m: chr(int(m.group(1))), literal[1:-1]).encode("latin-1")


@pytest.mark.parametrize("data", [b"", b"abc", b'{"a": [1, 2]}\n', bytes(range(256)), b"\\1\\0019"])
def test_lua_string_round_trips(data: bytes) -> None:
    literal = bench_run.lua_string(data)
    assert literal.isascii()
    assert _lua_unescape(literal) == data


def test_wrk_script_has_method_body_headers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench_run, "SCRIPTS", tmp_path)
    script = bench_run.wrk_script(cases.CASES["json_in"], "session_id=s1").read_text()
    assert 'wrk.method = "POST"' in script
    body = re.search(r"^wrk\.body = (\".*\")$", script, re.M)
    assert body is not None
    assert _lua_unescape(body.group(1)) == cases.JSON_IN_BODY
    assert "BENCH_JSON" in script  # the reporter follows


def test_loadgen_request_bytes() -> None:
    get = loadgen.build_request("127.0.0.1", 8080, "/greet?name=x")
    assert get.startswith(b"GET /greet?name=x HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n")
    assert get.endswith(b"\r\n\r\n")
    assert b"Content-Length" not in get
    post = loadgen.build_request("h", 1, "/j", "POST", [("Content-Type", "application/json")], b"{}")
    head, _, body = post.partition(b"\r\n\r\n")
    assert body == b"{}"
    assert b"\r\nContent-Length: 2" in head
    assert b"\r\nContent-Type: application/json" in head


# -- ratios and targets -------------------------------------------------------------


def _stats(rps: float, cpu_us: float) -> dict[str, Any]:
    return {"rps": rps, "server_cpu_us_per_req": cpu_us, "runs": [{"rps": rps}]}


def test_ratios_and_goals() -> None:
    socket = {
        "hello": {"raw": _stats(1000, 80), "drupe": _stats(960, 110), "cherrypy": _stats(400, 250)},
        "static1m": {"raw": _stats(100, 900), "drupe": _stats(90, 1000), "cherrypy": _stats(95, 1000)},
    }
    r = bench_run.ratios({}, socket)
    assert r["hello"]["drupe/raw rps"] == pytest.approx(0.96)
    assert r["hello"]["drupe/cherrypy rps"] == pytest.approx(2.4)
    assert r["hello"]["drupe-raw cpu_us"] == pytest.approx(30)
    assert r["hello"]["cherrypy/drupe cpu"] == pytest.approx(250 / 110)
    goals = {(g["goal"], g["target"]): g for g in bench_run.evaluate_goals(
        r, {"drupe": {"import_ms": 60.0, "first_response_ms": 200.0}})}
    assert goals[("hello world ≥ 0.95× raw cheroot req/s", "drupe")]["met"] is True
    assert goals[("hello ≥ 2× CherryPy req/s", "drupe")]["met"] is True
    assert goals[("static1m ≥ 1× CherryPy req/s", "drupe")]["met"] is False
    assert goals[("`import drupe` ≤ 50 ms", "drupe")]["met"] is False
    assert goals[("process start to first response ≤ 300 ms", "drupe")]["met"] is True
    assert not [g for g in goals.values() if g["target"] == "drupe-engine"]  # not measured


def test_apps_are_the_same_code() -> None:
    bench_run.check_app_sources()  # exits on a difference


def test_unavailable_cases_name_the_missing_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    import drupe

    monkeypatch.setattr(drupe.registry, "has", lambda group, name: name != "gzip")
    assert bench_run.unavailable_cases(["hello", "gzip"]) == {
        "gzip": "no drupe plugin registered for drupe.tools: gzip"}


# -- the apps answer every case -----------------------------------------------------


def _settings(tmp_path: Path, names: list[str]) -> dict[str, Any]:
    return dict(bench_run.SERVER_SETTINGS, port=0, cases=names,
                static_dir=str(cases.write_static_dir(tmp_path / "static")))


def test_raw_app_answers_every_case(tmp_path: Path) -> None:
    app = worker.importlib.import_module("raw_app").configure(_settings(tmp_path, list(cases.CASES)))
    for case in cases.CASES.values():
        assert worker.check_case(app, case)[0] is None, case.name


@pytest.mark.drupe_reset
def test_drupe_app_answers_every_installed_case(tmp_path: Path) -> None:
    import drupe

    names = [name for name, case in cases.CASES.items()
             if all(drupe.registry.has(group, entry) for group, entry in case.requires)]
    assert "hello" in names
    app = worker.importlib.import_module("drupe_app").configure(_settings(tmp_path, names))
    for name in names:
        problem, cookie = worker.check_case(app, cases.CASES[name])
        assert problem is None, name
        assert (cookie is not None) == cases.CASES[name].session
