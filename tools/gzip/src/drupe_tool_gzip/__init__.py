"""drupe-tool-gzip (work in progress)."""
