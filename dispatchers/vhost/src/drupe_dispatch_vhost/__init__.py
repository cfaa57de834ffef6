"""VirtualHost dispatcher for drupe: route by the request's Host header."""
