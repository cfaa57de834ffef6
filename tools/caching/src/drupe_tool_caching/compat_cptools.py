"""The name this distribution gives ``drupe._cptools`` (CherryPy's ``_cptools``): ``CachingTool``."""

from drupe_tool_caching._tool import CachingTool

__all__ = ["CachingTool"]
