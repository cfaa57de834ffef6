"""The kernel README's table of standard tools matches the tools actually installed.

Every installed tool named in the table must declare the hook point and default priority
the table gives (CherryPy's), so the order of tools that meet at one point is documented
truthfully.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import drupe

README = Path(__file__).resolve().parents[1] / "kernel" / "README.md"


def _table() -> dict[str, tuple[str, str]]:
    text = README.read_text(encoding="utf-8")
    block = text.split("<!-- tool-table -->", 1)[1].split("<!-- /tool-table -->", 1)[0]
    rows: dict[str, tuple[str, str]] = {}
    for line in block.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0] in ("tool", "") or set(cells[0]) <= {"-"}:
            continue
        rows[cells[0]] = (cells[1], cells[2])
    return rows


def test_the_table_lists_every_cherrypy_tool() -> None:
    names = set(_table())
    # CherryPy's default toolbox (less cpstats, which is a statistics helper) has these.
    expected = {
        "accept", "allow", "auth_basic", "auth_digest", "autovary", "caching", "decode",
        "encode", "err_redirect", "etags", "expires", "flatten", "gzip", "ignore_headers",
        "json_in", "json_out", "log_headers", "log_hooks", "log_tracebacks", "params",
        "proxy", "redirect", "referer", "response_headers", "session_auth", "sessions",
        "staticdir", "staticfile", "trailing_slash", "xmlrpc",
    }
    assert names == expected


def _installed() -> list[str]:
    # Tools of distributions not installed here have nothing to check.
    return sorted(name for name in _table() if drupe.registry.has("drupe.tools", name))


def test_the_workspace_tools_are_checked() -> None:
    assert "gzip" in _installed()


@pytest.mark.parametrize("name", _installed())
def test_installed_tool_matches_the_table(name: str) -> None:
    point, priority = _table()[name]
    tool = drupe.registry.load("drupe.tools", name)
    if point.startswith("("):
        assert tool._point is None, f"{name} should replace request.error_response"
        return
    assert tool._point == point
    assert re.fullmatch(r"\d+", priority)
    assert tool.priority == int(priority)
