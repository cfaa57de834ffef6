"""The dispatcher conformance suite: what every ``drupe.dispatchers`` dispatcher must do.

Use it from a dispatcher's tests by subclassing :class:`DispatcherConformance` and giving
it one fixture that mounts *the conformance application* arranged for that dispatcher::

    import pytest
    import drupe
    from drupe_testing import Client
    from drupe_testing.conformance import dispatch as conformance

    class TestObjectTree(conformance.DispatcherConformance):
        not_applicable = {
            "test_method_not_allowed": "the object tree does not look at the method",
        }

        @pytest.fixture
        def conformance_app(self):
            dispatcher = drupe.dispatch.Dispatcher()
            drupe.tree.mount(conformance.object_tree(), "/", conformance.app_config(dispatcher))
            return conformance.ConformanceApp(Client(drupe.tree))

That is the whole interface:

* ``conformance_app`` (fixture, required): mounts the application and returns a
  :class:`ConformanceApp` — the client to send its requests with (set its ``host`` when
  the dispatcher routes by host) and the ``prefix`` (mount point, default ``""``) the
  suite puts before every path. The suite resets drupe (``drupe.reset()``, log screen
  off) before the fixture runs and after the test.
* ``not_applicable`` (class attribute, optional): test name -> the reason a check does
  not apply to this dispatcher; those tests are skipped with that reason. A name that is
  not a test of the suite is an error (``test_not_applicable_names_real_checks``).

The application, whatever the dispatcher, answers these paths (the module gives the
handlers as plain functions, :func:`object_tree` and :func:`resource_tree` build it for
object-tree and MethodDispatcher-style dispatchers, :func:`app_config` the config):

==================  ==========================================================================
path                behaviour
==================  ==========================================================================
``/``               :func:`index`
``/hello``          :func:`hello` (a leaf: ``/hello/`` may be served, redirect, or be 404)
``/echo``           :func:`echo` for GET (query string) and POST (form body)
``/items/<id>``     :func:`item`: ``<id>`` from the path, ``color`` from the query string
``/dir/``           :func:`dir_index` (an index: ``/dir`` may be served or redirect to ``/dir/``)
``/configured``     :func:`configured`, with :data:`HANDLER_CONFIG` as the handler's
                    ``_cp_config`` and :data:`SECTION_CONFIG` as the ``[/configured]`` section
``/readonly``       :func:`readonly`, for GET only (other methods: 405, where applicable)
``/boom``           :func:`boom`, which raises
``/résumé``         :func:`unicode_page` (the segment :data:`UNICODE_SEGMENT`)
==================  ==========================================================================

and :data:`ROOT_CONFIG` is in the ``[/]`` section. The checks: each path's answer,
trailing slashes, parameters from the query string, the body and the path (and all
three at once, with non-ASCII text), repeated parameters, unexpected parameters (404),
404 for unknown paths, 405 with ``Allow``, config merged per path (``[/]``, a path's
section, the handler's ``_cp_config``, and nothing leaking to other paths), HEAD (GET's
headers, no body), unicode paths, cached plans not mixing requests, and an exception in
a handler giving a 500 page with the traceback in development and without it (nor the
exception's message) in production.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from drupe_testing._client import Client
from drupe_testing._response import Response

__all__ = [
    "BOOM_MESSAGE",
    "HANDLER_CONFIG",
    "ROOT_CONFIG",
    "SECTION_CONFIG",
    "UNICODE_SEGMENT",
    "ConformanceApp",
    "DispatcherConformance",
    "app_config",
    "boom",
    "configured",
    "dir_index",
    "echo",
    "hello",
    "index",
    "item",
    "object_tree",
    "readonly",
    "resource_tree",
    "unicode_page",
]

ROOT_CONFIG: dict[str, Any] = {"response.headers.X-Conformance-Root": "root"}
"""Goes into the application's ``[/]`` section: every path's response carries it."""

SECTION_CONFIG: dict[str, Any] = {"response.headers.X-Conformance-Section": "section"}
"""Goes into the ``[/configured]`` section only."""

HANDLER_CONFIG: dict[str, Any] = {"response.headers.X-Conformance-Handler": "handler"}
"""The ``_cp_config`` of the ``/configured`` handler (:func:`configured` carries it)."""

UNICODE_SEGMENT = "résumé"
"""The non-ASCII path segment served by :func:`unicode_page`."""

BOOM_MESSAGE = "conformance handler failed on purpose"
"""The message of the exception :func:`boom` raises (never shown in production)."""


# ---------------------------------------------------------------------------
# The behaviours, as plain callables each fixture arranges for its dispatcher


def index() -> str:
    """``/``."""
    return "conformance index"


def hello() -> str:
    """``/hello``."""
    return "hello"


def echo(**params: Any) -> str:
    """``/echo``: the parameters, sorted, as ``name=value`` joined by ``;`` (lists by ``|``)."""
    parts = []
    for name in sorted(params):
        value = params[name]
        if isinstance(value, list):
            value = "|".join(str(one) for one in value)
        parts.append(f"{name}={value}")
    return ";".join(parts)


def item(item_id: str, color: str | None = None) -> str:
    """``/items/<item_id>``, with an optional ``color`` parameter."""
    return f"item {item_id}" + (f" {color}" if color is not None else "")


def dir_index() -> str:
    """``/dir/``."""
    return "dir index"


def configured() -> str:
    """``/configured`` (its ``_cp_config`` is :data:`HANDLER_CONFIG`)."""
    return "configured"


configured._cp_config = dict(HANDLER_CONFIG)  # type: ignore[attr-defined]


def readonly() -> str:
    """``/readonly``, a GET-only resource."""
    return "read only"


def boom() -> str:
    """``/boom``: an unanticipated error."""
    raise RuntimeError(BOOM_MESSAGE)


def unicode_page() -> str:
    """``/résumé``."""
    return UNICODE_SEGMENT


def _exposed(function: Any) -> Any:
    # Instance attributes are not bound, so the plain functions serve as they are.
    import drupe

    return drupe.expose(function)


class _Node:
    """A node of the object tree whose children are set as attributes."""

    def __init__(self, **children: Any) -> None:
        for name, child in children.items():
            setattr(self, name, child)


def object_tree() -> Any:
    """The application as an object tree (for the default dispatcher and its kin)."""
    items = _Node(default=_exposed(item))
    directory = _Node(index=_exposed(dir_index))
    root = _Node(index=_exposed(index), hello=_exposed(hello), echo=_exposed(echo),
                 items=items, dir=directory, configured=_exposed(configured),
                 readonly=_exposed(readonly), boom=_exposed(boom))
    setattr(root, UNICODE_SEGMENT, _exposed(unicode_page))
    return root


class _Resource:
    """A MethodDispatcher resource: each keyword becomes the verb method of that name."""

    exposed = True

    def __init__(self, children: Mapping[str, Any] | None = None, **verbs: Any) -> None:
        for verb, function in verbs.items():
            setattr(self, verb, function)
        for name, child in (children or {}).items():
            setattr(self, name, child)


def resource_tree() -> Any:
    """The application as resources with verb methods (for ``MethodDispatcher``)."""
    children = {
        "hello": _Resource(GET=hello),
        "echo": _Resource(GET=echo, POST=echo),
        "items": _Resource(GET=item),
        "dir": _Resource(GET=dir_index),
        "configured": _Resource(GET=configured),
        "readonly": _Resource(GET=readonly),
        "boom": _Resource(GET=boom),
        UNICODE_SEGMENT: _Resource(GET=unicode_page),
    }
    return _Resource(children, GET=index)


def app_config(dispatcher: Any) -> dict[str, Any]:
    """The application config: ``dispatcher`` and :data:`ROOT_CONFIG` in ``[/]``, and
    :data:`SECTION_CONFIG` in ``[/configured]``."""
    return {"/": {"request.dispatch": dispatcher, **ROOT_CONFIG},
            "/configured": dict(SECTION_CONFIG)}


@dataclass
class ConformanceApp:
    """What the ``conformance_app`` fixture returns (see the module docstring)."""

    client: Client
    prefix: str = ""


# ---------------------------------------------------------------------------
# The suite


def _is_redirect_to(response: Response, path_end: str) -> bool:
    location = response.headers.get("Location", "")
    return response.status in (301, 302, 303, 307, 308) and location.split("?")[0].endswith(path_end)


class DispatcherConformance:
    """Abstract: subclass it and provide the ``conformance_app`` fixture."""

    not_applicable: Mapping[str, str] = {}

    @pytest.fixture(autouse=True)
    def _conformance_drupe(self, request: pytest.FixtureRequest) -> Iterator[None]:
        import drupe

        name = request.node.originalname if hasattr(request.node, "originalname") else request.node.name
        reason = self.not_applicable.get(name)
        if reason is not None:
            pytest.skip(f"not applicable to this dispatcher: {reason}")
        drupe.reset()
        drupe.config.update({"log.screen": False})
        yield
        drupe.reset()

    @pytest.fixture
    def app(self, conformance_app: ConformanceApp) -> ConformanceApp:
        return conformance_app

    @pytest.fixture
    def conformance_app(self) -> ConformanceApp:  # pragma: no cover - always overridden
        raise NotImplementedError(
            "Provide the conformance_app fixture (see drupe_testing.conformance.dispatch).")

    # -- helpers ------------------------------------------------------------------------

    def get(self, app: ConformanceApp, path: str, **kwargs: Any) -> Response:
        return app.client.get(app.prefix + path, **kwargs)

    def request(self, app: ConformanceApp, method: str, path: str, **kwargs: Any) -> Response:
        return app.client.request(method, app.prefix + path, **kwargs)

    # -- the suite's own consistency -------------------------------------------------

    def test_not_applicable_names_real_checks(self) -> None:
        checks = {name for name in dir(type(self)) if name.startswith("test_")}
        unknown = sorted(set(self.not_applicable) - checks)
        assert not unknown, f"not_applicable names no check of the suite: {unknown}"
        for name, reason in self.not_applicable.items():
            assert isinstance(reason, str), f"{name}: give the reason as text"
            assert reason.strip(), f"{name}: give the reason as text"

    # -- paths --------------------------------------------------------------------------

    def test_root_index(self, app: ConformanceApp) -> None:
        response = self.get(app, "/")
        assert (response.status, response.text) == (200, "conformance index")

    def test_plain_handler(self, app: ConformanceApp) -> None:
        response = self.get(app, "/hello")
        assert (response.status, response.text) == (200, "hello")

    def test_unknown_path_is_404(self, app: ConformanceApp) -> None:
        for path in ("/no/such/thing", "/hello/extra/segments", "/nothing"):
            response = self.get(app, path)
            assert response.status == 404, (path, response.status, response.text[:300])

    def test_trailing_slash_on_an_index(self, app: ConformanceApp) -> None:
        response = self.get(app, "/dir/")
        assert (response.status, response.text) == (200, "dir index")
        response = self.get(app, "/dir")
        assert (response.status == 200 and response.text == "dir index") or _is_redirect_to(
            response, "/dir/"), (response.status, response.headers.get("Location"), response.text[:200])

    def test_trailing_slash_on_a_leaf(self, app: ConformanceApp) -> None:
        response = self.get(app, "/hello/")
        assert (response.status == 200 and response.text == "hello") or response.status == 404 or (
            _is_redirect_to(response, "/hello")), (response.status, response.text[:200])

    # -- parameters ---------------------------------------------------------------------

    def test_params_from_the_query_string(self, app: ConformanceApp) -> None:
        response = self.get(app, "/echo?b=2&a=1")
        assert (response.status, response.text) == (200, "a=1;b=2")

    def test_repeated_params_become_a_list(self, app: ConformanceApp) -> None:
        response = self.get(app, "/echo?a=1&a=2")
        assert (response.status, response.text) == (200, "a=1|2")

    def test_params_from_the_body(self, app: ConformanceApp) -> None:
        response = self.request(app, "POST", "/echo", data={"name": "Zoë", "n": "3"})
        assert (response.status, response.text) == (200, "n=3;name=Zoë")

    def test_params_from_the_path(self, app: ConformanceApp) -> None:
        response = self.get(app, "/items/42")
        assert (response.status, response.text) == (200, "item 42")

    def test_params_from_path_and_query_string(self, app: ConformanceApp) -> None:
        response = self.get(app, "/items/42", params={"color": "rouge foncé"})
        assert (response.status, response.text) == (200, "item 42 rouge foncé")

    def test_unexpected_query_param_is_404(self, app: ConformanceApp) -> None:
        response = self.get(app, "/hello?surprise=1")
        assert response.status == 404, (response.status, response.text[:200])

    def test_cached_plans_keep_requests_apart(self, app: ConformanceApp) -> None:
        # The second request of each path reuses a cached plan: its parameters must be
        # its own, not those of the request that built the plan.
        expected = [
            ("/items/1", "item 1"), ("/items/2", "item 2"), ("/items/1?color=blue", "item 1 blue"),
            ("/items/1", "item 1"), ("/echo?x=1", "x=1"), ("/echo?y=2", "y=2"), ("/echo", ""),
        ]
        for path, body in expected * 2:
            response = self.get(app, path)
            assert (response.status, response.text) == (200, body), path

    # -- methods ------------------------------------------------------------------------

    def test_method_not_allowed(self, app: ConformanceApp) -> None:
        assert self.get(app, "/readonly").text == "read only"
        response = self.request(app, "POST", "/readonly", data={"x": "1"})
        assert response.status == 405, (response.status, response.text[:200])
        allowed = [method.strip() for method in response.headers["Allow"].split(",")]
        assert "GET" in allowed
        assert "POST" not in allowed

    def test_head(self, app: ConformanceApp) -> None:
        get = self.get(app, "/hello")
        head = self.request(app, "HEAD", "/hello")
        assert head.status == 200
        assert head.body == b""
        assert head.headers.get("Content-Type") == get.headers.get("Content-Type")
        assert head.headers.get("X-Conformance-Root") == "root"
        if "Content-Length" in head.headers:
            assert head.headers["Content-Length"] == get.headers["Content-Length"]

    # -- config -------------------------------------------------------------------------

    def test_root_config_applies_everywhere(self, app: ConformanceApp) -> None:
        for path in ("/", "/hello", "/items/7", "/configured"):
            assert self.get(app, path).headers.get("X-Conformance-Root") == "root", path

    def test_config_merged_per_path(self, app: ConformanceApp) -> None:
        response = self.get(app, "/configured")
        assert (response.status, response.text) == (200, "configured")
        assert response.headers.get("X-Conformance-Root") == "root"
        assert response.headers.get("X-Conformance-Section") == "section"
        assert response.headers.get("X-Conformance-Handler") == "handler"

    def test_config_does_not_leak_to_other_paths(self, app: ConformanceApp) -> None:
        self.get(app, "/configured")
        response = self.get(app, "/hello")
        assert "X-Conformance-Section" not in response.headers
        assert "X-Conformance-Handler" not in response.headers

    # -- unicode ------------------------------------------------------------------------

    def test_unicode_path(self, app: ConformanceApp) -> None:
        response = self.get(app, "/" + UNICODE_SEGMENT)
        assert (response.status, response.text) == (200, UNICODE_SEGMENT)

    def test_unicode_path_param(self, app: ConformanceApp) -> None:
        response = self.get(app, "/items/café")
        assert (response.status, response.text) == (200, "item café")

    # -- errors -------------------------------------------------------------------------

    def test_error_in_handler_shows_traceback_in_development(self, app: ConformanceApp) -> None:
        response = self.get(app, "/boom")
        assert response.status == 500
        assert "Traceback" in response.text
        assert BOOM_MESSAGE in response.text

    def test_error_in_handler_hides_traceback_in_production(self, app: ConformanceApp) -> None:
        import drupe

        drupe.config.update({"environment": "production"})
        response = self.get(app, "/boom")
        assert response.status == 500
        assert "Traceback" not in response.text
        assert BOOM_MESSAGE not in response.text
        assert "RuntimeError" not in response.text
