"""The json_in and json_out tools for drupe, and the JSON request-body processor."""
