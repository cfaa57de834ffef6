"""Conformance suites: one set of tests every implementation of a contract must pass.

drupe's extension points have several implementations living in separate distributions:
dispatchers (``drupe.dispatchers``), HTTP servers (``drupe.servers``) and session
backends (``drupe.sessions``). Each contract is written down once, as a ``typing.Protocol``
in ``drupe.protocols``, and tested once, here: a pytest test class per contract whose
tests use one fixture naming the implementation under test. A distribution runs the whole
suite against itself by subclassing the class in its own tests and providing that
fixture:

- ``drupe_testing.conformance.dispatch.DispatcherConformance`` — fixture
  ``conformance_app`` (an app built for the dispatcher under test);
- ``drupe_testing.conformance.sessions`` — fixture ``session_config`` (the
  ``tools.sessions.*`` settings selecting the backend under test);
- ``drupe_testing.conformance.http_server`` / ``http_wire`` — raw-bytes HTTP/1.1 cases
  against a server plugin, given a fixture with its address.

For example::

    # sessions/file/tests/test_conformance.py
    from drupe_testing.conformance.sessions import SessionBackendSuite

    class TestFileSessions(SessionBackendSuite):
        @pytest.fixture
        def session_config(self, tmp_path):
            return {"storage_type": "file", "storage_path": str(tmp_path)}

Each module's docstring documents its fixture and how an implementation opts out of a
check that does not apply to it (with a reason).
"""
