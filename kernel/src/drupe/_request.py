"""The request pipeline: Request, Response, hook points and hooks.

A request runs through these stages (``request.stage`` names the current one)::

    process_headers -> get_resource (dispatch: find the plan for this path)
      -> on_start_resource hooks
      -> process_query_string (request.params)
      -> before_request_body hooks
      -> request body processing (POST/PUT/PATCH)
      -> before_handler hooks
      -> the page handler (response.body = request.handler())
      -> before_finalize hooks -> response.finalize()
    finally: on_end_resource hooks
    on an unexpected error: before_error_response hooks -> request.error_response()
                            -> after_error_response hooks -> response.finalize()
    when the response has been sent: on_end_request hooks (in request.close())

An ``HTTPError`` or ``HTTPRedirect`` raised in any stage becomes the response and still
passes through ``before_finalize``. Each hook point holds hooks sorted by numeric
priority (lower first, ties in the order they were attached); when a hook fails, the
remaining *failsafe* hooks of that point still run before the error propagates.

Most of a request's work is decided once per (application, path) and cached in a plan
(``_plan.py``): the page handler, the merged config, the attributes config sets on the
request and response, and the hooks of every point. A request only applies its plan.
Attributes that many requests never use (``headers``, ``cookie``, ``body``, ``remote``,
``base``, ...) are computed on first access.
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from drupe import _httputil
from drupe._errors import (
    HTTPError,
    HTTPRedirect,
    InternalRedirect,
    NotFound,
    TimeoutError,
    bare_error,
    format_exc,
)
from drupe._httputil import HeaderMap, Host
from drupe._serving import serving

__all__ = ["Hook", "HookMap", "LazyUUID4", "Request", "Response", "ResponseBody", "hookpoints"]

hookpoints = [
    "on_start_resource",
    "before_request_body",
    "before_handler",
    "before_finalize",
    "on_end_resource",
    "on_end_request",
    "before_error_response",
    "after_error_response",
]


class Hook:
    """A callback attached to a hook point, with its priority, failsafe flag and kwargs."""

    __slots__ = ("callback", "failsafe", "kwargs", "priority")

    def __init__(self, callback: Callable[..., Any], failsafe: bool | None = None,
                 priority: float | None = None, **kwargs: Any) -> None:
        self.callback = callback
        self.failsafe = getattr(callback, "failsafe", False) if failsafe is None else failsafe
        self.priority = getattr(callback, "priority", 50) if priority is None else priority
        self.kwargs = kwargs

    def __lt__(self, other: Hook) -> bool:
        return bool(self.priority < other.priority)

    def __call__(self) -> Any:
        return self.callback(**self.kwargs)

    def __repr__(self) -> str:
        extra = "".join(f", {key}={value!r}" for key, value in self.kwargs.items())
        return (f"drupe.Hook(callback={self.callback!r}, failsafe={self.failsafe!r}, "
                f"priority={self.priority!r}{extra})")


_QUIET_ERRORS = (HTTPError, HTTPRedirect, InternalRedirect)


def run_hooks(hooks: list[Hook]) -> None:
    """Run ``hooks`` in order; after a failure, run only the remaining failsafe hooks."""
    for index, hook in enumerate(hooks):
        try:
            hook.callback(**hook.kwargs)
        except _QUIET_ERRORS:
            _run_failsafe(hooks[index + 1 :])
            raise
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception:
            from drupe._log import log

            log(f"Hook {hook!r} failed:", "HTTP", severity=40, traceback=True)
            _run_failsafe(hooks[index + 1 :])
            raise


def _run_failsafe(hooks: list[Hook]) -> None:
    safe = [hook for hook in hooks if hook.failsafe]
    if safe:
        try:
            run_hooks(safe)
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception:
            # The first failure is the one the caller re-raises; later ones are logged.
            pass


class HookMap(dict[str, list[Hook]]):
    """Hook point name -> hooks, kept sorted by priority."""

    def __init__(self, points: Iterable[str] | None = None) -> None:
        super().__init__()
        for point in points or hookpoints:
            self[point] = []

    def attach(self, point: str, callback: Callable[..., Any], failsafe: bool | None = None,
               priority: float | None = None, **kwargs: Any) -> None:
        """Add a hook; among equal priorities it runs after those attached before it."""
        if point not in self:
            raise ValueError(f"{point!r} is not a hook point. Hook points: {', '.join(hookpoints)}.")
        hook = Hook(callback, failsafe, priority, **kwargs)
        hooks = self[point]
        index = len(hooks)
        while index and hooks[index - 1].priority > hook.priority:
            index -= 1
        hooks.insert(index, hook)

    def run(self, point: str) -> None:
        """Run every hook of ``point`` (failsafe semantics as in :func:`run_hooks`)."""
        hooks = self.get(point)
        if hooks:
            run_hooks(hooks)

    def copy(self) -> HookMap:
        new = HookMap(())
        for point, hooks in self.items():
            dict.__setitem__(new, point, list(hooks))
        return new

    __copy__ = copy

    def __repr__(self) -> str:
        return f"drupe.HookMap({dict.__repr__(self)})"


class LazyUUID4:
    """A request id generated the first time it is used."""

    __slots__ = ("_uuid",)

    def __init__(self) -> None:
        self._uuid: str | None = None

    def __str__(self) -> str:
        if self._uuid is None:
            import uuid

            self._uuid = str(uuid.uuid4())
        return self._uuid

    __repr__ = __str__

    @property
    def uuid4(self) -> str:
        return str(self)


def _default_error_response() -> None:
    HTTPError(500).set_response()


_HEADER_NAMES = {
    "HTTP_CGI_AUTHORIZATION": "Authorization",
    "CONTENT_LENGTH": "Content-Length",
    "CONTENT_TYPE": "Content-Type",
    "REMOTE_HOST": "Remote-Host",
    "REMOTE_ADDR": "Remote-Addr",
}
_valid_hosts: set[str] = set()


class Request:
    """One HTTP request and the state of its processing (``drupe.request``).

    Attributes set by config (``request.show_tracebacks``, ...) are class attributes
    overridden per request; lazily computed ones (``headers``, ``cookie``, ``body``,
    ``remote``, ``local``, ``base``, ``request_line``, ``header_list``, ``unique_id``,
    ``hooks``) appear in the instance the first time they are read.
    """

    # -- defaults (also what drupe.request shows outside a request) -------------------
    prev: Request | None = None
    scheme = "http"
    server_protocol = "HTTP/1.1"
    method = "GET"
    query_string = ""
    query_string_encoding = "utf8"
    uri_encoding = "utf-8"
    protocol = (1, 1)
    params: dict[str, Any] = {}
    rfile: Any = None
    process_request_body = True
    methods_with_bodies = ("POST", "PUT", "PATCH")
    dispatch: Any = None
    script_name = ""
    path_info = "/"
    login: Any = None
    app: Any = None
    handler: Any = None
    toolmaps: dict[str, Any] = {}
    is_index: bool | None = None
    error_response: Callable[[], Any] = staticmethod(_default_error_response)
    show_tracebacks = True
    show_mismatched_params = True
    throws: tuple[type[BaseException], ...] = (KeyboardInterrupt, SystemExit, InternalRedirect)
    throw_errors = False
    closed = False
    stage: str | None = None
    multithread = True
    multiprocess = False
    wsgi_environ: Any = None
    max_params = 1000
    # Read from the application config by the internal-redirect loop check (_wsgi.py).
    recursive_redirect = False
    kwargs: Any = None
    args: tuple[Any, ...] = ()
    error_logged = False

    namespaces: Any = None  # a NamespaceSet, installed by the package

    def __init__(self, local_host: Host, remote_host: Host, scheme: str = "http",
                 server_protocol: str = "HTTP/1.1") -> None:
        self.local = local_host
        self.remote = remote_host
        self.scheme = scheme
        self.server_protocol = server_protocol
        self.closed = False
        self.params = {}

    # -- lazily computed attributes ---------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        compute = _LAZY.get(name)
        if compute is None:
            raise AttributeError(f"'Request' object has no attribute {name!r}")
        value = compute(self)
        self.__dict__[name] = value
        return value

    def _compute_header_list(self) -> list[tuple[str, str]]:
        environ = self.wsgi_environ
        if environ is None:
            return []
        result: list[tuple[str, str]] = []
        for cgi_name, value in environ.items():
            mapped = _HEADER_NAMES.get(cgi_name)
            if mapped is not None:
                result.append((mapped, value))
            elif cgi_name[:5] == "HTTP_":
                result.append((cgi_name[5:].replace("_", "-"), value))
        return result

    def _compute_headers(self) -> HeaderMap:
        headers = HeaderMap()
        store = dict.__setitem__
        for name, value in self.header_list:
            value = value.strip()
            if "=?" in value:
                value = _httputil.decode_TEXT_maybe(value)
            store(headers, name.title(), value)
        return headers

    def _compute_cookie(self) -> Any:
        from http.cookies import CookieError, SimpleCookie

        cookie = SimpleCookie()
        raw = self.wsgi_environ.get("HTTP_COOKIE") if self.wsgi_environ is not None else None
        if raw is None:
            raw = dict.get(self.headers, "Cookie")
        if raw:
            try:
                cookie.load(raw)
            except CookieError as exc:
                raise HTTPError(400, f"Malformed Cookie header: {exc}") from None
            if not cookie and raw.strip(" \t;"):
                # SimpleCookie drops a header it cannot parse without raising.
                raise HTTPError(400, "Malformed Cookie header.")
        return cookie

    def _compute_base(self) -> str:
        environ = self.wsgi_environ or {}
        host = environ.get("HTTP_HOST") or dict.get(self.headers, "Host")
        if not host:
            local = self.local
            host = local.name or local.ip
            port = local.port
            default = 443 if self.scheme == "https" else 80
            if port and port not in (default, -1):
                host = f"{host}:{port}"
        return f"{self.scheme}://{host}"

    def _compute_local(self) -> Host:
        environ = self.wsgi_environ or {}
        return Host("", int(environ.get("SERVER_PORT", 80) or -1), environ.get("SERVER_NAME", ""))

    def _compute_remote(self) -> Host:
        environ = self.wsgi_environ or {}
        return Host(environ.get("REMOTE_ADDR", ""), int(environ.get("REMOTE_PORT", -1) or -1),
                    environ.get("REMOTE_HOST", ""))

    def _compute_request_line(self) -> str:
        url = (self.script_name or "") + (self.path_info or "")
        environ = self.wsgi_environ or {}
        raw_uri = environ.get("REQUEST_URI") or environ.get("RAW_URI")
        if raw_uri:
            url = raw_uri
        elif self.query_string:
            url += "?" + self.query_string
        protocol = environ.get("SERVER_PROTOCOL", "HTTP/1.1")
        return f"{self.method} {url} {protocol}"

    def _compute_body(self) -> Any:
        from drupe._body import RequestBody

        body = RequestBody(self.rfile, self.headers, request_params=self.params)
        plan = self.__dict__.get("_plan")
        if plan is not None and plan.body_attrs:
            for name, value in plan.body_attrs.items():
                setattr(body, name, value)
        return body

    def _compute_hooks(self) -> HookMap:
        # The plan's hooks are shared by every request on this path; a request that wants
        # to attach its own hooks gets a private copy.
        plan = self.__dict__.get("_plan")
        hooks = plan.hooks.copy() if plan is not None else HookMap()
        self.__dict__["_hooks"] = hooks
        return hooks

    # -- processing -------------------------------------------------------------------

    def close(self) -> None:
        """Run ``on_end_request`` hooks and release the request (once)."""
        if self.closed:
            return
        self.closed = True
        self.stage = "on_end_request"
        hooks = self.__dict__.get("_hooks")
        if hooks is None:
            plan = self.__dict__.get("_plan")
            hooks = plan.hooks if plan is not None else None
        try:
            if hooks is not None:
                end_hooks = hooks.get("on_end_request")
                if end_hooks:
                    run_hooks(end_hooks)
        finally:
            body = self.__dict__.get("body")
            if body is not None:
                _close_spooled_parts(body)
        self.stage = "close"

    def run(self, method: str, path: str, query_string: str, req_protocol: str,
            headers: Iterable[tuple[str, str]], rfile: Any) -> Response:
        """Process a request given its parts (CherryPy's server-facing entry point).

        WSGI servers do not use this: the application builds requests from the environ.
        It is kept for native gateways and code that drives requests directly.
        """
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            "PATH_INFO": path or "/",
            "QUERY_STRING": query_string or "",
            "SERVER_PROTOCOL": req_protocol,
            "wsgi.input": rfile,
            "wsgi.url_scheme": self.scheme,
            "SERVER_NAME": self.local.name,
            "SERVER_PORT": str(self.local.port),
            "REMOTE_ADDR": self.remote.ip,
            "REMOTE_PORT": str(self.remote.port),
        }
        for name, value in headers:
            key = name.upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                environ[key] = value
            else:
                environ["HTTP_" + key] = value
        self.wsgi_environ = environ
        self.method = method
        self.query_string = query_string or ""
        script_name = self.app.script_name if self.app is not None else ""
        self.script_name = script_name or ""
        full_path = path or "/"
        self.path_info = full_path[len(self.script_name):] or "/"
        self.protocol = min(_protocol(req_protocol), _protocol(self.server_protocol))
        serving.response.headers.protocol = self.protocol
        self.__dict__.pop("header_list", None)
        self.__dict__.pop("headers", None)
        self.rfile = rfile
        self.serve()
        return serving.response  # type: ignore[no-any-return]

    def serve(self) -> None:
        """Produce ``drupe.response`` for this request; never raises except ``throws``."""
        response = serving.response
        self.stage = "respond"
        try:
            self.respond(self.path_info)
        except self.throws:
            raise
        except Exception:
            if self.throw_errors:
                raise
            # The error machinery itself failed: answer with the bare 500.
            from drupe._log import log

            log("Unrecoverable error while handling the request:", "HTTP", severity=40,
                traceback=True)
            body = format_exc() if self.show_tracebacks else ""
            status, header_list, content = bare_error(body)
            response.status = status
            response.output_status = status.encode("latin-1")
            response.header_list = header_list
            response._body = content
        if self.method == "HEAD":
            # A HEAD response carries the headers a GET would, without the body.
            response._body = []
        _log_access()

    def respond(self, path_info: str) -> None:
        """Run the pipeline for ``path_info`` (see the module docstring)."""
        try:
            try:
                try:
                    self._do_respond(path_info)
                except (HTTPRedirect, HTTPError, TimeoutError) as inst:
                    # A timed-out response is answered 503 (TimeoutError's contract), not 500.
                    answer = HTTPError(503) if isinstance(inst, TimeoutError) else inst
                    answer.set_response()
                    self.stage = "before_finalize (HTTPError)"
                    self._run_point("before_finalize")
                    serving.response.finalize()
            finally:
                self.stage = "on_end_resource"
                self._run_point("on_end_resource")
        except self.throws:
            raise
        except Exception:
            if self.throw_errors:
                raise
            self.handle_error()

    def _run_point(self, point: str) -> None:
        hooks = self.__dict__.get("_hooks")
        if hooks is None:
            plan = self.__dict__.get("_plan")
            if plan is None:
                return
            hooks = plan.hooks
        point_hooks = hooks.get(point)
        if point_hooks:
            run_hooks(point_hooks)

    def _do_respond(self, path_info: str) -> None:
        response = serving.response
        if self.app is None:
            raise NotFound()
        self.stage = "process_headers"
        self.process_headers()
        self.stage = "get_resource"
        self.get_resource(path_info)
        plan = self._plan
        hooks = plan.hooks
        if plan.dynamic_tools or plan.custom_namespaces:
            self._configure_dynamic(plan)
            hooks = self.__dict__.get("_hooks", hooks)

        self.stage = "on_start_resource"
        if hooks["on_start_resource"]:
            run_hooks(hooks["on_start_resource"])
            hooks = self.__dict__.get("_hooks", hooks)
        self.stage = "process_query_string"
        self.process_query_string()
        if self.process_request_body and self.method not in self.methods_with_bodies:
            self.process_request_body = False
        self.stage = "before_request_body"
        if hooks["before_request_body"]:
            run_hooks(hooks["before_request_body"])
            hooks = self.__dict__.get("_hooks", hooks)
        if self.process_request_body:
            self.body.process()
        self.stage = "before_handler"
        if hooks["before_handler"]:
            run_hooks(hooks["before_handler"])
            hooks = self.__dict__.get("_hooks", hooks)
        if response.timed_out:
            raise TimeoutError()
        handler = self.handler
        if handler:
            self.stage = "handler"
            response.body = handler()
            if response.timed_out:
                raise TimeoutError()
        self.stage = "before_finalize"
        if hooks["before_finalize"]:
            run_hooks(hooks["before_finalize"])
        response.finalize()

    def _configure_dynamic(self, plan: Any) -> None:
        """Run what cannot be planned: custom request namespaces and per-request tools."""
        if plan.custom_namespaces:
            from drupe._config import NamespaceSet

            NamespaceSet(plan.custom_namespaces)(plan.config)
        for tool in plan.dynamic_tools:
            tool._setup()

    def process_headers(self) -> None:
        """Validate the Host header (required for HTTP/1.1; must be well formed)."""
        error = self.__dict__.get("_request_error")
        if error is not None:
            if error[0] == 404:
                raise NotFound()
            raise HTTPError(*error)
        environ = self.wsgi_environ
        host = environ.get("HTTP_HOST") if environ is not None else None
        if host is None:
            if self.protocol >= (1, 1):
                raise HTTPError(400, "HTTP/1.1 requires a 'Host' request header.")
        elif host not in _valid_hosts:
            try:
                _httputil.split_host(host)
            except ValueError as exc:
                raise HTTPError(400, str(exc)) from None
            # PERF: a server sees few distinct Host values; remember the good ones.
            if len(_valid_hosts) < 256:
                _valid_hosts.add(host)

    def process_query_string(self) -> None:
        """Parse the query string into ``request.params`` (404 when undecodable)."""
        query_string = self.query_string
        if not query_string:
            return
        try:
            parsed = _httputil.parse_query_string(
                query_string, encoding=self.query_string_encoding, max_num_fields=self.max_params
            )
        except UnicodeDecodeError:
            raise HTTPError(
                404,
                "The given query string could not be processed. Query strings for this "
                f"resource must be encoded with {self.query_string_encoding!r}.",
            ) from None
        except ValueError:
            raise HTTPError(
                413, f"Too many query string parameters (the limit is {self.max_params})."
            ) from None
        self.params.update(parsed)

    def get_resource(self, path: str) -> None:
        """Find the plan for ``path`` (dispatching if needed) and apply it."""
        from drupe._plan import plan_for

        plan_for(self, path)

    def handle_error(self) -> None:
        """Answer an unanticipated error: error hooks, ``error_response``, finalize.

        The error is logged after the ``before_error_response`` hooks ran, unless one of
        them logged it already and said so by setting ``request.error_logged`` (the
        ``log_tracebacks`` tool does): it is logged once either way.
        """
        hook_failure: BaseException | None = None
        try:
            self._run_point("before_error_response")
        except BaseException as exc:
            # Keep it for later: the original error must be logged first, and out here
            # sys.exc_info() is that error again.
            hook_failure = exc
        if not self.error_logged:
            from drupe._log import log

            log(f"Error while handling {self.request_line!r}:", "HTTP", severity=40,
                traceback=True)
        try:
            if hook_failure is not None:
                raise hook_failure
            error_response: Any = self.error_response
            if error_response:
                error_response()
            self._run_point("after_error_response")
            serving.response.finalize()
        except HTTPRedirect as inst:
            inst.set_response()
            serving.response.finalize()

    def __repr__(self) -> str:
        return f"<drupe.Request {self.method} {self.script_name}{self.path_info}>"


def _close_spooled_parts(body: Any) -> None:
    """Close the temporary files holding large uploads: they live as long as the request."""
    from drupe._body import Part

    candidates: list[Any] = list(getattr(body, "parts", None) or [])
    for value in (getattr(body, "params", None) or {}).values():
        candidates.extend(value if isinstance(value, list) else [value])
    for part in candidates:
        if isinstance(part, Part) and part.file is not None and not isinstance(part.file, io.BytesIO):
            part.file.close()


def _protocol(text: str) -> tuple[int, int]:
    if len(text) == 8 and text.startswith("HTTP/") and text[5].isdigit() and text[7].isdigit():
        return int(text[5]), int(text[7])
    return (1, 0)


_LAZY: dict[str, Callable[[Request], Any]] = {
    "header_list": Request._compute_header_list,
    "headers": Request._compute_headers,
    "cookie": Request._compute_cookie,
    "base": Request._compute_base,
    "local": Request._compute_local,
    "remote": Request._compute_remote,
    "request_line": Request._compute_request_line,
    "body": Request._compute_body,
    "hooks": Request._compute_hooks,
    "unique_id": lambda request: LazyUUID4(),
    # Per request: a handler may add pages without touching other requests.
    "error_page": lambda request: {},
    # The plan's merged config is shared; a request gets its own copy when it asks.
    "config": lambda request: (dict(request.__dict__["_plan"].config)
                               if "_plan" in request.__dict__ else None),
}


def _log_access() -> None:
    from drupe._log import log

    try:
        log.access()
    except Exception:
        log.error("Could not write the access log line:", "HTTP", severity=40, traceback=True)


# ---------------------------------------------------------------------------
# Response


def _prepare_body(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, (bytes, str)):
        return [value]
    if isinstance(value, list):
        return value
    if isinstance(value, tuple):
        return list(value)
    if hasattr(value, "read"):
        from drupe.lib import file_generator

        return file_generator(value)
    return value


class ResponseBody:
    """The ``response.body`` descriptor: stores bytes, str, lists, files or iterators.

    str chunks are encoded to UTF-8 when the response is finalized (or by the ``encode``
    tool before that, with charset negotiation), so page handlers may return text.
    """

    def __get__(self, obj: Any, objclass: Any = None) -> Any:
        if obj is None:
            return self
        return obj._body

    def __set__(self, obj: Any, value: Any) -> None:
        obj._body = _prepare_body(value)


def _encode_chunks(chunks: Iterable[Any]) -> Iterator[bytes]:
    for chunk in chunks:
        if type(chunk) is str:
            yield chunk.encode("utf-8")
        elif chunk:
            yield chunk if type(chunk) is bytes else bytes(chunk)


def _server_header() -> str:
    from drupe._version import __version__

    global _SERVER_HEADER
    _SERVER_HEADER = "drupe/" + __version__
    return _SERVER_HEADER


_SERVER_HEADER = ""


class Response:
    """The response being built (``drupe.response``)."""

    status: Any = ""
    header_list: list[tuple[str, str]] | None = None
    body = ResponseBody()
    output_status: bytes | None = None
    stream = False
    timeout = 300.0
    timed_out = False
    server_header: str | None = None

    def __init__(self) -> None:
        self.status = ""
        self._body: Any = []
        self.time = time.time()
        server = self.server_header or _SERVER_HEADER or _server_header()
        headers = HeaderMap()
        store = dict.__setitem__
        store(headers, "Content-Type", "text/html")
        store(headers, "Server", server)
        store(headers, "Date", _httputil.HTTPDate())
        self.headers = headers

    def __getattr__(self, name: str) -> Any:
        if name == "cookie":
            from http.cookies import SimpleCookie

            cookie = SimpleCookie()
            self.__dict__["cookie"] = cookie
            return cookie
        raise AttributeError(f"'Response' object has no attribute {name!r}")

    def check_timeout(self) -> None:
        """Set ``timed_out`` when the response has run longer than ``timeout`` seconds."""
        if time.time() > self.time + self.timeout:
            self.timed_out = True

    def collapse_body(self) -> bytes:
        """Join the body into one bytes object (and keep it as the body)."""
        body = self._body
        if type(body) is list and len(body) == 1 and type(body[0]) is bytes:
            return body[0]
        content = b"".join(_encode_chunks(body))
        self._body = [content]
        return content

    def _encoded(self) -> bool:
        """Encode str chunks to UTF-8 in place; True when any was found."""
        body = self._body
        if type(body) is list:
            if not any(type(chunk) is str for chunk in body):
                return False
            self._body = [chunk.encode("utf-8") if type(chunk) is str else chunk for chunk in body]
            return True
        if self.stream:
            self._body = _encode_chunks(body)
            return True
        return False

    def finalize(self) -> None:
        """Fix the status line, Content-Length and header list before sending."""
        try:
            code, reason, _ = _httputil.valid_status(self.status)
        except ValueError as exc:
            raise HTTPError(500, exc.args[0]) from None
        headers = self.headers
        status = f"{code} {reason}"
        self.status = status
        self.output_status = status.encode("latin-1")

        if self._encoded():
            content_type = dict.get(headers, "Content-Type")
            if (isinstance(content_type, str) and content_type.startswith("text/")
                    and "charset" not in content_type):
                dict.__setitem__(headers, "Content-Type", content_type + ";charset=utf-8")

        if self.stream:
            if dict.get(headers, "Content-Length") is None:
                dict.pop(headers, "Content-Length", None)
            if type(self._body) is list:
                self._body = iter(self._body)
        elif code < 200 or code in (204, 205, 304):
            dict.pop(headers, "Content-Length", None)
            self._body = []
        elif dict.get(headers, "Content-Length") is None:
            content = self.collapse_body()
            dict.__setitem__(headers, "Content-Length", str(len(content)))

        header_list = headers.output()
        cookie = self.__dict__.get("cookie")
        if cookie:
            for line in cookie.output().split("\r\n"):
                name, value = line.split(": ", 1)
                header_list.append((name, HeaderMap.encode(value)))
        self.header_list = header_list

    def __repr__(self) -> str:
        return f"<drupe.Response {self.status or '(unfinished)'}>"


def install_placeholders() -> None:
    """What ``drupe.request`` / ``drupe.response`` show outside a request."""
    serving.__class__.request = Request(Host("127.0.0.1", 80), Host("127.0.0.1", 1111))
    serving.__class__.response = Response()


install_placeholders()


def format_exception_only() -> str:
    """The last line of the current exception, for short log messages."""
    exc = sys.exc_info()[1]
    return f"{type(exc).__name__}: {exc}" if exc is not None else ""
