"""``drupe.test``: testing helpers (``drupe.test.helper`` comes from drupe-testing)."""
