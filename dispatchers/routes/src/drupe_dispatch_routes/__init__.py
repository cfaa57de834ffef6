"""RoutesDispatcher for drupe, on the Routes library."""
