"""drupe's default dispatcher: find the page handler by walking the application's objects.

``/a/b/c`` becomes the attribute chain ``root.a.b.c`` (each segment translated: ASCII
punctuation becomes ``_``, so ``/my-page`` finds ``my_page``), with an implicit ``index``
at the end. The deepest *exposed* object along the way handles the request; leftover
segments become positional arguments and query/body parameters keyword arguments. On the
way back up, a node's exposed ``default`` method is tried before the node itself.

Along the trail the dispatcher merges config: the global config, the root's
``_cp_config``, the application's ``[/]`` section, then for each segment the node's
``_cp_config`` and the ``[/a/b]`` section. A node may define ``_cp_dispatch(vpath)`` (not
exposed) to consume segments itself and return the next node; ``drupe.popargs`` builds
one that names leading segments.

The kernel caches each path's result (a plan) unless the walk ran a hand-written
``_cp_dispatch`` or a subclass overrides ``find_handler``: popargs' segments are replayed
from the cache. Dunder names (``/__class__``) are never looked up.

Subclass it as usual; a subclass overriding ``__call__`` (the documentation's
``ForceLowerDispatcher``) is called on every request.
"""

from __future__ import annotations

import string
from typing import Any

import drupe

__all__ = ["Dispatcher", "punctuation_to_underscores"]
__version__ = "0.1.0"

punctuation_to_underscores = str.maketrans(string.punctuation, "_" * len(string.punctuation))


class Dispatcher(drupe.DispatcherBase):
    """Walk ``app.root`` along the path (see the module docstring)."""

    def __init__(self, dispatch_method_name: str | None = None,
                 translate: dict[int, Any] = punctuation_to_underscores) -> None:
        if not isinstance(translate, dict):
            raise ValueError("The translate argument must be a dict (see str.maketrans).")
        self.translate = translate
        self.dispatch_method_name = dispatch_method_name or "_cp_dispatch"

    def __repr__(self) -> str:
        return f"{type(self).__module__}.{type(self).__name__}()"

    # -- drupe's contract ------------------------------------------------------------

    def plan_key(self, request: Any, path_info: str) -> Any:
        return path_info

    def resolve(self, request: Any, path_info: str) -> drupe.Resolution:
        if type(self).find_handler is not Dispatcher.find_handler:
            # A subclass decides with code we cannot see: follow CherryPy's contract and
            # do not cache the outcome.
            func, vpath = self.find_handler(path_info)
            return drupe.Resolution(func, tuple(vpath), request.config or {}, request.is_index,
                                    cacheable=False)
        return self._walk(request, path_info)

    # -- CherryPy's contract ---------------------------------------------------------

    def find_handler(self, path: str) -> tuple[Any, list[str]]:
        """Return ``(handler, virtual_path)``; sets ``request.config`` and ``is_index``."""
        request = drupe.serving.request
        resolution = self._walk(request, path)
        request.config = resolution.config
        request.is_index = resolution.is_index
        return resolution.handler, list(resolution.args)

    # -- the walk --------------------------------------------------------------------

    def _walk(self, request: Any, path: str) -> drupe.Resolution:
        app = request.app
        root = app.root
        app_config = app.config
        dispatch_name = self.dispatch_method_name
        translate = self.translate

        fullpath = [segment for segment in path.strip("/").split("/") if segment] + ["index"]
        fullpath_len = len(fullpath)
        cacheable = True
        popped: dict[str, Any] = {}

        root_conf: dict[str, Any] = {}
        root_cp_config = getattr(root, "_cp_config", None)
        if root_cp_config:
            root_conf.update(root_cp_config)
        if "/" in app_config:
            root_conf.update(app_config["/"])
        trail: list[tuple[str, Any, dict[str, Any], int]] = [("root", root, root_conf, fullpath_len)]

        node = root
        names = fullpath[:]
        while names:
            name = names[0]
            object_name = name.translate(translate)
            node_conf: dict[str, Any] = {}
            before = len(names)
            subnode = None if object_name.startswith("__") else getattr(node, object_name, None)
            if subnode is None:
                dispatch = getattr(node, dispatch_name, None)
                if (dispatch is not None and callable(dispatch)
                        and not getattr(dispatch, "exposed", False) and before > 1):
                    spec = getattr(dispatch, "_drupe_popargs", None)
                    if spec is None or spec[2]:
                        cacheable = False
                    # The hidden trailing 'index' is not the custom dispatcher's business.
                    index_name = names.pop()
                    params_before = dict(request.params)
                    subnode = dispatch(vpath=names)
                    names.append(index_name)
                    if spec is not None:
                        for key, value in request.params.items():
                            if params_before.get(key, _MISSING) is not value:
                                popped[key] = value
                else:
                    names.pop(0)
            else:
                names.pop(0)
            remaining = len(names)
            if remaining > before:
                raise drupe.HTTPError(
                    500,
                    f"A vpath segment was added. Custom dispatchers may only remove elements. "
                    f"While trying to process {name} in {fullpath}",
                )
            if remaining == before:
                # The custom dispatcher used this segment without popping it.
                names.pop(0)
                remaining -= 1
            node = subnode
            if node is not None:
                cp_config = getattr(node, "_cp_config", None)
                if cp_config:
                    node_conf.update(cp_config)
            consumed_before = fullpath_len - before
            current = "/" + "/".join(fullpath[:consumed_before]) if consumed_before else ""
            for segment in fullpath[consumed_before:fullpath_len - remaining]:
                current += "/" + segment
                section = app_config.get(current)
                if section:
                    node_conf.update(section)
            trail.append((name, node, node_conf, remaining))

        def merged_config() -> dict[str, Any]:
            base = dict(drupe.config)
            for _, _, conf, left in trail:
                base.update(conf)
                if "tools.staticdir.dir" in conf:
                    base["tools.staticdir.section"] = "/" + "/".join(fullpath[:fullpath_len - left])
            return base

        last = len(trail) - 1
        for index in range(last, -1, -1):
            _, candidate, _, left = trail[index]
            if candidate is None:
                continue
            default = getattr(candidate, "default", None)
            if default is not None and getattr(default, "exposed", False):
                trail.insert(index + 1, ("default", default,
                                         dict(getattr(default, "_cp_config", None) or {}), left))
                return drupe.Resolution(
                    default, tuple(fullpath[fullpath_len - left:-1]), merged_config(),
                    is_index=path.endswith("/"), params=popped or None, cacheable=cacheable,
                )
            if getattr(candidate, "exposed", False):
                return drupe.Resolution(
                    candidate, tuple(fullpath[fullpath_len - left:-1]), merged_config(),
                    # The implicit 'index' matched: trailing_slash may add a slash;
                    # otherwise it may remove one.
                    is_index=index == last, params=popped or None, cacheable=cacheable,
                )
        return drupe.Resolution(None, (), merged_config(), is_index=None,
                                params=popped or None, cacheable=cacheable)


_MISSING = object()
