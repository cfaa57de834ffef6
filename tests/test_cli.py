"""The ``drupe`` command: ``drupe plugins`` lists every installed plugin by group."""

from __future__ import annotations

import json
import subprocess
import sys


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "drupe", *args], capture_output=True,
                          text=True, timeout=60, check=False)


def test_plugins_json_lists_groups_names_distributions_and_tool_points() -> None:
    result = run("plugins", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    by_key = {(row["group"], row["name"]): row for row in rows}
    gzip = by_key[("drupe.tools", "gzip")]
    assert gzip["distribution"] == "drupe-tool-gzip"
    assert gzip["version"] == "0.1.0"
    assert (gzip["point"], gzip["priority"]) == ("before_finalize", 80)
    assert by_key[("drupe.tools", "encode")]["point"] == "before_handler"
    assert by_key[("drupe.servers", "cheroot")]["distribution"] == "drupe-server-cheroot"
    assert by_key[("drupe.dispatchers", "default")]["distribution"] == "drupe-dispatch-objecttree"
    assert by_key[("drupe.dispatchers", "method")]["distribution"] == "drupe-dispatch-method"
    assert by_key[("drupe.engine", "autoreload")]["distribution"] == "drupe-process"
    assert ("drupe.compat", "test.helper") in by_key


def test_plugins_table_shows_tools_in_execution_order() -> None:
    result = run("plugins")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    tools = lines[lines.index("drupe.tools  [tool; config: tools.<name>.on]") + 1:]
    tools = tools[: tools.index("")]
    names = [line.split()[0] for line in tools]
    # encode (before_handler 70) runs before gzip (before_finalize 80), and hook points
    # come in the pipeline's order.
    assert names.index("trailing_slash") < names.index("encode") < names.index("gzip")
    assert any("before_finalize priority 80" in line for line in tools if line.split()[0] == "gzip")
    assert "drupe.servers  [HTTP server; config: server.type]" in lines


def test_no_command_prints_help_and_fails() -> None:
    result = run()
    assert result.returncode == 2
    assert "plugins" in result.stdout
