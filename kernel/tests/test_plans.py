"""Per-path request plans: built once, reused, invalidated, bounded; dispatcher contracts."""

from __future__ import annotations

from typing import Any

import pytest
from kernel_support import call, mount

import drupe
from drupe import _plan
from drupe_dispatch_objecttree import Dispatcher


class CountingDispatcher(Dispatcher):
    """The object-tree dispatcher, counting how often the kernel asks it to resolve."""

    def __init__(self) -> None:
        super().__init__()
        self.resolved: list[str] = []

    def resolve(self, request: Any, path_info: str) -> drupe.Resolution:
        self.resolved.append(path_info)
        return super().resolve(request, path_info)


class Root:
    @drupe.expose
    def index(self) -> str:
        return "index"

    @drupe.expose
    def page(self, **params: Any) -> str:
        return repr(sorted(params.items()))

    @drupe.expose
    def default(self, *segments: str) -> str:
        return "/".join(segments)


def test_a_path_is_dispatched_once_and_its_plan_reused() -> None:
    dispatcher = CountingDispatcher()
    app = mount(Root(), config={"/": {"request.dispatch": dispatcher}})
    assert call(path="/page?a=1").text == "[('a', '1')]"
    plan = app._plans["/page"]
    assert call(path="/page?b=2").text == "[('b', '2')]"
    assert call(path="/page").text == "[]"
    assert dispatcher.resolved == ["/page"]
    assert app._plans["/page"] is plan
    call(path="/")
    assert dispatcher.resolved == ["/page", "/"]


def test_a_global_config_change_rebuilds_plans() -> None:
    dispatcher = CountingDispatcher()
    app = mount(Root(), config={"/": {"request.dispatch": dispatcher}})
    call(path="/")
    first = app._plans["/"]
    drupe.config.update({"response.headers.X-New": "1"})
    result = call(path="/")
    assert result.header("X-New") == "1"
    assert app._plans["/"] is not first
    assert dispatcher.resolved == ["/", "/"]
    drupe.config["response.headers.X-New"] = "2"  # item assignment counts too
    assert call(path="/").header("X-New") == "2"
    del drupe.config["response.headers.X-New"]
    assert call(path="/").header("X-New") is None


def test_an_app_config_change_rebuilds_plans() -> None:
    app = mount(Root())
    call(path="/")
    app.merge({"/": {"response.headers.X-Merged": "yes"}})
    assert call(path="/").header("X-Merged") == "yes"


def test_handler_config_changes_need_clear_plans() -> None:
    root = Root()
    app = mount(root)
    assert call(path="/").header("X-Late") is None
    root._cp_config = {"response.headers.X-Late": "set"}  # type: ignore[attr-defined]
    app.clear_plans()
    assert call(path="/").header("X-Late") == "set"


def test_popargs_segments_are_replayed_from_the_cache() -> None:
    @drupe.popargs("band", "album")
    class Music:
        @drupe.expose
        def index(self, band: str = "-", album: str = "-", **rest: Any) -> str:
            return f"{band}/{album} {sorted(rest.items())}"

        @drupe.expose
        def tracks(self, band: str, album: str = "-") -> str:
            return f"tracks of {band}/{album}"

    dispatcher = CountingDispatcher()
    app = mount(Music(), config={"/": {"request.dispatch": dispatcher}})
    for _ in range(2):
        assert call(path="/beatles/abbey/").text == "beatles/abbey []"
        assert call(path="/stones/").text == "stones/- []"
        assert call(path="/beatles/abbey/?x=1").text == "beatles/abbey [('x', '1')]"
    assert sorted(dispatcher.resolved) == ["/beatles/abbey/", "/stones/"]
    assert app._plans["/stones/"].params == {"band": "stones"}
    # A cached plan's params never leak into requests for other paths.
    assert call(path="/").text == "-/- []"


def test_popargs_with_a_handler_object() -> None:
    class Album:
        @drupe.expose
        def index(self, band: str, album: str) -> str:
            return f"album {album} by {band}"

    class Band:
        _cp_dispatch = drupe.popargs("band", "album", handler=Album())

    mount(Band())
    assert call(path="/queen/jazz/").text == "album jazz by queen"
    assert call(path="/queen/jazz/").text == "album jazz by queen"


def test_a_hand_written_cp_dispatch_is_not_cached() -> None:
    calls: list[list[str]] = []

    class Leaf:
        def __init__(self, name: str) -> None:
            self.name = name

        @drupe.expose
        def index(self) -> str:
            return f"leaf {self.name}"

    class Tree:
        def _cp_dispatch(self, vpath: list[str]) -> Any:
            calls.append(list(vpath))
            return Leaf(vpath.pop(0))

    dispatcher = CountingDispatcher()
    app = mount(Tree(), config={"/": {"request.dispatch": dispatcher}})
    assert call(path="/oak/").text == "leaf oak"
    assert call(path="/oak/").text == "leaf oak"
    assert len(calls) == 2
    assert "/oak/" not in app._plans
    assert dispatcher.resolved == ["/oak/", "/oak/"]


def test_the_plan_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_plan, "MAX_PLANS", 5)
    app = mount(Root())
    for index in range(12):
        assert call(path=f"/made/up/{index}").text == f"made/up/{index}"
    assert len(app._plans) == 5
    assert "/made/up/11" in app._plans
    assert "/made/up/0" not in app._plans


def test_force_lower_dispatcher_from_the_documentation() -> None:
    class StringGenerator:
        @drupe.expose
        def generate(self, length: str = "8") -> str:
            return "x" * int(length)

    class ForceLowerDispatcher(Dispatcher):
        calls = 0

        def __call__(self, path_info: str) -> None:
            ForceLowerDispatcher.calls += 1
            return Dispatcher.__call__(self, path_info.lower())

    app = mount(StringGenerator(), "/", {"/": {"request.dispatch": ForceLowerDispatcher()}})
    assert call(path="/generate?length=3").text == "xxx"
    assert call(path="/GENerAte?length=4").text == "xxxx"
    assert call(path="/GENerAte?length=4").text == "xxxx"
    assert ForceLowerDispatcher.calls == 3
    assert app._plans == {}


def test_a_plain_function_dispatcher() -> None:
    def dispatch(path_info: str) -> None:
        request = drupe.serving.request
        request.config = {**drupe.config, "response.headers.X-Dispatch": path_info}
        request.handler = lambda: f"handled {path_info}"
        request.is_index = False

    mount(Root(), config={"/": {"request.dispatch": dispatch}})
    result = call(path="/any/path")
    assert result.text == "handled /any/path"
    assert result.header("X-Dispatch") == "/any/path"


def test_a_dispatcher_that_sets_no_config_is_a_500(drupe_logs: pytest.LogCaptureFixture) -> None:
    def lazy(path_info: str) -> None:
        drupe.serving.request.handler = lambda: "x"

    mount(Root(), config={"/": {"request.dispatch": lazy}})
    assert call(path="/").code == 500
    assert "did not set request.config" in drupe_logs.text


def test_dispatcher_per_path_section() -> None:
    def special(path_info: str) -> None:
        request = drupe.serving.request
        request.config = dict(drupe.config)
        request.handler = lambda: "special"
        request.is_index = False

    mount(Root(), config={"/special": {"request.dispatch": special}})
    assert call(path="/special/thing").text == "special"
    assert call(path="/page").text == "[]"


def test_a_dispatcher_class_by_dotted_value() -> None:
    mount(Root(), config={"/": {"request.dispatch": Dispatcher}})
    assert call(path="/").text == "index"


def test_a_non_callable_dispatcher_is_a_config_error() -> None:
    drupe.server.unsubscribe()
    mount(Root(), config={"/": {"request.dispatch": 42}})
    with pytest.raises(drupe.ConfigError, match="a dispatcher must be callable"):
        drupe.engine.start()


def test_plans_hold_merged_config_and_hooks() -> None:
    def hook() -> None:
        return None

    hook.priority = 42  # type: ignore[attr-defined]
    app = mount(Root(), config={"/": {"hooks.before_handler": hook,
                                      "response.headers.X-Plan": "1",
                                      "request.show_tracebacks": False}})
    call(path="/")
    plan = app._plans["/"]
    assert plan.config["request.show_tracebacks"] is False
    assert plan.request_attrs == {"show_tracebacks": False}
    assert plan.response_headers == {"X-Plan": "1"}
    assert plan.describe()["before_handler"] == [(42, f"{__name__}.{hook.__qualname__}")]


def test_request_config_is_a_private_copy() -> None:
    class App:
        @drupe.expose
        def index(self) -> str:
            drupe.request.config["mutated"] = True
            return repr("mutated" in drupe.request.config)

    app = mount(App())
    assert call(path="/").text == "True"
    assert "mutated" not in app._plans["/"].config


def test_hooks_config_by_dotted_name() -> None:
    mount(Root(), config={"/": {"hooks.before_finalize": f"{__name__}.add_header"}})
    assert call(path="/").header("X-Dotted") == "1"


def add_header() -> None:
    drupe.response.headers["X-Dotted"] = "1"


@pytest.mark.timeout(60)
def test_concurrent_requests_share_plans_but_not_state() -> None:
    import threading

    @drupe.popargs("user")
    class Users:
        @drupe.expose
        def index(self, user: str, n: str) -> str:
            drupe.response.headers["X-N"] = n
            return f"{user}:{n}:{drupe.request.params['n']}"

    mount(Users())
    errors: list[str] = []

    def worker(index: int) -> None:
        for round_number in range(40):
            n = f"{index}-{round_number}"
            user = f"u{index % 3}"
            result = call(path=f"/{user}/?n={n}")
            expected = f"{user}:{n}:{n}"
            if result.text != expected or result.header("X-N") != n:
                errors.append(f"{result.text!r} != {expected!r}")

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
