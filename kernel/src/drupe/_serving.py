"""Where the current request and response live: one pair per thread.

``drupe.serving`` holds the :class:`~drupe._request.Request` and
:class:`~drupe._request.Response` of the request the current thread is handling.
``drupe.request`` and ``drupe.response`` are proxies that forward every attribute access
to those objects, so application code can write ``drupe.request.params`` anywhere.
Outside a request both point at placeholder objects (``request.app`` is ``None``).
"""

from __future__ import annotations

import threading
from typing import Any


class Serving(threading.local):
    """The current thread's ``request`` and ``response``.

    The class attributes are placeholders installed by the kernel at import time; a
    request being served replaces them on the thread-local instance.
    """

    request: Any = None
    response: Any = None

    def load(self, request: Any, response: Any) -> None:
        self.request = request
        self.response = response

    def clear(self) -> None:
        """Forget this thread's request and response (back to the placeholders)."""
        self.__dict__.clear()


serving = Serving()

# id(request) -> (request, response) for every request being served, in any thread.
_in_flight: dict[int, tuple[Any, Any]] = {}


def in_flight() -> list[tuple[Any, Any]]:
    """The ``(request, response)`` pairs being served right now, in every thread.

    The timeout monitor reads this; it costs a request one dict store and one pop (no
    bus publish).
    """
    # dict.copy() runs without releasing the GIL: a consistent snapshot.
    return list(_in_flight.copy().values())


class ThreadLocalProxy:
    """Forwards attribute and item access to ``serving.<attrname>``."""

    __slots__ = ("__attrname__",)

    def __init__(self, attrname: str) -> None:
        object.__setattr__(self, "__attrname__", attrname)

    def __getattr__(self, name: str) -> Any:
        return getattr(getattr(serving, self.__attrname__), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(getattr(serving, self.__attrname__), name, value)

    def __delattr__(self, name: str) -> None:
        delattr(getattr(serving, self.__attrname__), name)

    @property
    def __dict__(self) -> dict[str, Any]:  # type: ignore[override]
        child = getattr(serving, self.__attrname__)
        data: dict[str, Any] = dict(vars(type(child)))
        data.update(vars(child))
        return data

    def __getitem__(self, key: Any) -> Any:
        return getattr(serving, self.__attrname__)[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        getattr(serving, self.__attrname__)[key] = value

    def __delitem__(self, key: Any) -> None:
        del getattr(serving, self.__attrname__)[key]

    def __contains__(self, key: Any) -> bool:
        return key in getattr(serving, self.__attrname__)

    def __len__(self) -> int:
        return len(getattr(serving, self.__attrname__))

    def __bool__(self) -> bool:
        return bool(getattr(serving, self.__attrname__))

    def __iter__(self) -> Any:
        return iter(getattr(serving, self.__attrname__))

    def __repr__(self) -> str:
        return f"<drupe.{self.__attrname__} proxy for {getattr(serving, self.__attrname__)!r}>"


class _Thread_data(threading.local):
    """Free per-thread storage for applications (``drupe.thread_data``)."""


thread_data = _Thread_data()
