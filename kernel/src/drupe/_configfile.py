"""Reading config files: the ini parser and the safe evaluator of their values.

Imported on first use (a config file or a string value to evaluate), so that
``import drupe`` does not pay for ``ast`` and ``configparser``. See ``drupe._config`` for
the rules :func:`unrepr` follows.
"""

from __future__ import annotations

import ast
import builtins
import configparser
import importlib
import os
import sys
from collections.abc import Mapping
from typing import Any

from drupe._errors import ConfigError

# ---------------------------------------------------------------------------
# Safe evaluation of config values


_SAFE_BUILTINS: dict[str, Any] = {
    name: getattr(builtins, name)
    for name in ("dict", "list", "tuple", "set", "frozenset", "int", "float", "str", "bytes",
                 "bool", "complex", "range")
}
_CONSTANTS = {"True": True, "False": False, "None": None}

# Classes from these packages can start processes, open sockets, load code or touch the
# interpreter; a config file may name them but not call them.
# Standard-library callables that only build values: config may call them.
_STDLIB_ALLOWED = frozenset({
    "datetime.timedelta", "datetime.date", "datetime.datetime", "datetime.time",
    "datetime.timezone", "decimal.Decimal", "fractions.Fraction", "re.compile",
    "pathlib.PurePath", "pathlib.PurePosixPath", "pathlib.PureWindowsPath", "pathlib.Path",
    "pathlib.PosixPath", "uuid.UUID", "ipaddress.ip_address", "ipaddress.ip_network",
    "ipaddress.IPv4Address", "ipaddress.IPv6Address", "ipaddress.IPv4Network",
    "ipaddress.IPv6Network", "collections.OrderedDict",
    # os.path's string functions (config files build paths with them: CherryPy's did).
    "posixpath.join", "posixpath.dirname", "posixpath.basename", "posixpath.abspath",
    "posixpath.normpath", "posixpath.expanduser", "ntpath.join", "ntpath.dirname",
    "ntpath.basename", "ntpath.abspath", "ntpath.normpath", "ntpath.expanduser",
})
_MAX_SEQUENCE = 1_000_000
_MAX_EXPONENT = 256


class UnsafeConfigValue(ValueError):
    """A config value uses something :func:`unrepr` does not evaluate."""


def _resolve_dotted(name: str) -> Any:
    """Import the longest module prefix of ``name`` and walk the rest as attributes."""
    parts = name.split(".")
    for part in parts:
        if part.startswith("__"):
            raise UnsafeConfigValue(f"{name!r}: names starting with '__' are not allowed")
    # Config files written for CherryPy name its objects (``request.dispatch:
    # cherrypy.dispatch.MethodDispatcher()``); here they are drupe's, as ``import drupe as
    # cherrypy`` makes them in code. With drupe-cherrypy's import alias on, ``cherrypy``
    # already is drupe, and its ``cherrypy.*`` names (real packages included) resolve as is.
    if parts[0] == "cherrypy" and getattr(sys.modules.get("cherrypy"), "__name__", None) != "drupe":
        parts[0] = "drupe"
    obj: Any = None
    index = len(parts)
    while index > 0:
        module_name = ".".join(parts[:index])
        try:
            obj = importlib.import_module(module_name)
            break
        except ModuleNotFoundError as exc:
            if exc.name is not None and not module_name.startswith(exc.name):
                raise
            index -= 1
    if obj is None:
        raise UnsafeConfigValue(f"{name!r} is not an importable name")
    for attr in parts[index:]:
        try:
            obj = getattr(obj, attr)
        except AttributeError:
            raise UnsafeConfigValue(f"{name!r}: {'.'.join(parts[:index])!r} has no attribute {attr!r}")
    return obj


def _dotted_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted_name(node.value)
        return f"{base}.{node.attr}" if base is not None else None
    return None


def _trusted_packages() -> frozenset[str]:
    """Top-level packages of drupe and of every installed drupe plugin.

    Their classes may be called from config (``drupe.dispatch.MethodDispatcher()``): the
    operator installed that code to be used this way.
    """
    from drupe._registry import registry

    packages = {"drupe", "cherrypy"}
    for group in ("drupe.tools", "drupe.toolboxes", "drupe.dispatchers", "drupe.sessions",
                  "drupe.servers", "drupe.engine", "drupe.plugins", "drupe.compat"):
        for info in registry.info(group):
            packages.add(info.value.split(":", 1)[0].split(".", 1)[0].strip())
    return frozenset(packages)


def _check_callable(func: Any, label: str) -> None:
    """Allow a call only to a known-harmless constructor (see the module docstring)."""
    if any(func is safe for safe in _SAFE_BUILTINS.values()):
        return
    if getattr(func, "_drupe_config_callable", False):
        return
    module = getattr(func, "__module__", None) or ""
    qualified = f"{module}.{getattr(func, '__qualname__', '')}"
    if qualified in _STDLIB_ALLOWED or (
        # Pure path classes are defined in pathlib's private submodules on newer Pythons.
        module.startswith("pathlib") and qualified.rsplit(".", 1)[-1] in {
            "Path", "PurePath", "PurePosixPath", "PureWindowsPath", "PosixPath"}
    ):
        return
    package = module.split(".", 1)[0]
    if isinstance(func, type) and package in _trusted_packages():
        return
    raise UnsafeConfigValue(
        f"calling {label} is not allowed in config. Config may call classes from drupe and "
        "its installed plugins, a few value constructors (datetime.timedelta, re.compile, "
        "pathlib.Path, os.path.join, ...) and anything marked with drupe.config_callable; mark your own "
        "class or function with @drupe.config_callable to allow it"
    )


class _Evaluator:
    def __init__(self, source: str) -> None:
        self.source = source

    def eval(self, node: ast.AST) -> Any:
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            raise UnsafeConfigValue(f"{type(node).__name__} expressions are not allowed in config")
        return method(node)

    def visit_Expression(self, node: ast.Expression) -> Any:
        return self.eval(node.body)

    def visit_Constant(self, node: ast.Constant) -> Any:
        return node.value

    def visit_Tuple(self, node: ast.Tuple) -> Any:
        return tuple(self.eval(item) for item in node.elts)

    def visit_List(self, node: ast.List) -> Any:
        return [self.eval(item) for item in node.elts]

    def visit_Set(self, node: ast.Set) -> Any:
        return {self.eval(item) for item in node.elts}

    def visit_Dict(self, node: ast.Dict) -> Any:
        result: dict[Any, Any] = {}
        for key, value in zip(node.keys, node.values, strict=True):
            if key is None:
                expanded = self.eval(value)
                if not isinstance(expanded, Mapping):
                    raise UnsafeConfigValue("** in a dict needs a mapping")
                result.update(expanded)
            else:
                result[self.eval(key)] = self.eval(value)
        return result

    def visit_Name(self, node: ast.Name) -> Any:
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        if node.id in _SAFE_BUILTINS:
            return _SAFE_BUILTINS[node.id]
        try:
            return _resolve_dotted(node.id)
        except UnsafeConfigValue:
            raise UnsafeConfigValue(
                f"{node.id!r} is not a value: quote strings (\"{node.id}\"), or name an "
                "importable object"
            )

    def _import(self, node: ast.Call) -> Any:
        """``__import__("package.module", globals(), locals(), [...])``, as CherryPy's config
        files write an importable name: the module, imported like any dotted name here.
        Only a literal module name and the usual ignored arguments are accepted."""
        args = node.args
        if node.keywords or not args or not (
                isinstance(args[0], ast.Constant) and isinstance(args[0].value, str)):
            raise UnsafeConfigValue("__import__ takes a module name as a quoted string")
        for extra in args[1:]:
            ignorable = (
                isinstance(extra, ast.Call) and isinstance(extra.func, ast.Name)
                and extra.func.id in ("globals", "locals") and not extra.args
            ) or isinstance(extra, (ast.List, ast.Tuple, ast.Constant))
            if not ignorable:
                raise UnsafeConfigValue("__import__'s other arguments can only be globals(), "
                                        "locals(), a list of names and a level")
        return _resolve_dotted(args[0].value)

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        if node.attr.startswith("__"):
            raise UnsafeConfigValue(f"attribute {node.attr!r} is not allowed in config")
        dotted = _dotted_name(node)
        if dotted is not None and dotted.split(".")[0] not in _SAFE_BUILTINS:
            return _resolve_dotted(dotted)
        value = self.eval(node.value)
        try:
            return getattr(value, node.attr)
        except AttributeError:
            raise UnsafeConfigValue(f"{type(value).__name__} has no attribute {node.attr!r}")

    def visit_Call(self, node: ast.Call) -> Any:
        if isinstance(node.func, ast.Name) and node.func.id == "__import__":
            return self._import(node)
        func = self.eval(node.func)
        label = _dotted_name(node.func) or repr(func)
        _check_callable(func, label)
        args: list[Any] = []
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                args.extend(self.eval(arg.value))
            else:
                args.append(self.eval(arg))
        # A keyword written out (``dict(foo=1, **defaults)``) wins over the same key coming
        # from a ``**`` mapping, wherever each stands: config files use ``**`` for defaults.
        kwargs: dict[str, Any] = {}
        explicit: set[str] = set()
        for keyword in node.keywords:
            value = self.eval(keyword.value)
            if keyword.arg is None:
                if not isinstance(value, Mapping):
                    raise UnsafeConfigValue("** in a call needs a mapping")
                for key, item in value.items():
                    if key not in explicit:
                        kwargs[key] = item
            else:
                kwargs[keyword.arg] = value
                explicit.add(keyword.arg)
        return func(*args, **kwargs)

    def visit_Subscript(self, node: ast.Subscript) -> Any:
        value = self.eval(node.value)
        index = self.eval(node.slice)
        return value[index]

    def visit_Slice(self, node: ast.Slice) -> Any:
        return slice(
            self.eval(node.lower) if node.lower else None,
            self.eval(node.upper) if node.upper else None,
            self.eval(node.step) if node.step else None,
        )

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Any:
        operand = self.eval(node.operand)
        if isinstance(node.op, ast.USub):
            return -operand
        if isinstance(node.op, ast.UAdd):
            return +operand
        if isinstance(node.op, ast.Not):
            return not operand
        raise UnsafeConfigValue(f"the {type(node.op).__name__} operator is not allowed in config")

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        left = self.eval(node.left)
        right = self.eval(node.right)
        op = node.op
        numbers = (int, float, complex)
        if isinstance(op, ast.Add):
            if isinstance(left, (str, bytes, list, tuple)) and len(left) + len(right) > _MAX_SEQUENCE:
                raise UnsafeConfigValue("result too large")
            return left + right
        if isinstance(op, ast.Sub):
            return left - right
        if isinstance(op, ast.Mult):
            for seq, count in ((left, right), (right, left)):
                sized = isinstance(seq, (str, bytes, list, tuple)) and isinstance(count, int)
                if sized and len(seq) * count > _MAX_SEQUENCE:
                    raise UnsafeConfigValue("result too large")
            return left * right
        if isinstance(op, (ast.Div, ast.FloorDiv, ast.Mod)):
            if not (isinstance(left, numbers) and isinstance(right, numbers)):
                raise UnsafeConfigValue("/, // and % work on numbers only in config")
            if isinstance(op, ast.Div):
                return left / right
            if isinstance(op, ast.FloorDiv):
                return left // right  # type: ignore[operator]
            return left % right  # type: ignore[operator]
        if isinstance(op, ast.Pow):
            if not (isinstance(left, numbers) and isinstance(right, numbers)):
                raise UnsafeConfigValue("** works on numbers only in config")
            if abs(right) > _MAX_EXPONENT:
                raise UnsafeConfigValue("exponent too large")
            return left**right
        raise UnsafeConfigValue(f"the {type(op).__name__} operator is not allowed in config")


def unrepr(source: str) -> Any:
    """Evaluate a config value written in Python syntax, safely (see the module docstring)."""
    if not source:
        return source
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise UnsafeConfigValue(f"{source!r} is not valid Python syntax ({exc.msg})") from None
    return _Evaluator(source).eval(tree)


def modules(modulepath: str) -> Any:
    """Import and return the module named by ``modulepath``."""
    return importlib.import_module(modulepath)


def attributes(full_attribute_name: str) -> Any:
    """The object named by a dotted path (``package.module.attr``)."""
    return _resolve_dotted(full_attribute_name)


# ---------------------------------------------------------------------------
# Files


class Parser(configparser.ConfigParser):
    """An ini parser whose option names keep their case and whose values are Python."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)

    def optionxform(self, optionstr: str) -> str:
        return optionstr

    def read(self, filenames: Any, encoding: str | None = "utf-8") -> list[str]:  # type: ignore[override]
        if isinstance(filenames, (str, os.PathLike)):
            filenames = [filenames]
        for filename in filenames:
            with open(filename, encoding=encoding) as handle:
                self.read_file(handle, source=os.fspath(filename))
        return [os.fspath(f) for f in filenames]

    def as_dict(self, raw: bool = False, vars: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Every section as a dict of evaluated values."""
        result: dict[str, Any] = {}
        source = getattr(self, "_drupe_source", "<config>")
        for section in self.sections():
            values: dict[str, Any] = {}
            for option in self.options(section):
                try:
                    text = self.get(section, option, raw=raw, vars=vars)
                except configparser.InterpolationError as exc:
                    raise ConfigError(
                        f"Config error in {source}, section [{section}], key {option!r}: "
                        f"{exc.message} (write %% for a literal %)"
                    ) from None
                try:
                    values[option] = unrepr(text)
                except Exception as exc:
                    raise ConfigError(
                        f"Config error in {source}, section [{section}], key {option!r}: "
                        f"{exc} (value: {text!r}). Config values must be Python literals, "
                        "importable names or calls of classes."
                    ) from None
            result[section] = values
        return result

    def dict_from_file(self, file: Any) -> dict[str, Any]:
        """Read a filename or an open file and return :meth:`as_dict`."""
        if hasattr(file, "read"):
            self._drupe_source = getattr(file, "name", "<file>")
            self.read_file(file)
        else:
            self._drupe_source = os.fspath(file)
            self.read(file)
        return self.as_dict()
