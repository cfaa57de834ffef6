"""The names this distribution gives ``drupe.lib.encoding`` (CherryPy's ``lib.encoding``).

Registered as ``lib.encoding`` in the ``drupe.compat`` entry-point group. The kernel's
facade looks names up in every module registered under that name, and a name offered by
two modules is an error, so this module holds exactly the gzip names and nothing else
(the charset half of ``lib.encoding`` — ``ResponseEncoder``, ``decode``, ... — belongs to
the encode/decode tools' distribution).
"""

from drupe_tool_gzip._codec import compress, decompress
from drupe_tool_gzip._tool import gzip

__all__ = ["compress", "decompress", "gzip"]
