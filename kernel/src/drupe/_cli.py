"""The ``drupe`` command (also ``python -m drupe``).

``drupe plugins`` lists every installed plugin, group by group: its name, the
distribution that provides it and its version; tools also show their hook point and
priority, in the order they run. ``--json`` prints the same as JSON. Listing tools loads
their modules (to read the hook point); nothing else is loaded.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from drupe._registry import GROUPS, installed_plugins
from drupe._request import hookpoints

__all__ = ["main"]


def _tool_order(row: dict[str, Any]) -> tuple[int, float, str]:
    point = row.get("point")
    index = hookpoints.index(point) if point in hookpoints else len(hookpoints)
    priority = row.get("priority")
    return index, float(priority) if isinstance(priority, (int, float)) else 0.0, row["name"]


def _print_table(rows: list[dict[str, Any]]) -> None:
    for group, info in GROUPS.items():
        group_rows = [row for row in rows if row["group"] == group]
        hint = f"; config: {info.key_hint.replace('{name}', '<name>')}" if info.key_hint else ""
        print(f"{group}  [{info.what}{hint}]")
        if not group_rows:
            print("  (none installed)")
            print()
            continue
        if group == "drupe.tools":
            group_rows.sort(key=_tool_order)
        width = max(len(row["name"]) for row in group_rows)
        dist_width = max(len(row["distribution"]) for row in group_rows)
        for row in group_rows:
            line = f"  {row['name']:<{width}}  {row['distribution']:<{dist_width}}  {row['version']}"
            if group == "drupe.tools":
                if "error" in row:
                    line += f"  ERROR: {row['error']}"
                else:
                    line += f"  {row.get('point') or 'error_response'} priority {row.get('priority')}"
            elif group in ("drupe.compat", "drupe.plugins"):
                line += f"  {row['value']}"
            print(line)
        print()


def main(argv: list[str] | None = None) -> int:
    """Run the ``drupe`` command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="drupe", description="drupe's command line.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    plugins = commands.add_parser("plugins", help="list installed plugins by entry-point group")
    plugins.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if args.command == "plugins":
        rows = installed_plugins()
        if args.json:
            json.dump(rows, sys.stdout, indent=2)
            print()
        else:
            _print_table(rows)
        return 0
    parser.print_help()
    return 2
