"""drupe-testing (work in progress)."""
