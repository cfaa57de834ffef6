"""``drupe.process.wspbus``: the bus (the kernel's ``_bus``)."""

from drupe._bus import Bus, ChannelFailures, SimplePlugin, states

__all__ = ["Bus", "ChannelFailures", "SimplePlugin", "states"]
