"""The auth_basic and auth_digest tools for drupe (RFC 7617, RFC 7616)."""
