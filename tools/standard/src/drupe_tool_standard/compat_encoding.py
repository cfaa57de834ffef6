"""The names this distribution gives ``drupe.lib.encoding`` (CherryPy's ``lib.encoding``).

Registered as ``lib.encoding`` in the ``drupe.compat`` entry-point group, next to the gzip
tool's module (``gzip``, ``compress``, ``decompress``): the facade finds each name in the
one module that has it, so this module holds exactly the charset half.
"""

from drupe_tool_standard._encoding import ResponseEncoder, UTF8StreamEncoder, decode, prepare_iter

__all__ = ["ResponseEncoder", "UTF8StreamEncoder", "decode", "prepare_iter"]
