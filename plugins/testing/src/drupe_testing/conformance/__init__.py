"""Conformance suites: one set of tests every implementation of a contract must pass.

drupe's extension points have several implementations living in separate distributions:
dispatchers (``drupe.dispatchers``), HTTP servers (``drupe.servers``) and session
backends (``drupe.sessions``). Each contract is written down once, as a ``typing.Protocol``
in ``drupe.protocols``, and will be *tested* once, here: an abstract pytest test class per
contract whose tests use a single fixture naming the implementation under test. A
distribution runs the whole suite against itself by subclassing the class in its own
tests and providing that fixture — the pattern of LangChain's standard tests::

    # sessions/file/tests/test_conformance.py (once the suite exists)
    from drupe_testing.conformance.sessions import SessionBackendSuite

    class TestFileSessions(SessionBackendSuite):
        @pytest.fixture
        def session_backend(self, tmp_path):
            return {"storage_type": "file", "storage_path": str(tmp_path)}

The suites themselves arrive with the issues that define each contract's behaviour in
detail; this package reserves their place and documents the pattern.
"""
