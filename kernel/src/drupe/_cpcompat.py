"""``drupe._cpcompat``: CherryPy's Python 2/3 helpers."""

from drupe._compat import ntob, ntou, text_or_bytes, tonative
