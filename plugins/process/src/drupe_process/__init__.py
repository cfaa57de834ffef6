"""drupe-process (work in progress)."""
