"""``import cherrypy`` resolves to drupe: an opt-in import alias.

Once :func:`install` has run, ``cherrypy`` *is* the ``drupe`` module object, and every
``cherrypy.<name>`` module (``cherrypy.lib.sessions``, ``cherrypy._cptools``,
``cherrypy.process.plugins``, ...) is the module ``drupe.<name>`` — the same objects, so
there is one engine, one tree and one config, whichever name a module imported them by.

The alias is never implicit. Turn it on with one of:

- ``drupe_cherrypy.install()`` before anything imports ``cherrypy``;
- ``python -m drupe_cherrypy script.py`` or ``python -m drupe_cherrypy -m module``;
- the environment variable ``DRUPE_CHERRYPY=1`` (read at interpreter start by the
  ``drupe_cherrypy_alias.pth`` file this distribution installs).

It refuses to act when the real CherryPy is installed in the same environment: two
packages answering to one name would make every import a guess.

Some ``cherrypy.*`` packages can be left to real files (``real={"cherrypy.test": path}``):
the CherryPy compatibility run uses this to load CherryPy's own test package against
drupe.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Mapping, Sequence
from types import ModuleType

__all__ = ["AliasError", "export_to_children", "install", "installed", "parse_real", "uninstall"]

ALIAS = "cherrypy"
TARGET = "drupe"
ENV_ON = "DRUPE_CHERRYPY"
ENV_REAL = "DRUPE_CHERRYPY_REAL"


class AliasError(ImportError):
    """The alias cannot be turned on (the real CherryPy is installed, or a copy is loaded)."""


class _ExistingModuleLoader(importlib.abc.Loader):
    """Hands importlib a module that already exists (``drupe.<name>``) under the alias name."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module
        self.spec = module.__spec__
        self.loader = getattr(module, "__loader__", None)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return self.module

    def exec_module(self, module: ModuleType) -> None:
        # Already executed under its own name; running it again would make a second copy.
        # importlib has just pointed __spec__ (and maybe __loader__) at the alias: give the
        # module back its own, so reload(), pickle and tracebacks see drupe's name.
        module.__spec__ = self.spec
        if self.loader is not None:
            module.__loader__ = self.loader


class _AliasFinder(importlib.abc.MetaPathFinder):
    """Finds ``cherrypy`` and ``cherrypy.*`` as drupe's modules, or as declared real files."""

    def __init__(self, real: Mapping[str, str]) -> None:
        self.real = {name: os.path.abspath(path) for name, path in real.items()}

    def _real_root(self, fullname: str) -> str | None:
        for name in self.real:
            if fullname == name or fullname.startswith(name + "."):
                return name
        return None

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != ALIAS and not fullname.startswith(ALIAS + "."):
            return None
        root = self._real_root(fullname)
        if root is not None:
            if fullname != root:
                # Below a real package: the path finder searches its real __path__.
                return None
            location = self.real[root]
            init = os.path.join(location, "__init__.py")
            if os.path.isdir(location) and os.path.isfile(init):
                return importlib.util.spec_from_file_location(
                    fullname, init, submodule_search_locations=[location])
            if os.path.isfile(location):
                return importlib.util.spec_from_file_location(fullname, location)
            raise AliasError(f"{fullname} is declared a real package at {location}, "
                             "which holds no Python package.")
        target_name = TARGET + fullname[len(ALIAS):]
        try:
            module = importlib.import_module(target_name)
        except ModuleNotFoundError as exc:
            if exc.name == target_name:
                return None  # no such module in drupe either: the usual ImportError follows
            raise
        return importlib.machinery.ModuleSpec(
            fullname, _ExistingModuleLoader(module), is_package=hasattr(module, "__path__"))


_finder: _AliasFinder | None = None


def _real_cherrypy() -> str | None:
    """Where the real CherryPy is installed, or ``None``."""
    try:
        from importlib import metadata

        dist = metadata.distribution("CherryPy")
    except Exception:  # PackageNotFoundError, or broken metadata: look on the path instead
        dist = None
    if dist is not None:
        return f"the distribution CherryPy {dist.version} is installed"
    spec = importlib.machinery.PathFinder.find_spec(ALIAS)
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            if os.path.exists(os.path.join(location, "_cprequest.py")):
                return f"a CherryPy package is importable from {location}"
    return None


def installed() -> bool:
    """Whether the alias is on in this interpreter."""
    return _finder is not None and _finder in sys.meta_path


def install(real: Mapping[str, str] | None = None) -> None:
    """Turn the alias on: ``import cherrypy`` (and ``cherrypy.*``) gives drupe's modules.

    ``real`` maps ``cherrypy.*`` package names to folders (or files) loaded as themselves
    instead of as drupe modules. Calling ``install`` again replaces that map.
    Raises :class:`AliasError` when the real CherryPy is installed or already imported.
    """
    global _finder
    where = _real_cherrypy()
    if where is not None:
        raise AliasError(
            f"drupe-cherrypy will not alias 'cherrypy': {where}. Two packages answering to "
            "one name would make every import a guess. Uninstall CherryPy "
            "(pip uninstall CherryPy) to run CherryPy applications on drupe, or leave the "
            "alias off to run them on CherryPy.")
    loaded = sys.modules.get(ALIAS)
    if loaded is not None and getattr(loaded, "__name__", None) != TARGET:
        raise AliasError(f"a module named 'cherrypy' is already imported ({loaded!r}); "
                         "turn the alias on before anything imports cherrypy.")
    if _finder is not None and _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    _finder = _AliasFinder(real or {})
    sys.meta_path.insert(0, _finder)


def parse_real(text: str) -> dict[str, str]:
    """``cherrypy.NAME=PATH`` entries separated by ``os.pathsep`` -> ``{NAME: PATH}``.

    The format of ``DRUPE_CHERRYPY_REAL``. Raises ``ValueError`` naming a malformed entry.
    """
    real: dict[str, str] = {}
    for entry in text.split(os.pathsep):
        if not entry.strip():
            continue
        name, sep, path = entry.partition("=")
        name = name.strip()
        if not sep or not name.startswith(ALIAS + ".") or not path:
            raise ValueError(f"{ENV_REAL}: expected cherrypy.NAME=PATH entries separated by "
                             f"{os.pathsep!r}, not {entry!r}")
        real[name] = path
    return real


def export_to_children(real: Mapping[str, str] | None = None) -> None:
    """Set ``DRUPE_CHERRYPY=1`` (and ``DRUPE_CHERRYPY_REAL`` for ``real``) in ``os.environ``.

    Python processes this one starts then run with the same alias, through the ``.pth``
    file: a program that re-executes itself (the autoreloader, a daemonizer) or starts
    ``python -m cherrypy`` keeps getting drupe.
    """
    os.environ[ENV_ON] = "1"
    if real:
        os.environ[ENV_REAL] = os.pathsep.join(
            f"{name}={os.path.abspath(path)}" for name, path in real.items())
    else:
        os.environ.pop(ENV_REAL, None)


def uninstall() -> None:
    """Turn the alias off and forget the ``cherrypy.*`` names it gave out."""
    global _finder
    if _finder is not None and _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    _finder = None
    for name in [n for n in sys.modules if n == ALIAS or n.startswith(ALIAS + ".")]:
        del sys.modules[name]
