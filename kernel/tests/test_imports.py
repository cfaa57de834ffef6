"""Import hygiene: ``import drupe`` loads no plugin, and the kernel never names one."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import drupe

KERNEL_SRC = Path(drupe.__file__).resolve().parent


def run_python(code: str) -> Any:
    # The real environment: installed plugins' hook modules load as they would for users.
    env = {key: value for key, value in os.environ.items()
           if key != "DRUPE_DISABLE_PLUGIN_AUTOLOAD"}
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               timeout=60, check=False, env=env)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_import_drupe_loads_no_plugin_and_no_entry_point_machinery() -> None:
    report = run_python(
        "import sys, threading, logging, json\n"
        "before = set(sys.modules)\n"
        "import drupe\n"
        "print(json.dumps({\n"
        "  'plugins': sorted(m for m in sys.modules if m.startswith('drupe_')),\n"
        "  'pluggy': 'pluggy' in sys.modules,\n"
        "  'metadata': 'importlib.metadata' in sys.modules,\n"
        "  'threads': threading.active_count(),\n"
        "  'root_handlers': len(logging.getLogger().handlers),\n"
        "  'booted': drupe._boot.is_booted(),\n"
        "}))\n"
    )
    assert report == {"plugins": [], "pluggy": False, "metadata": False, "threads": 1,
                      "root_handlers": 0, "booted": False}


def test_star_import_of_compat_modules_loads_no_plugin() -> None:
    report = run_python(
        "import sys, json\n"
        "from drupe.dispatch import *\n"
        "from drupe.lib.httputil import *\n"
        "import drupe.lib.static, drupe.lib.sessions, drupe.process.plugins, drupe.test.helper\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('drupe_'))))\n"
    )
    assert report == []


def test_using_drupe_boots_but_loads_only_what_is_named() -> None:
    report = run_python(
        "import sys, json, io\n"
        "import drupe\n"
        "from importlib.metadata import entry_points\n"
        "drupe.config.update({'log.screen': False})\n"
        "hooks = {ep.value.split(':')[0] for ep in entry_points(group='drupe.plugins')}\n"
        "hooks |= {name.rsplit('.', 1)[0] for name in hooks}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('drupe_') and m not in hooks)))\n"
    )
    # No config names a dispatcher or a tool yet: only drupe.plugins hook modules (and
    # their packages, e.g. drupe_tool_standard.hooks) load.
    assert not [name for name in report if "dispatch" in name or "tool" in name]
    assert not [name for name in report if "server" in name]


def _kernel_sources() -> list[Path]:
    files = sorted(KERNEL_SRC.rglob("*.py"))
    assert len(files) > 30
    return files


def test_no_kernel_module_imports_a_plugin() -> None:
    offenders: list[str] = []
    for path in _kernel_sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Call):
                func = node.func
                func_name = getattr(func, "attr", None) or getattr(func, "id", None)
                if func_name in ("import_module", "__import__") and node.args:
                    first = node.args[0]
                    if isinstance(first, ast.Constant) and isinstance(first.value, str):
                        names = [first.value]
            for name in names:
                if name.split(".")[0].startswith("drupe_"):
                    offenders.append(f"{path.relative_to(KERNEL_SRC)}:{node.lineno}: {name}")
    assert offenders == []


def test_no_kernel_module_names_a_plugin_entry_point_value() -> None:
    """Entry-point values like 'drupe_tool_gzip:gzip' appear only in documentation."""
    offenders: list[str] = []
    for path in _kernel_sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        docstrings = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node, clean=False)
                if doc is not None:
                    docstrings.add(doc)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and node.value not in docstrings and node.value.startswith("drupe_")
                    and any(sep in node.value for sep in (":", "."))):
                offenders.append(f"{path.relative_to(KERNEL_SRC)}:{node.lineno}: {node.value!r}")
    assert offenders == []


def test_public_names_are_exported() -> None:
    for name in drupe.__all__:
        assert hasattr(drupe, name), name
    # CherryPy's spellings.
    assert drupe.CherryPyException is drupe.DrupeException
    assert issubclass(drupe.HTTPError, drupe.CherryPyException)
    assert issubclass(drupe.NotFound, drupe.HTTPError)
