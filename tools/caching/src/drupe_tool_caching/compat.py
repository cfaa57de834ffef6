"""The names this distribution gives ``drupe.lib.caching`` (CherryPy's ``lib.caching``).

Registered as ``lib.caching`` in the ``drupe.compat`` entry-point group. CherryPy keeps
the ``expires`` tool's callable in this module too; drupe-tool-standard owns that tool and
registers its own ``lib.caching`` provider with it, so ``expires`` here is *its* function,
re-exported on first use (the compatibility facade sees one object, not two providers of
one name). Without drupe-tool-standard installed there is no ``expires``.
"""

from __future__ import annotations

import importlib
from typing import Any

from drupe_tool_caching._store import AntiStampedeCache, Cache, MemoryCache
from drupe_tool_caching._tool import get, tee_output

__all__ = ["AntiStampedeCache", "Cache", "MemoryCache", "get", "tee_output"]


def __getattr__(name: str) -> Any:
    if name == "expires":
        try:
            standard = importlib.import_module("drupe_tool_standard")
        except ImportError:
            raise AttributeError("expires is the expires tool's callable: pip install "
                                 "drupe-tool-standard") from None
        value = standard.expires
        globals()["expires"] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
