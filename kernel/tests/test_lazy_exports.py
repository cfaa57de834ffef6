"""``drupe.lib.lazy_exports``: a package's names imported from their submodules on first use."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest


def test_names_load_on_first_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "lazypkg"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from drupe.lib import lazy_exports\n"
        "__getattr__, __dir__ = lazy_exports(__name__, {'Thing': '_impl'}, globals())\n")
    (package / "_impl.py").write_text("class Thing:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        import lazypkg  # type: ignore[import-not-found]

        assert "lazypkg._impl" not in sys.modules
        assert "Thing" in dir(lazypkg)
        thing = lazypkg.Thing
        assert "lazypkg._impl" in sys.modules
        assert thing is sys.modules["lazypkg._impl"].Thing
        assert vars(lazypkg)["Thing"] is thing  # kept: the next access is a plain lookup
        with pytest.raises(AttributeError, match="has no attribute 'Other'"):
            _ = lazypkg.Other
    finally:
        for name in ("lazypkg", "lazypkg._impl"):
            sys.modules.pop(name, None)
