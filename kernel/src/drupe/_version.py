"""The kernel's version (the ``drupe-kernel`` distribution's)."""

__version__ = "0.1.0"
