"""``drupe._cpdispatch``: CherryPy's module path for ``drupe.dispatch`` (same names)."""

from drupe.dispatch import (
    CLASS_NAMES,
    DispatcherBase,
    LateParamPageHandler,
    PageHandler,
    Resolution,
    __getattr__,
    test_callable_spec,
)
