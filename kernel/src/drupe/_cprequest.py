"""``drupe._cprequest``: CherryPy's module path for Request, Response and hooks."""

from drupe._request import Hook, HookMap, LazyUUID4, Request, Response, ResponseBody, hookpoints
