"""The ``import cherrypy`` alias, each case in a fresh interpreter (the alias changes imports)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TIMEOUT = 60


def run(code: str, tmp_path: Path, *args: str, env: dict[str, str] | None = None,
        via_module: bool = False) -> subprocess.CompletedProcess[str]:
    """Run ``code`` as a script: plainly, or through ``python -m drupe_cherrypy``."""
    script = tmp_path / "program.py"
    script.write_text(textwrap.dedent(code))
    command = [sys.executable]
    if via_module:
        command += ["-m", "drupe_cherrypy", *args]
    command.append(str(script))
    environment = {k: v for k, v in os.environ.items() if k != "DRUPE_CHERRYPY"}
    environment.update(env or {})
    return subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)


SAME_OBJECTS = """
    import sys
    import cherrypy
    import cherrypy.lib.httputil
    import cherrypy.process.plugins
    from cherrypy import _cptools, _cpconfig
    import drupe, drupe.lib.httputil, drupe.process.plugins
    assert cherrypy is drupe
    assert cherrypy.lib.httputil is drupe.lib.httputil
    assert cherrypy.process.plugins is drupe.process.plugins
    assert _cptools is drupe._cptools and _cpconfig is drupe._cpconfig
    assert cherrypy.engine is drupe.engine and cherrypy.tree is drupe.tree
    # The modules keep their own names and specs: one copy, known by two names.
    assert cherrypy.lib.httputil.__name__ == "drupe.lib.httputil"
    assert cherrypy.lib.httputil.__spec__.name == "drupe.lib.httputil"
    assert sys.modules["cherrypy.lib.httputil"] is sys.modules["drupe.lib.httputil"]
    print("same objects")
"""


def test_python_m_drupe_cherrypy_runs_a_script_with_the_alias(tmp_path: Path) -> None:
    result = run(SAME_OBJECTS, tmp_path, via_module=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "same objects"


def test_the_environment_variable_turns_it_on(tmp_path: Path) -> None:
    result = run(SAME_OBJECTS, tmp_path, env={"DRUPE_CHERRYPY": "1"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "same objects"


def test_without_opting_in_there_is_no_cherrypy(tmp_path: Path) -> None:
    result = run("import cherrypy\n", tmp_path)
    assert result.returncode == 1
    assert "No module named 'cherrypy'" in result.stderr


def test_install_and_uninstall(tmp_path: Path) -> None:
    result = run("""
        import sys
        import drupe_cherrypy
        drupe_cherrypy.install()
        assert drupe_cherrypy.installed()
        import cherrypy.lib.static
        drupe_cherrypy.uninstall()
        assert not drupe_cherrypy.installed()
        assert not any(name == "cherrypy" or name.startswith("cherrypy.") for name in sys.modules)
        try:
            import cherrypy
        except ImportError:
            print("gone")
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "gone"


def test_a_module_drupe_lacks_is_an_ordinary_import_error(tmp_path: Path) -> None:
    result = run("import cherrypy.no_such_module\n", tmp_path, via_module=True)
    assert result.returncode == 1
    assert "No module named 'cherrypy.no_such_module'" in result.stderr


def test_real_packages_load_from_their_files(tmp_path: Path) -> None:
    package = tmp_path / "real" / "test"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("KIND = 'real'\n")
    (package / "helper.py").write_text("import cherrypy\nENGINE = cherrypy.engine\n")
    result = run("""
        import cherrypy.test, cherrypy.test.helper, drupe
        assert cherrypy.test.KIND == "real"
        assert cherrypy.test.helper.ENGINE is drupe.engine
        print(cherrypy.test.__file__)
    """, tmp_path, f"--real=cherrypy.test={package}", via_module=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(package / "__init__.py")


def test_real_packages_through_the_environment(tmp_path: Path) -> None:
    package = tmp_path / "real" / "test"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("KIND = 'real'\n")
    result = run("""
        import cherrypy, cherrypy.test, drupe
        assert cherrypy is drupe and cherrypy.test.KIND == "real"
        print("ok")
    """, tmp_path, env={"DRUPE_CHERRYPY": "1", "DRUPE_CHERRYPY_REAL": f"cherrypy.test={package}"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_a_malformed_real_entry_leaves_the_alias_off_and_says_why(tmp_path: Path) -> None:
    result = run("""
        import importlib.util
        print(importlib.util.find_spec("cherrypy") is None)
    """, tmp_path, env={"DRUPE_CHERRYPY": "1", "DRUPE_CHERRYPY_REAL": "test=/somewhere"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
    assert "DRUPE_CHERRYPY_REAL" in result.stderr
    assert "'test=/somewhere'" in result.stderr


def test_child_processes_inherit_the_alias(tmp_path: Path) -> None:
    # A CherryPy program that starts `python -m cherrypy ...` or re-executes itself must
    # get drupe there too, with the same real packages.
    package = tmp_path / "real" / "test"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("KIND = 'real'\n")
    result = run("""
        import subprocess, sys
        child = subprocess.run(
            [sys.executable, "-c",
             "import cherrypy, cherrypy.test, drupe; "
             "print(cherrypy is drupe, cherrypy.test.KIND)"],
            capture_output=True, text=True, check=False)
        print(child.stdout.strip() or child.stderr)
    """, tmp_path, f"--real=cherrypy.test={package}", via_module=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True real"


@pytest.mark.parametrize("how", ["package", "distribution"])
def test_it_refuses_when_the_real_cherrypy_is_installed(tmp_path: Path, how: str) -> None:
    site = tmp_path / "site"
    if how == "package":
        (site / "cherrypy").mkdir(parents=True)
        (site / "cherrypy" / "__init__.py").write_text("")
        (site / "cherrypy" / "_cprequest.py").write_text("")
        expected = "a CherryPy package is importable from"
    else:
        info = site / "CherryPy-18.10.0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: CherryPy\nVersion: 18.10.0\n")
        expected = "the distribution CherryPy 18.10.0 is installed"
    env = {"PYTHONPATH": str(site)}
    result = run("import cherrypy\n", tmp_path, env=env, via_module=True)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "pip uninstall CherryPy" in result.stderr
    # Through the environment variable: a message, and the interpreter still works.
    result = run("print('still runs')\n", tmp_path, env={**env, "DRUPE_CHERRYPY": "1"})
    assert result.returncode == 0
    assert result.stdout.strip() == "still runs"
    assert "the alias is off" in result.stderr
    assert expected in result.stderr


def test_it_refuses_when_another_cherrypy_is_already_imported(tmp_path: Path) -> None:
    result = run("""
        import sys, types
        sys.modules["cherrypy"] = types.ModuleType("cherrypy")
        import drupe_cherrypy
        try:
            drupe_cherrypy.install()
        except drupe_cherrypy.AliasError as exc:
            print(exc)
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "already imported" in result.stdout


def test_usage_errors(tmp_path: Path) -> None:
    for args, message in ([["-m"], "-m wants a module name"],
                          [["--real", "test=/x", "x.py"], "--real wants cherrypy.NAME=PATH"],
                          [[], "name a script to run"]):
        result = subprocess.run([sys.executable, "-m", "drupe_cherrypy", *args], cwd=tmp_path,
                                capture_output=True, text=True, timeout=TIMEOUT, check=False)
        assert result.returncode == 2, args
        assert message in result.stderr


# -- a third-party CherryPy toolbox from PyPI ------------------------------------------

CORS_APP = """
    import cherrypy
    import cherrypy_cors
    from drupe_testing import Client

    cherrypy_cors.install()

    class Root:
        @cherrypy.expose
        def index(self):
            return "hello"

    cherrypy.config.update({"log.screen": False})
    app = cherrypy.tree.mount(Root(), "/", {"/": {"cors.expose.on": True}})
    reply = Client(app).get("/", headers={"Origin": "https://example.com"})
    print(reply.status, reply.headers.get("Access-Control-Allow-Origin"), reply.body.decode())
"""


def test_cherrypy_cors_from_pypi_adds_its_headers(tmp_path: Path) -> None:
    uv = os.environ.get("UV") or shutil.which("uv")  # uv run names itself in $UV
    installer = [uv, "pip", "install"] if uv else [sys.executable, "-m", "uv", "pip", "install"]
    target = tmp_path / "site"
    # --no-deps: cherrypy-cors depends on CherryPy, which the alias stands in for.
    install = subprocess.run([*installer, "--quiet", "--no-deps", "--python", sys.executable,
                              "--target", str(target), "cherrypy-cors==1.7.0", "httpagentparser"],
                             capture_output=True, text=True, timeout=300, check=False)
    if install.returncode != 0:
        pytest.skip(f"could not install cherrypy-cors from PyPI: {install.stderr.strip()[-300:]}")
    result = run(CORS_APP, tmp_path, env={"PYTHONPATH": str(target)}, via_module=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["200", "https://example.com", "hello"]
