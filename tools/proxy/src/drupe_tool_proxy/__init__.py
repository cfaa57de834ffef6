"""The proxy tool for drupe: the client address, scheme and Host as a trusted reverse proxy reports them."""
