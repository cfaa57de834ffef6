"""Configuration: scopes, files, environments, namespaces and safe value evaluation."""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kernel_support import call, mount

import drupe
from drupe._config import unrepr
from drupe._configfile import UnsafeConfigValue


class Root:
    @drupe.expose
    def index(self) -> str:
        return "index"

    @drupe.expose
    def show(self, key: str) -> str:
        return repr(drupe.request.config.get(key))

    @drupe.expose
    def appdata(self, section: str, key: str) -> str:
        return repr(drupe.request.app.config[section][key])


def write(tmp_path: Path, text: str, name: str = "site.conf") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------
# Global config


def test_update_with_a_dict_and_keywords() -> None:
    drupe.config.update({"request.show_tracebacks": False}, **{"response.timeout": 30})
    assert drupe.config["request.show_tracebacks"] is False
    assert drupe.config["response.timeout"] == 30


def test_global_section_of_a_dict_is_unwrapped() -> None:
    drupe.config.update({"global": {"request.show_tracebacks": False}, "other": {"x": 1}})
    assert drupe.config["request.show_tracebacks"] is False
    assert "global" not in drupe.config
    assert "other" not in drupe.config


def test_update_from_a_file_by_name_and_path(tmp_path: Path) -> None:
    path = write(tmp_path, """
[global]
server.socket_port = 8123
request.show_tracebacks = False
log.screen = False

[Databases]
driver = "sqlite"
""")
    drupe.config.update(str(path))
    assert drupe.server.socket_port == 8123
    assert drupe.config["request.show_tracebacks"] is False
    assert "driver" not in drupe.config
    drupe.reset()
    drupe.config.update(path)
    assert drupe.server.socket_port == 8123


def test_update_from_an_open_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[global]\nresponse.timeout = 60 * 60\n")
    with open(path, encoding="utf-8") as handle:
        drupe.config.update(handle)
    assert drupe.config["response.timeout"] == 3600
    drupe.config.update(io.StringIO("[global]\nresponse.timeout = 5\n"))
    assert drupe.config["response.timeout"] == 5


def test_missing_file_and_bad_types_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(drupe.ConfigError, match="does not exist"):
        drupe.config.update(str(tmp_path / "nope.conf"))
    with pytest.raises(drupe.ConfigError, match="not int"):
        drupe.config.update(42)


def test_reset_returns_to_the_defaults() -> None:
    drupe.config.update({"request.show_tracebacks": False})
    drupe.config.reset()
    assert "request.show_tracebacks" not in drupe.config
    assert dict(drupe.config) == drupe.config.defaults


def test_config_constructor_takes_a_file_and_keywords(tmp_path: Path) -> None:
    path = write(tmp_path, "[global]\nresponse.timeout = 12\n")
    config = drupe.Config(str(path), **{"response.stream": True})
    assert config["response.timeout"] == 12
    assert config["response.stream"] is True
    assert config.copy() == {"response.timeout": 12, "response.stream": True}


def test_global_config_reaches_every_request() -> None:
    mount(Root())
    drupe.config.update({"response.headers.X-Site": "global"})
    assert call(path="/").header("X-Site") == "global"


# ---------------------------------------------------------------------------
# Application config


def test_app_config_from_a_file_keeps_other_sections_as_data(tmp_path: Path) -> None:
    path = write(tmp_path, """
[/]
response.headers.X-Root = "yes"

[/show]
custom.answer = 6 * 7

[Databases]
driver = "postgres"
port = 5432
""", name="app.conf")
    drupe.config.update({"custom.answer": None})
    drupe.config.namespaces["custom"] = lambda key, value: None
    app = drupe.tree.mount(Root(), "", str(path))
    assert app.config["Databases"] == {"driver": "postgres", "port": 5432}
    result = call(path="/appdata?section=Databases&key=port")
    assert result.text == "5432"
    assert result.header("X-Root") == "yes"
    assert call(path="/show?key=custom.answer").text == "42"


def test_app_config_sections_merge_by_path() -> None:
    app = mount(Root(), config={"/": {"response.headers.X-A": "root"},
                                "/show": {"response.headers.X-B": "show"}})
    app.merge({"/show": {"response.headers.X-A": "overridden"}})
    result = call(path="/show?key=x")
    assert result.header("X-A") == "overridden"
    assert result.header("X-B") == "show"
    assert call(path="/").header("X-B") is None


def test_app_config_must_have_sections() -> None:
    with pytest.raises(drupe.ConfigError, match="must include section headers"):
        drupe.tree.mount(Root(), "", {"request.show_tracebacks": False})


def test_handler_config_beats_app_config_beats_global() -> None:
    class App:
        @drupe.expose
        @drupe.config(**{"response.headers.X-Level": "handler"})
        def handler(self) -> str:
            return "h"

        @drupe.expose
        def plain(self) -> str:
            return "p"

    drupe.config.update({"response.headers.X-Level": "global"})
    mount(App(), config={"/": {"response.headers.X-Level": "app"}})
    assert call(path="/handler").header("X-Level") == "handler"
    assert call(path="/plain").header("X-Level") == "app"


def test_config_decorator_forms() -> None:
    @drupe.config(**{"a.b": 1})
    @drupe.config({"c.d": 2}, **{"e.f": 3})
    def handler() -> None:
        return None

    assert handler._cp_config == {"c.d": 2, "e.f": 3, "a.b": 1}  # type: ignore[attr-defined]

    @drupe.config(**{"x.y": True})
    class Node:
        pass

    assert Node._cp_config == {"x.y": True}  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        drupe.config("positional", "args")


def test_config_decorator_does_not_share_a_parent_class_dict() -> None:
    @drupe.config(**{"a.b": 1})
    class Base:
        pass

    @drupe.config(**{"c.d": 2})
    class Child(Base):
        pass

    assert Base._cp_config == {"a.b": 1}  # type: ignore[attr-defined]
    assert Child._cp_config == {"c.d": 2}  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------
# Environments


def test_production_environment() -> None:
    drupe.config.update({"environment": "production"})
    assert drupe.config["request.show_tracebacks"] is False
    assert drupe.config["checker.on"] is False
    assert drupe.log.screen is False
    assert drupe.checker.on is False


def test_explicit_keys_win_over_the_environment() -> None:
    drupe.config.update({"environment": "production", "request.show_tracebacks": True})
    assert drupe.config["request.show_tracebacks"] is True


def test_environments_in_a_config_file(tmp_path: Path) -> None:
    drupe.config.update(write(tmp_path, "[global]\nenvironment = 'test_suite'\n"))
    assert drupe.config["request.show_mismatched_params"] is True


def test_a_custom_environment() -> None:
    drupe._cpconfig.environments["Greek"] = {  # type: ignore[attr-defined]
        "response.headers.Content-Language": "el",
        "request.show_tracebacks": False,
    }
    drupe._cpconfig.environments["staging"]["response.timeout"] = 99  # type: ignore[attr-defined]
    drupe.config.update({"environment": "Greek"})
    mount(Root())
    assert call(path="/").header("Content-Language") == "el"
    drupe.config.update({"environment": "staging"})
    assert drupe.config["response.timeout"] == 99
    assert drupe.config.environments is drupe._cpconfig.environments  # type: ignore[attr-defined]


def test_unknown_environment() -> None:
    with pytest.raises(drupe.ConfigError) as info:
        drupe.config.update({"environment": "prodution"})
    assert "'prodution'" in str(info.value)
    assert "production" in str(info.value)


# ---------------------------------------------------------------------------
# Custom namespaces


def test_custom_global_namespace() -> None:
    calls: list[tuple[str, Any]] = []
    drupe.config.namespaces["db"] = lambda key, value: calls.append((key, value))
    drupe.config.update({"db.connstring": "Oracle:host=1.10.100.200", "other.key": 1})
    assert calls == [("connstring", "Oracle:host=1.10.100.200")]


def test_custom_global_namespace_as_a_context_manager() -> None:
    events: list[Any] = []

    class Collector:
        def __enter__(self) -> Callable[[str, Any], None]:
            events.append("enter")
            return lambda key, value: events.append((key, value))

        def __exit__(self, *exc: object) -> None:
            events.append("exit")

    drupe.config.namespaces["pool"] = Collector()
    drupe.config.update({"pool.size": 5, "pool.timeout": 2})
    assert events == ["enter", ("size", 5), ("timeout", 2), "exit"]


def test_context_manager_namespace_sees_the_error() -> None:
    seen: list[Any] = []

    @contextlib.contextmanager
    def strict() -> Iterator[Callable[[str, Any], None]]:
        def apply(key: str, value: Any) -> None:
            if value is None:
                raise ValueError(f"{key} needs a value")

        try:
            yield apply
        except ValueError as exc:
            seen.append(str(exc))
            raise

    class Handler:
        def __enter__(self) -> Any:
            self.cm = strict()
            return self.cm.__enter__()

        def __exit__(self, *exc: Any) -> Any:
            return self.cm.__exit__(*exc)

    drupe.config.namespaces["strict"] = Handler()
    with pytest.raises(ValueError, match="size needs a value"):
        drupe.config.update({"strict.size": None})
    assert seen == ["size needs a value"]


def test_custom_app_namespace_runs_at_merge() -> None:
    calls: list[tuple[str, Any]] = []
    app = drupe.Application(Root(), "")
    app.namespaces["myapp"] = lambda key, value: calls.append((key, value))
    app.merge({"/": {"myapp.greeting": "hello"}, "/show": {"myapp.ignored": 1}})
    drupe.tree.mount(app)
    assert calls == [("greeting", "hello")]
    # An app namespace is known: it does not make requests fail.
    assert call(path="/").text == "index"


def test_custom_request_namespace_runs_on_each_request() -> None:
    seen: list[tuple[str, Any, str]] = []

    def handler(key: str, value: Any) -> None:
        request = drupe.request
        seen.append((key, value, request.path_info))
        drupe.response.headers["X-" + key] = str(value)

    drupe.Request.namespaces["trace"] = handler
    mount(Root(), config={"/": {"trace.level": 1}, "/show": {"trace.level": 2}})
    assert call(path="/").header("X-level") == "1"
    assert call(path="/").header("X-level") == "1"
    assert call(path="/show?key=trace.level").text == "2"
    assert seen == [("level", 1, "/"), ("level", 1, "/"), ("level", 2, "/show")]


def test_custom_request_namespace_as_a_context_manager() -> None:
    events: list[Any] = []

    class Tracer:
        def __enter__(self) -> Callable[[str, Any], None]:
            events.append("enter")
            return lambda key, value: events.append(key)

        def __exit__(self, *exc: object) -> None:
            events.append("exit")
            drupe.response.headers["X-Traced"] = str(len(events))

    drupe.Request.namespaces["tracer"] = Tracer()
    mount(Root(), config={"/": {"tracer.a": 1, "tracer.b": 2}})
    assert call(path="/").header("X-Traced") == "4"
    assert events == ["enter", "a", "b", "exit"]


# ---------------------------------------------------------------------------
# unrepr: the safe evaluator


@pytest.mark.parametrize(("source", "expected"), [
    ("42", 42),
    ("-3.5", -3.5),
    ("'text'", "text"),
    ('"double"', "double"),
    ("b'raw'", b"raw"),
    ("None", None),
    ("True", True),
    ("False", False),
    ("[1, 'two', 3.0]", [1, "two", 3.0]),
    ("(1,)", (1,)),
    ("{'a': 1, 'b': [2]}", {"a": 1, "b": [2]}),
    ("{1, 2}", {1, 2}),
    ("{**{'a': 1}, 'b': 2}", {"a": 1, "b": 2}),
    ("60 * 60", 3600),
    ("1024 ** 2", 1048576),
    ("100 * 1024 * 1024", 104857600),
    ("7 // 2", 3),
    ("7 % 4", 3),
    ("1 / 4", 0.25),
    ("10 - 20", -10),
    ("'a' + 'b'", "ab"),
    ("[0] * 3", [0, 0, 0]),
    ("not False", True),
    ("(1, 2, 3)[1]", 2),
    ("'abc'[1:]", "bc"),
    ("logging.WARNING", logging.WARNING),
    ("os.path.sep", "/"),
    ("dict(a=1)", {"a": 1}),
    ("tuple([1, 2])", (1, 2)),
    ("range(3)", range(3)),
    ("set()", set()),
])
def test_unrepr_values(source: str, expected: Any) -> None:
    assert unrepr(source) == expected


def test_unrepr_names_importable_objects() -> None:
    assert unrepr("drupe.Tool") is drupe.Tool
    assert unrepr("logging.handlers.RotatingFileHandler").__name__ == "RotatingFileHandler"
    assert unrepr("") == ""


def test_unrepr_calls_classes() -> None:
    from drupe_dispatch_objecttree import Dispatcher

    assert isinstance(unrepr("drupe.dispatch.Dispatcher()"), Dispatcher)
    instance = unrepr("collections.OrderedDict([('a', 1)], b=2)")
    assert list(instance.items()) == [("a", 1), ("b", 2)]
    assert unrepr("fractions.Fraction(*[1, 3])") == unrepr("fractions.Fraction(1, 3)")
    assert unrepr("datetime.timedelta(**{'hours': 1})").total_seconds() == 3600


def test_unrepr_calls_marked_callables() -> None:
    import sys
    import types

    module = types.ModuleType("marked_callables_for_test")

    @drupe.config_callable
    def connect(url: str) -> str:
        return "connected:" + url

    def unmarked(url: str) -> str:
        return url

    module.connect = connect  # type: ignore[attr-defined]
    module.unmarked = unmarked  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    try:
        assert unrepr("marked_callables_for_test.connect('db')") == "connected:db"
        with pytest.raises(UnsafeConfigValue, match="mark your own class or function"):
            unrepr("marked_callables_for_test.unmarked('db')")
    finally:
        del sys.modules[module.__name__]


@pytest.mark.parametrize(("source", "message"), [
    ("os.system('echo owned')", "calling os.system is not allowed"),
    ("eval('1 + 1')", "'eval' is not a value"),
    ("exec('x = 1')", "'exec' is not a value"),
    ("__import__(name)", "takes a module name as a quoted string"),
    ("__import__('os', open('/etc/passwd'))", "other arguments can only be"),
    ("__import__('os', level=0)", "takes a module name as a quoted string"),
    ("open('/etc/passwd')", "'open' is not a value"),
    ("builtins.open('/etc/passwd')", "calling builtins.open is not allowed"),
    ("().__class__", "attribute '__class__' is not allowed"),
    ("os.__dict__", "attribute '__dict__' is not allowed"),
    ("''.__class__.__mro__", "is not allowed"),
    ("subprocess.Popen(['true'])", "calling subprocess.Popen is not allowed"),
    ("threading.Thread()", "calling threading.Thread is not allowed"),
    ("socket.socket()", "calling socket.socket is not allowed"),
    ("io.FileIO('/tmp/x', 'w')", "calling io.FileIO is not allowed"),
    ("zipfile.ZipFile('/tmp/x.zip', 'w')", "calling zipfile.ZipFile is not allowed"),
    ("logging.FileHandler('/tmp/x.log')", "calling logging.FileHandler is not allowed"),
    ("len('abc')", "'len' is not a value"),
    ("str.format('{0}', 1)", "calling str.format is not allowed"),
    ("'{}'.format(1)", "is not allowed"),
    ("time.sleep(100)", "calling time.sleep is not allowed"),
    ("2 ** 100000", "exponent too large"),
    ("'a' * 10 ** 9", "result too large"),
    ("[0] * 10 ** 7", "result too large"),
    ("10 ** 6 * 'ab'", "result too large"),
    ("lambda: 1", "Lambda expressions are not allowed"),
    ("[x for x in range(3)]", "ListComp expressions are not allowed"),
    ("(x := 1)", "NamedExpr expressions are not allowed"),
    ("a if True else b", "IfExp expressions are not allowed"),
    ("unquoted words", "not valid Python syntax"),
    ("some_bare_word", "quote strings"),
    ("'a' / 2", "work on numbers only"),
])
def test_unrepr_refusals(source: str, message: str) -> None:
    with pytest.raises(UnsafeConfigValue) as info:
        unrepr(source)
    assert message in str(info.value)


def test_unrepr_dunder_import_names_a_module_as_a_dotted_name_would() -> None:
    # CherryPy's config files write importable names this way; it imports what the dotted
    # name "drupe.lib" would, and nothing else.
    import drupe.lib.httputil

    assert unrepr("__import__('drupe.lib', globals(), locals(), ['']).httputil") is drupe.lib.httputil


def test_unrepr_refusal_has_no_side_effect(tmp_path: Path) -> None:
    target = tmp_path / "created"
    with pytest.raises(UnsafeConfigValue):
        unrepr(f"os.system('touch {target}')")
    with pytest.raises(UnsafeConfigValue):
        unrepr(f"pathlib.Path('{target}').touch()")
    assert not target.exists()


def test_unrepr_cannot_write_files(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    with pytest.raises(UnsafeConfigValue):
        unrepr(f"io.FileIO({str(victim)!r}, 'w')")
    assert victim.read_text(encoding="utf-8") == "precious"


def test_unrepr_calls_plugin_classes_and_value_constructors() -> None:
    import datetime

    assert unrepr("datetime.timedelta(minutes=5)") == datetime.timedelta(minutes=5)
    assert unrepr("re.compile('a+')").pattern == "a+"
    assert str(unrepr("pathlib.Path('/srv/x')")) == "/srv/x"
    dispatcher = unrepr("drupe.dispatch.Dispatcher()")
    assert type(dispatcher).__name__ == "Dispatcher"


def test_a_refused_value_in_a_file_names_file_section_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, """
[global]
request.show_tracebacks = False

[/admin]
tools.secret.on = os.system('rm -rf /')
""")
    with pytest.raises(drupe.ConfigError) as info:
        drupe.config.update(str(path))
    message = str(info.value)
    assert str(path) in message
    assert "section [/admin]" in message
    assert "key 'tools.secret.on'" in message
    assert "os.system" in message


def test_a_syntax_error_in_a_file_names_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, "[/]\ntools.gzip.mime_types = ['text/html'\n")
    with pytest.raises(drupe.ConfigError, match=r"section \[/\], key 'tools.gzip.mime_types'"):
        drupe.tree.mount(Root(), "", str(path))


def test_configparser_interpolation(tmp_path: Path) -> None:
    path = write(tmp_path, """
[DEFAULT]
base = "/srv/app"

[/]
name = "static"
tools.custom.dir = %(base)s + "/" + %(name)s
literal = "100%%"
""")
    from drupe._config import as_dict

    parsed = as_dict(str(path))
    assert parsed["/"]["tools.custom.dir"] == "/srv/app/static"
    assert parsed["/"]["literal"] == "100%"
    assert parsed["/"]["base"] == "/srv/app"  # DEFAULT entries appear in every section


def test_bad_interpolation_names_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, "[global]\nresponse.headers.X-Discount = '50%'\n")
    with pytest.raises(drupe.ConfigError) as info:
        drupe.config.update(str(path))
    message = str(info.value)
    assert "section [global], key 'response.headers.X-Discount'" in message
    assert "%%" in message


def test_reprconf_module_exposes_the_machinery() -> None:
    from drupe.lib import reprconf

    assert reprconf.unrepr("[1]") == [1]
    assert reprconf.attributes("drupe.Tool") is drupe.Tool
    assert reprconf.modules("logging") is logging
    parser = reprconf.Parser()
    parser.read_string("[s]\nk = 1 + 1\n")
    assert parser.as_dict() == {"s": {"k": 2}}


def test_global_config_leaves_path_sections_to_the_application() -> None:
    # quickstart(root, "/", conf) gives the application's config to the global config too;
    # its path sections belong to the application and are no global namespace.
    drupe.config.update({"/favicon.ico": {"tools.staticfile.on": True}, "log.screen": False})
    assert "/favicon.ico" not in drupe.config
    assert drupe.config["log.screen"] is False
