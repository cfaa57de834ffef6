"""drupe-server-cheroot (work in progress)."""
