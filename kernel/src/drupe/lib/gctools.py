"""``drupe.lib.gctools``: a page for finding reference leaks (CherryPy's ``cherrypy.lib.gctools``).

Mount :class:`GCRoot` (``drupe.tree.mount(GCRoot(), "/gc")``) and fetch ``/gc/stats``: it
collects garbage and reports what survived that should not have — uncollectable objects,
and more live request/response objects than requests in flight. A clean run answers just
``Statistics:``. Other names come from distributions registering ``lib.gctools`` in the
``drupe.compat`` entry-point group (see ``drupe._compat``).
"""

from __future__ import annotations

import gc
from collections import Counter
from typing import Any

from drupe._compat import facade
from drupe._helper import expose
from drupe._request import Request, Response
from drupe._serving import in_flight


def get_instances(cls: type) -> list[Any]:
    """The live objects of exactly the class ``cls``."""
    return [obj for obj in gc.get_objects() if type(obj) is cls]


class GCRoot:
    """Page handlers reporting reference leaks after a test run."""

    # (class, fewest, most, what it means): the live instances allowed at rest. The request
    # serving /gc/stats itself accounts for one of each.
    classes: list[tuple[type, int, int, str]] = [
        (Request, 0, 2, "Should be 1 (this request) when no other request is in flight."),
        (Response, 0, 2, "Should be 1 (this response) when no other request is in flight."),
    ]

    @expose
    def index(self) -> str:
        return "Hello, world!"

    @expose
    def stats(self) -> str:
        output = ["Statistics:"]
        gc.collect()
        gc.collect()
        unreachable = gc.collect()
        if gc.garbage:
            kinds = Counter(type(obj).__name__ for obj in gc.garbage)
            output.insert(0, f"\n{unreachable} unreachable objects:")
            output.extend(f"    ({count}, {name})" for name, count in sorted(kinds.items()))
        busy = max(len(in_flight()) - 1, 0)
        for cls, fewest, most, meaning in self.classes:
            live = len(get_instances(cls))
            if not fewest <= live <= most + busy:
                output.append(f"\nExpected {fewest} to {most + busy} {cls.__name__} objects, "
                              f"found {live}. {meaning}")
        return "\n".join(output)


__getattr__ = facade(__name__, "lib.gctools", globals())

__all__ = ["GCRoot", "get_instances"]
