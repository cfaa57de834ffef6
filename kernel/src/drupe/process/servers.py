"""``drupe.process.servers``: running HTTP servers on the bus."""

from drupe._compat import facade
from drupe._server import (
    ServerAdapter,
    Timeouts,
    port_is_open,
    wait_for_free_port,
    wait_for_occupied_port,
)

__getattr__ = facade(__name__, "process.servers", globals())
