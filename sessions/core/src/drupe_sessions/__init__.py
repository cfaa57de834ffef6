"""The sessions and session_auth tools for drupe, the Session base class and the RAM backend."""
