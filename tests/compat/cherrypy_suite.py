"""CherryPy 18.10.0's own test suite, run against drupe through the drupe-cherrypy alias.

``python tests/compat/cherrypy_suite.py [--against cherrypy] [--keep DIR] [-- PYTEST ARGS]``

The script fetches CherryPy's wheel from PyPI into a throwaway folder (never into this
repository), keeps only its ``cherrypy/test`` and ``cherrypy/tutorial`` packages as real
files, and runs pytest on them with every other ``cherrypy.*`` module aliased to drupe
(``python -m drupe_cherrypy --real ...``). It prints the passes, failures and errors per test
module, and exits 1 when fewer items pass than ``threshold.txt`` records.

``--against cherrypy`` runs the same suite against the real CherryPy instead (installed in
a throwaway environment): the reference for the counts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
VERSION = "18.10.0"
# What CherryPy's tests import besides CherryPy, cheroot and pytest (its "testing" extra,
# less the coverage and reporting plugins).
TEST_DEPENDENCIES = ["portend", "path", "requests-toolbelt", "more-itertools", "jaraco.collections",
                     "pytest-services", "objgraph"]


def fetch_wheel(cache: Path) -> Path:
    cache.mkdir(parents=True, exist_ok=True)
    wheels = sorted(cache.glob(f"[Cc]herry[Pp]y-{VERSION}-*.whl"))
    if not wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--disable-pip-version-check", "--only-binary", ":all:",
                        "--dest", str(cache), f"CherryPy=={VERSION}"], check=True)
        wheels = sorted(cache.glob(f"[Cc]herry[Pp]y-{VERSION}-*.whl"))
    if not wheels:
        raise SystemExit(f"no CherryPy {VERSION} wheel in {cache}")
    return wheels[0]


def unpack(wheel: Path, work: Path, everything: bool) -> Path:
    """Unpack the test packages (or, with ``everything``, all of CherryPy) into ``work``."""
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            # favicon.ico: test_core serves it from next to the test package.
            if everything or name.startswith(("cherrypy/test/", "cherrypy/tutorial/")) or \
                    name == "cherrypy/favicon.ico":
                archive.extract(name, work)
    package = work / "cherrypy"
    if not everything:
        # An empty package file, so pytest names the test modules cherrypy.test.*; the alias
        # answers for `cherrypy` itself, this file is never imported.
        (package / "__init__.py").write_text("")
    return package


def junit_counts(report: Path) -> dict[str, Counter[str]]:
    per_module: dict[str, Counter[str]] = defaultdict(Counter)
    for case in ET.parse(report).getroot().iter("testcase"):
        module = (case.get("classname") or "?").split(".")
        name = next((part for part in module if part.startswith("test_")), module[-1])
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed" if child.tag == "failure" else "error"
            elif child.tag == "skipped":
                outcome = "xfailed" if child.get("type") == "pytest.xfail" else "skipped"
        per_module[name][outcome] += 1
    return per_module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", choices=["drupe", "cherrypy"], default="drupe")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "drupe-cherrypy-wheel")
    parser.add_argument("--no-threshold", action="store_true", help="report only")
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args()

    wheel = fetch_wheel(args.cache)
    work = args.keep or Path(tempfile.mkdtemp(prefix="drupe-cherrypy-suite-"))
    if work.exists() and args.keep:
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    try:
        package = unpack(wheel, work, everything=args.against == "cherrypy")
        report = work / "report.xml"
        pytest_args = ["-p", "no:cacheprovider", "-q", "--continue-on-collection-errors", "-rfE", "--tb=line",
                       "--rootdir", str(work), "-o", "addopts=", "-o", "filterwarnings=",
                       "-o", "timeout=120", "--junitxml", str(report), str(package / "test"),
                       *args.pytest_args]
        uv = [sys.executable, "-m", "uv", "run", "--project", str(ROOT), "--quiet"]
        if args.against == "cherrypy":
            command = [*uv, "--isolated", "--no-project", "--with", "cheroot", "--with", "pytest",
                       "--with", "pytest-timeout", "--with", "routes", "--with", "simplejson",
                       *[x for dep in TEST_DEPENDENCIES for x in ("--with", dep)],
                       "--with-requirements", os.devnull,
                       "python", "-m", "pytest", *pytest_args]
            # The unpacked CherryPy is imported from the work folder.
            env = {**os.environ, "PYTHONPATH": str(work)}
            for dep in ("portend", "zc.lockfile", "jaraco.collections", "more-itertools"):
                command[command.index("python"):command.index("python")] = ["--with", dep]
        else:
            real = [f"--real=cherrypy.test={package / 'test'}",
                    f"--real=cherrypy.tutorial={package / 'tutorial'}"]
            command = [*uv, *[x for dep in TEST_DEPENDENCIES for x in ("--with", dep)],
                       "--with", "pytest-timeout",
                       "python", "-m", "drupe_cherrypy", *real, "-m", "pytest", *pytest_args]
            env = dict(os.environ)
            env.pop("DRUPE_CHERRYPY", None)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        # cheroot's webtest otherwise answers a failed assertion by prompting on stdin, which
        # pytest has replaced: every such failure would read "redirected stdin is pseudofile".
        env["WEBTEST_INTERACTIVE"] = "false"
        print("$", " ".join(command), flush=True)
        subprocess.run(command, cwd=work, env=env, check=False)
        if not report.exists():
            print("pytest wrote no report: the run did not start", file=sys.stderr)
            return 1
        per_module = junit_counts(report)
        total: Counter[str] = Counter()
        print(f"\nCherryPy {VERSION}'s test suite against {args.against}:")
        print(f"  {'module':<28} {'passed':>6} {'failed':>6} {'error':>6} {'skipped':>7} {'xfailed':>7}")
        for module in sorted(per_module):
            c = per_module[module]
            total.update(c)
            print(f"  {module:<28} {c['passed']:>6} {c['failed']:>6} {c['error']:>6} "
                  f"{c['skipped']:>7} {c['xfailed']:>7}")
        items = sum(total.values())
        print(f"  {'total':<28} {total['passed']:>6} {total['failed']:>6} {total['error']:>6} "
              f"{total['skipped']:>7} {total['xfailed']:>7}   ({items} items)")
        if args.against == "drupe" and not args.no_threshold:
            threshold = int((HERE / "threshold.txt").read_text().split()[0])
            if total["passed"] < threshold:
                print(f"FAIL: {total['passed']} passed, below the recorded threshold {threshold} "
                      "(tests/compat/threshold.txt)")
                return 1
            print(f"ok: {total['passed']} passed, threshold {threshold}")
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
