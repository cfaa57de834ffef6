"""Tools and toolboxes: hook points, decorators, variants, arguments and custom toolboxes."""

from __future__ import annotations

import time
from typing import Any

import pytest
from kernel_support import call, error_lines, error_text, mount

import drupe


class Root:
    @drupe.expose
    def index(self) -> str:
        return "index"

    @drupe.expose
    def fail(self) -> str:
        raise ValueError("broken page")

    @drupe.expose
    def params(self, **params: Any) -> str:
        return repr(sorted((key, str(value)) for key, value in params.items()))


def header_tool(name: str = "X-Tool", point: str = "before_finalize", priority: float = 50) -> drupe.Tool:
    def set_header(value: str = "on", extra: str | None = None) -> None:
        drupe.response.headers[name] = value if extra is None else f"{value}+{extra}"

    return drupe.Tool(point, set_header, priority=priority)


# ---------------------------------------------------------------------------
# Tool


def test_tool_attributes() -> None:
    def callback(level: int = 1, *, mode: str = "x") -> None:
        """Does things."""

    callback.priority = 30  # type: ignore[attr-defined]
    tool = drupe.Tool("before_handler", callback, name="thing", priority=70)
    assert tool.point == "before_handler"
    assert tool.name == "thing"
    assert tool.priority == 30  # the callable's own priority wins
    assert tool.__doc__ == "Does things."
    assert tool.level is None
    assert tool.mode is None
    assert "tools.thing at before_handler" in repr(tool)
    with pytest.raises(AttributeError, match="cannot be turned on directly"):
        tool.on  # noqa: B018


def test_a_tool_needs_a_real_hook_point() -> None:
    with pytest.raises(ValueError, match="'before_everything' is not a hook point"):
        drupe.Tool("before_everything", lambda: None)


def test_tool_on_from_config_with_arguments() -> None:
    drupe.tools.stamp = header_tool()
    assert drupe.tools.stamp.name == "stamp"
    mount(Root(), config={"/": {"tools.stamp.on": True, "tools.stamp.value": "config"},
                          "/params": {"tools.stamp.on": False}})
    assert call(path="/").header("X-Tool") == "config"
    assert call(path="/params").header("X-Tool") is None


def test_tool_as_a_decorator() -> None:
    drupe.tools.stamp = header_tool()

    class App:
        @drupe.expose
        @drupe.tools.stamp(value="decorated", extra="more")
        def index(self) -> str:
            return "x"

    assert App.index._cp_config == {  # type: ignore[attr-defined]
        "tools.stamp.on": True, "tools.stamp.value": "decorated", "tools.stamp.extra": "more"}
    mount(App())
    assert call(path="/").header("X-Tool") == "decorated+more"
    with pytest.raises(TypeError, match="positional arguments"):
        drupe.tools.stamp("positional")


def test_a_decorated_class_turns_the_tool_on_below_it() -> None:
    drupe.tools.stamp = header_tool()

    @drupe.tools.stamp(value="class")
    class Section:
        @drupe.expose
        def index(self) -> str:
            return "section"

    class App:
        section = Section()

        @drupe.expose
        def index(self) -> str:
            return "root"

    mount(App())
    assert call(path="/section/").header("X-Tool") == "class"
    assert call(path="/").header("X-Tool") is None


def test_tool_priority_from_config_reorders_tools() -> None:
    order: list[str] = []
    drupe.tools.first = drupe.Tool("before_handler", lambda: order.append("first"), priority=10)
    drupe.tools.second = drupe.Tool("before_handler", lambda: order.append("second"), priority=20)
    mount(Root(), config={"/": {"tools.first.on": True, "tools.second.on": True},
                          "/params": {"tools.first.priority": 90}})
    call(path="/")
    assert order == ["first", "second"]
    order.clear()
    call(path="/params")
    assert order == ["second", "first"]


def test_user_manager_tool_rewrites_params() -> None:
    users = {7: "Ada"}

    class UserManager(drupe.Tool):
        def __init__(self) -> None:
            super().__init__("before_handler", self.load, priority=10)

        def load(self) -> None:
            request = drupe.request
            user_id = request.params.pop("user_id")
            request.params["user"] = users[int(user_id)]

    drupe.tools.user = UserManager()

    class App:
        @drupe.expose
        @drupe.tools.user()
        def index(self, user: str) -> str:
            return f"hello {user}"

    mount(App())
    assert call(path="/?user_id=7").text == "hello Ada"


# ---------------------------------------------------------------------------
# Argument checking


def test_a_misspelled_tool_argument_fails_with_the_closest_name() -> None:
    drupe.tools.stamp = header_tool()
    drupe.server.unsubscribe()
    mount(Root(), config={"/": {"tools.stamp.on": True, "tools.stamp.valeu": "typo"}})
    with pytest.raises(drupe.ConfigError) as info:
        drupe.engine.start()
    message = str(info.value)
    assert "'tools.stamp.valeu'" in message
    assert "Did you mean 'value'?" in message
    assert "Its arguments: value, extra" in message


def test_a_misspelled_tool_argument_is_a_500_at_request_time(
        drupe_logs: pytest.LogCaptureFixture) -> None:
    drupe.tools.stamp = header_tool()
    mount(Root(), config={"/": {"tools.stamp.on": True, "tools.stamp.valeu": "typo"}})
    result = call(path="/")
    assert result.code == 500
    assert "Did you mean 'value'?" in error_text(drupe_logs)
    assert "Did you mean 'value'?" in result.text  # show_tracebacks is on


def test_a_tool_taking_kwargs_accepts_any_argument() -> None:
    seen: dict[str, Any] = {}
    drupe.tools.anything = drupe.Tool("before_handler", lambda **kw: seen.update(kw))
    mount(Root(), config={"/": {"tools.anything.on": True, "tools.anything.whatever": 1}})
    assert call(path="/").code == 200
    assert seen == {"whatever": 1}


def test_tool_keys_need_an_argument_part() -> None:
    drupe.tools.stamp = header_tool()
    drupe.server.unsubscribe()
    mount(Root(), config={"/": {"tools.stamp": True}})
    with pytest.raises(drupe.ConfigError, match=r"tool keys look like 'tools.<tool>.<argument>'"):
        drupe.engine.start()


# ---------------------------------------------------------------------------
# HandlerTool, HandlerWrapperTool, ErrorTool


def answer_if(flag: str = "", body: str = "answered") -> bool:
    if drupe.request.params.get(flag):
        drupe.response.body = body
        return True
    return False


def test_handler_tool_answers_instead_of_the_handler() -> None:
    called: list[str] = []

    class App:
        @drupe.expose
        def index(self, **params: Any) -> str:
            called.append("handler")
            return "handler"

    drupe.tools.shortcut = drupe.HandlerTool(answer_if)
    assert drupe.tools.shortcut.point == "before_handler"
    mount(App(), config={"/": {"tools.shortcut.on": True, "tools.shortcut.flag": "short"}})
    assert call(path="/?short=1").text == "answered"
    assert called == []
    assert call(path="/?other=1").text == "handler"
    assert called == ["handler"]


def test_handler_tool_as_a_page_handler() -> None:
    tool = drupe.HandlerTool(answer_if, name="shortcut")

    class App:
        page = tool.handler(flag="go", body="from the tool")

    mount(App())
    assert call(path="/page?go=1").text == "from the tool"
    assert call(path="/page").code == 404


def test_handler_wrapper_tool() -> None:
    def shout(inner: Any, *args: Any, **kwargs: Any) -> str:
        return inner(*args, **kwargs).upper() + "!"

    drupe.tools.shout = drupe.HandlerWrapperTool(shout)
    mount(Root(), config={"/": {"tools.shout.on": True}})
    assert call(path="/").text == "INDEX!"
    assert call(path="/params?a=b").text == "[('A', 'B')]!"


def test_error_tool_replaces_the_error_response() -> None:
    def apologise(message: str = "sorry") -> None:
        drupe.response.status = 503
        drupe.response.body = message

    drupe.tools.apology = drupe.ErrorTool(apologise)
    mount(Root(), config={"/": {"tools.apology.on": True, "tools.apology.message": "we broke"}})
    result = call(path="/fail")
    assert result.code == 503
    assert result.text == "we broke"
    assert call(path="/").text == "index"


# ---------------------------------------------------------------------------
# Stateful tools and per-request setup


class TimingTool(drupe.Tool):
    """The documentation's stateful tool: a second hook attached in _setup."""

    durations: list[float] = []

    def __init__(self) -> None:
        super().__init__("before_handler", self.start_timer, priority=95)

    def _setup(self) -> None:
        super()._setup()
        drupe.request.hooks.attach("before_finalize", self.end_timer, priority=5)

    def start_timer(self) -> None:
        drupe.request._time = time.time()

    def end_timer(self) -> None:
        duration = time.time() - drupe.request._time
        TimingTool.durations.append(duration)
        drupe.log(f"Page handler took {duration:.4f}")


def test_timing_tool(drupe_logs: pytest.LogCaptureFixture) -> None:
    TimingTool.durations = []
    drupe.tools.timeit = TimingTool()

    class App:
        @drupe.expose
        @drupe.tools.timeit()
        def index(self) -> str:
            time.sleep(0.01)
            return "hello world"

    app = mount(App())
    assert call(path="/").text == "hello world"
    assert call(path="/").text == "hello world"
    assert len(TimingTool.durations) == 2
    assert all(duration >= 0.01 for duration in TimingTool.durations)
    assert sum("Page handler took" in line for line in error_lines(drupe_logs)) == 2
    # Both hooks sit in the path's plan.
    plan = app._plans["/"]
    described = plan.describe()
    assert (95, f"{__name__}.TimingTool.start_timer") in described["before_handler"]
    assert (5, f"{__name__}.TimingTool.end_timer") in described["before_finalize"]


class ModeTool(drupe.Tool):
    """A tool whose _setup depends on the request: the kernel must not freeze it."""

    setups = 0

    def __init__(self) -> None:
        super().__init__("before_finalize", self.mark)

    def _setup(self) -> None:
        ModeTool.setups += 1
        if drupe.request.headers.get("X-Mode") == "loud":
            drupe.request.hooks.attach("before_finalize", self.mark, value="LOUD")
        else:
            drupe.request.hooks.attach("before_finalize", self.mark, value="quiet")

    def mark(self, value: str = "") -> None:
        drupe.response.headers["X-Mode"] = value


def test_a_tool_setup_reading_request_data_runs_per_request() -> None:
    ModeTool.setups = 0
    drupe.tools.mode = ModeTool()
    app = mount(Root(), config={"/": {"tools.mode.on": True}})
    assert call(path="/", headers=[("X-Mode", "loud")]).header("X-Mode") == "LOUD"
    assert call(path="/").header("X-Mode") == "quiet"
    assert call(path="/", headers=[("X-Mode", "loud")]).header("X-Mode") == "LOUD"
    plan = app._plans["/"]
    assert drupe.tools.mode in plan.dynamic_tools
    assert ModeTool.setups >= 3


def test_a_tool_can_declare_itself_per_request() -> None:
    class Counting(drupe.Tool):
        _setup_per_request = True
        setups = 0

        def _setup(self) -> None:
            Counting.setups += 1
            super()._setup()

    drupe.tools.counting = Counting("before_handler", lambda: None)
    mount(Root(), config={"/": {"tools.counting.on": True}})
    for _ in range(3):
        call(path="/")
    assert Counting.setups == 3


def test_a_plain_tool_is_set_up_once_per_path() -> None:
    class Counting(drupe.Tool):
        setups = 0

        def _setup(self) -> None:
            Counting.setups += 1
            super()._setup()

    drupe.tools.counting = Counting("before_handler", lambda: None)
    mount(Root(), config={"/": {"tools.counting.on": True}})
    for _ in range(3):
        call(path="/")
    assert Counting.setups == 1


def test_a_tool_setting_a_request_attribute_in_setup() -> None:
    class Configures(drupe.Tool):
        def _setup(self) -> None:
            drupe.request.show_tracebacks = False
            super()._setup()

    drupe.tools.quiet = Configures("before_handler", lambda: None)
    mount(Root(), config={"/": {"tools.quiet.on": True}})
    result = call(path="/fail")
    assert result.code == 500
    assert "Traceback" not in result.text


# ---------------------------------------------------------------------------
# Toolboxes


def test_toolbox_register_decorator() -> None:
    box = drupe.Toolbox("boxone")

    @box.register("before_finalize", priority=20)
    def decorate(text: str = "x") -> None:
        drupe.response.headers["X-Box"] = text

    assert callable(decorate)
    assert decorate.__name__ == "decorate"  # register returns the function itself
    assert isinstance(box.decorate, drupe.Tool)  # type: ignore[attr-defined]
    assert box.decorate.namespace == "boxone"  # type: ignore[attr-defined]
    assert box.decorate.priority == 20  # type: ignore[attr-defined]

    @box.register("before_finalize", name="renamed")
    def other() -> None:
        drupe.response.headers["X-Renamed"] = "1"

    assert box.tool_names() == ["decorate", "renamed"]
    mount(Root(), config={"/": {"boxone.decorate.on": True, "boxone.decorate.text": "y",
                                "boxone.renamed.on": True}})
    result = call(path="/")
    assert result.header("X-Box") == "y"
    assert result.header("X-Renamed") == "1"


def test_the_newauth_toolbox_from_the_documentation() -> None:
    newauthtools = drupe._cptools.Toolbox("newauth")  # type: ignore[attr-defined]

    @newauthtools.register("before_request_body")
    def check_access(default: bool = False) -> None:
        if not getattr(drupe.request, "userid", default):
            raise drupe.HTTPError(401)

    class App:
        @drupe.expose
        def default(self, *args: str) -> str:
            return "Hello"

    conf = {
        "/demo": {
            "newauth.check_access.on": True,
            "newauth.check_access.default": True,
        },
        "/locked": {"newauth.check_access.on": True},
    }
    app = drupe.tree.mount(App(), config=conf)
    app.toolboxes["newauth"] = newauthtools
    assert call(path="/demo").text == "Hello"
    assert call(path="/locked").code == 401
    assert call(path="/open").text == "Hello"


def test_toolbox_tools_as_decorators() -> None:
    box = drupe.Toolbox("boxtwo")
    box.stamp = header_tool("X-Two")  # type: ignore[attr-defined]

    class App:
        @drupe.expose
        @box.stamp(value="two")  # type: ignore[attr-defined]
        def index(self) -> str:
            return "x"

    assert App.index._cp_config == {"boxtwo.stamp.on": True,  # type: ignore[attr-defined]
                                    "boxtwo.stamp.value": "two"}
    mount(App())
    assert call(path="/").header("X-Two") == "two"


def test_unknown_tool_in_a_toolbox() -> None:
    box = drupe.Toolbox("boxthree")
    box.stamp = header_tool()  # type: ignore[attr-defined]
    with pytest.raises(drupe.ConfigError) as info:
        box.get_tool("stmap", key="boxthree.stmap.on")
    assert "'boxthree.stmap.on'" in str(info.value)
    assert "Did you mean 'stamp'?" in str(info.value)
    assert "Its tools: stamp" in str(info.value)


def test_toolbox_namespace_must_be_a_name() -> None:
    for bad in ("", "a.b"):
        with pytest.raises(ValueError, match="namespace"):
            drupe.Toolbox(bad)


def test_an_app_toolbox_takes_precedence_over_a_global_one() -> None:
    global_box = drupe.Toolbox("shared")
    global_box.stamp = header_tool("X-Global")  # type: ignore[attr-defined]
    app_box = drupe.Toolbox("shared_app_copy")
    app_box.stamp = header_tool("X-App")  # type: ignore[attr-defined]
    app = mount(Root(), config={"/": {"shared.stamp.on": True}})
    assert call(path="/").header("X-Global") == "on"
    app.toolboxes["shared"] = app_box
    result = call(path="/")
    assert result.header("X-App") == "on"
    assert result.header("X-Global") is None


def test_changing_a_toolbox_rebuilds_plans() -> None:
    drupe.tools.swap = header_tool("X-Version")
    mount(Root(), config={"/": {"tools.swap.on": True, "tools.swap.value": "v"}})
    assert call(path="/").header("X-Version") == "v"
    drupe.tools.swap = header_tool("X-Replaced")
    result = call(path="/")
    assert result.header("X-Replaced") == "v"
    assert result.header("X-Version") is None


def test_cptools_facade_exposes_the_kernel_classes() -> None:
    from drupe import _cptools

    assert _cptools.Tool is drupe.Tool
    assert _cptools.HandlerTool is drupe.HandlerTool
    assert _cptools.HandlerWrapperTool is drupe.HandlerWrapperTool
    assert _cptools.ErrorTool is drupe.ErrorTool
    assert _cptools.Toolbox is drupe.Toolbox
