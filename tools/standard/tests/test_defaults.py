"""What the distribution registers, the four tools on by default, and the environments."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

import drupe
from drupe_testing import Client

# name -> (hook point, default priority), CherryPy's.
TOOLS = {
    "accept": ("on_start_resource", 50),
    "allow": ("on_start_resource", 50),
    "autovary": ("on_start_resource", 0),
    "decode": ("before_request_body", 50),
    "encode": ("before_handler", 70),
    "err_redirect": (None, 50),
    "etags": ("before_finalize", 75),
    "expires": ("before_finalize", 50),
    "flatten": ("before_finalize", 50),
    "ignore_headers": ("before_request_body", 50),
    "log_headers": ("before_error_response", 50),
    "log_hooks": ("on_end_request", 100),
    "log_tracebacks": ("before_error_response", 50),
    "params": ("before_handler", 15),
    "redirect": ("on_start_resource", 50),
    "referer": ("before_request_body", 50),
    "response_headers": ("on_start_resource", 50),
    "trailing_slash": ("before_handler", 60),
}
DEFAULT_ON = ("encode", "trailing_slash", "log_tracebacks", "log_headers")
ENVIRONMENTS = ("production", "staging", "embedded", "test_suite")


@pytest.mark.parametrize(("name", "where"), sorted(TOOLS.items()))
def test_registered_tools(name: str, where: tuple[str | None, int]) -> None:
    tool = drupe.registry.load("drupe.tools", name)
    assert isinstance(tool, drupe.Tool)
    assert (tool.point, tool.priority) == where
    assert tool.name == name
    assert getattr(drupe.tools, name) is tool


def test_every_tool_of_the_distribution_is_listed() -> None:
    mine = [info.name for info in drupe.registry.info("drupe.tools")
            if info.distribution == "drupe-tool-standard"]
    assert sorted(mine) == sorted(TOOLS)


def test_the_four_defaults_are_on() -> None:
    for name in DEFAULT_ON:
        assert drupe.config[f"tools.{name}.on"] is True
        assert drupe.config.defaults[f"tools.{name}.on"] is True
    assert "tools.gzip.on" not in drupe.config


class Root:
    @drupe.expose
    def index(self) -> str:
        return "home"

    @drupe.expose
    def leaf(self) -> str:
        return "leaf"


def planned(path: str, script_name: str = "") -> dict[str, list[tuple[float, str]]]:
    return drupe.tree.apps[script_name]._plans[path].describe()  # type: ignore[no-any-return]


def test_an_application_runs_them_without_asking() -> None:
    drupe.tree.mount(Root())
    client = Client(drupe.tree)
    reply = client.get("/")
    assert reply.headers["Content-Type"] == "text/html;charset=utf-8"  # encode
    assert client.get("/leaf/").status == 200
    hooks = planned("/")
    assert [name for _, name in hooks["before_handler"]] == [
        "drupe_tool_standard._redirects.trailing_slash", "drupe_tool_standard._encoding.wrap_handler"]
    assert [name for _, name in hooks["before_error_response"]] == [
        "drupe_tool_standard._logging.log_traceback", "drupe_tool_standard._logging.log_request_headers"]


@pytest.mark.parametrize("scope", ["global", "application", "_cp_config"])
def test_config_turns_them_off(scope: str) -> None:
    off = {f"tools.{name}.on": False for name in DEFAULT_ON}

    class Quiet(Root):
        _cp_config = off if scope == "_cp_config" else {}

    if scope == "global":
        drupe.config.update(off)
    drupe.tree.mount(Quiet(), "", {"/": off} if scope == "application" else {})
    client = Client(drupe.tree)
    assert client.get("/").status == 200
    assert planned("/") == {}
    # Index without its slash: no redirect.
    drupe.tree.mount(Quiet(), "/app", {"/": off} if scope == "application" else {})
    assert client.get("/app").status == 200


def test_reset_brings_the_defaults_back() -> None:
    drupe.config.update({"tools.encode.on": False})
    drupe.reset()
    assert drupe.config["tools.encode.on"] is True


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_environments_turn_log_headers_off(environment: str, error_log: list[str]) -> None:
    assert drupe._cpconfig.environments[environment]["tools.log_headers.on"] is False
    drupe.config.update({"environment": environment, "log.screen": False})
    assert drupe.config["tools.log_headers.on"] is False
    assert drupe.config["tools.log_tracebacks.on"] is True

    class Failing:
        @drupe.expose
        def index(self) -> str:
            raise ValueError("failure in " + environment)

    drupe.tree.mount(Failing())
    assert Client(drupe.tree).get("/").status == 500
    assert not [line for line in error_log if "Request Headers:" in line]
    assert len([line for line in error_log if "Error while handling" in line]) == 1


def test_without_an_environment_headers_are_logged(error_log: list[str]) -> None:
    class Failing:
        @drupe.expose
        def index(self) -> str:
            raise ValueError("failure")

    drupe.tree.mount(Failing())
    Client(drupe.tree).get("/")
    assert [line for line in error_log if "Request Headers:" in line]


# -- compatibility modules ------------------------------------------------------------------

CPTOOLS = ("validate_etags", "validate_since", "allow", "ignore_headers", "response_headers",
           "referer", "log_traceback", "log_request_headers", "log_hooks", "redirect",
           "trailing_slash", "flatten", "accept", "autovary", "convert_params",
           "MonitoredHeaderMap")


@pytest.mark.parametrize("name", CPTOOLS)
def test_lib_cptools(name: str) -> None:
    from drupe.lib import cptools

    value = getattr(cptools, name)
    assert value is getattr(__import__("drupe_tool_standard"), name)


def test_tool_callables_are_the_cptools_functions() -> None:
    from drupe.lib import cptools

    assert drupe.tools.trailing_slash.callable is cptools.trailing_slash
    assert drupe.tools.etags.callable is cptools.validate_etags
    assert drupe.tools.log_tracebacks.callable is cptools.log_traceback
    assert drupe.tools.log_headers.callable is cptools.log_request_headers
    assert drupe.tools.params.callable is cptools.convert_params
    assert drupe.tools.err_redirect.callable is cptools.redirect


@pytest.mark.parametrize("name", ["decode", "ResponseEncoder", "UTF8StreamEncoder", "prepare_iter",
                                  "gzip", "compress", "decompress"])
def test_lib_encoding_has_both_halves(name: str) -> None:
    from drupe.lib import encoding

    assert getattr(encoding, name) is not None


def test_lib_caching_expires() -> None:
    from drupe.lib import caching

    assert caching.expires is drupe.tools.expires.callable


def _run(code: str) -> Any:
    environment = {key: value for key, value in os.environ.items() if key != "DRUPE_DISABLE_PLUGIN_AUTOLOAD"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env=environment, timeout=60)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_booting_imports_only_the_hooks_module() -> None:
    loaded = _run(
        "import sys, json\n"
        "import drupe\n"
        "drupe.config.update({'log.screen': False})\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('drupe_tool_standard'))))\n"
    )
    assert loaded == ["drupe_tool_standard", "drupe_tool_standard.hooks"]
