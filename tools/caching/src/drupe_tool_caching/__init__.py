"""The caching tool for drupe: an in-memory HTTP response cache with a pluggable store."""
