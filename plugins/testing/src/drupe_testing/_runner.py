"""Which test runner drives ``CPWebCase`` classes (shared by the plugin and the helper).

pytest calls a test class's ``setup_class`` / ``teardown_class`` itself (xunit style)
*and* a ``unittest.TestCase``'s ``setUpClass`` / ``tearDownClass``. Plain unittest only
calls the latter. ``CPWebCase`` starts its server in ``setup_class`` (where CherryPy's
test classes expect it, and where they override it) and lets ``setUpClass`` call it only
when pytest will not: the drupe-testing pytest plugin sets this flag while it is active.
"""

from __future__ import annotations

pytest_runs_setup_class = False
