"""The WSGI face of an application: environ in, status, headers and body out.

``Application.__call__`` runs ``app.wsgiapp``: the middleware of ``wsgi.pipeline`` (if
any) around :func:`serve`. :func:`serve` builds a :class:`~drupe._request.Request` from the
environ, runs the pipeline, follows internal redirects, and returns the body as an
iterable whose ``close()`` ends the request (``on_end_request`` hooks, the
``after_request`` bus channel). A response that needs nothing at close time is returned
as a plain list, released at once.

Errors never escape to the server except the ones that must (``KeyboardInterrupt``,
``SystemExit`` and whatever ``request.throws`` lists); everything else becomes an error
response, or a bare 500 if even that fails.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from drupe._errors import InternalRedirect, bare_error, format_exc
from drupe._serving import _in_flight, serving

__all__ = ["ClosingBody", "WSGIPipeline", "serve"]

StartResponse = Callable[..., Any]


def _recode(text: str, encoding: str) -> str | None:
    """PEP 3333 gives path and query as latin-1-decoded str; decode them properly."""
    if text.isascii():
        return text
    try:
        return text.encode("latin-1").decode(encoding)
    except (UnicodeEncodeError, UnicodeDecodeError, LookupError):
        return None


def _build_request(app: Any, environ: dict[str, Any], prev: Any) -> tuple[Any, Any]:
    request_class = app.request_class
    request = request_class.__new__(request_class)
    state = request.__dict__
    state["wsgi_environ"] = environ
    state["app"] = app
    state["prev"] = prev
    state["params"] = {}
    method = environ["REQUEST_METHOD"]
    state["method"] = method
    state["scheme"] = environ.get("wsgi.url_scheme", "http")
    server_protocol = environ.get("ACTUAL_SERVER_PROTOCOL", "HTTP/1.1")
    state["server_protocol"] = server_protocol
    client_protocol = environ.get("SERVER_PROTOCOL", "HTTP/1.1")
    if client_protocol == "HTTP/1.1" and server_protocol == "HTTP/1.1":
        state["protocol"] = (1, 1)
    else:
        state["protocol"] = min(_protocol(client_protocol), _protocol(server_protocol))
    state["rfile"] = environ.get("wsgi.input")
    state["multithread"] = environ.get("wsgi.multithread", True)
    state["multiprocess"] = environ.get("wsgi.multiprocess", False)

    try:
        encoding = app.uri_encoding_for(environ.get("PATH_INFO", ""))
    except Exception:
        # A broken request.dispatch (say) fails again inside the pipeline, where it
        # becomes a logged 500 instead of escaping to the server.
        encoding = "utf-8"
    path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    decoded_path = _recode(path, encoding)
    query_string = environ.get("QUERY_STRING", "")
    decoded_qs = _recode(query_string, encoding)
    state["query_string"] = decoded_qs if decoded_qs is not None else query_string
    script_name = app.script_name
    if script_name is None:
        script_name = environ.get("SCRIPT_NAME", "").rstrip("/")
    state["script_name"] = script_name
    if decoded_path is None:
        state["path_info"] = path
        state["_request_error"] = (400, f"The request path is not valid {encoding}.")
    else:
        decoded_path = decoded_path or "/"
        if script_name and not decoded_path.startswith(script_name):
            state["_request_error"] = (404, None)
        # As in CherryPy, a request for the mount point itself ("/app") has an empty
        # path_info, so trailing_slash can tell it from "/app/".
        state["path_info"] = decoded_path[len(script_name):]

    response = app.response_class()
    if state["protocol"] != (1, 1):
        response.headers.protocol = state["protocol"]
    return request, response


def _protocol(text: str) -> tuple[int, int]:
    if len(text) == 8 and text.startswith("HTTP/") and text[5].isdigit() and text[7].isdigit():
        return int(text[5]), int(text[7])
    return (1, 0)


def serve(app: Any, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Handle one WSGI call for ``app``."""
    from drupe._engine import engine

    redirections: list[str] = []
    prev = None
    while True:
        request, response = _build_request(app, environ, prev)
        serving.load(request, response)
        _in_flight[id(request)] = (request, response)
        listeners = engine.listeners
        if listeners.get("acquire_thread"):
            engine.publish("acquire_thread")
        if listeners.get("before_request"):
            engine.publish("before_request")
        try:
            request.serve()
        except InternalRedirect as redirect:
            _release(request)
            try:
                environ = _redirected_environ(app, environ, redirect, redirections)
            except RuntimeError:
                # A redirect loop: answer 500 rather than let the error reach the server.
                from drupe._log import log

                log("Internal redirect failed:", "HTTP", severity=40, traceback=True)
                status, headers, content = bare_error(
                    format_exc() if request.show_tracebacks else None)
                start_response(status, headers)
                return content
            prev = request
            continue
        except BaseException:
            _release(request)
            raise
        break

    body = response._body
    header_list = response.header_list
    # PERF: finalize() made every header a clean str pair; only hooks that ran after it
    # (on_end_resource) can have added others, so the full check runs only then.
    if not _plain_headers(header_list):
        try:
            header_list = wsgi_headers(header_list)
        except (TypeError, ValueError):
            from drupe._log import log

            log("The response headers cannot be sent:", "HTTP", severity=40, traceback=True)
            status, header_list, body = bare_error(
                format_exc() if request.show_tracebacks else None)
            response.status = status
            response._body = body
    try:
        start_response(response.status, header_list)
    except BaseException:
        _release(request)
        raise
    # PERF: a buffered body with nothing to run at close time is handed over as it is, and
    # the request released now; only streams and requests with end hooks need a wrapper.
    if type(body) is list and not _needs_close(request):
        state = request.__dict__
        if "body" in state or "_hooks" in state or listeners.get("after_request"):
            _release(request)
        else:
            # Nothing to close, no hook, no listener: ending the request is this.
            state["closed"] = True
            state["stage"] = "close"
            _in_flight.pop(id(request), None)
            serving.clear()
        return body
    return ClosingBody(body, request, response)


def _plain_headers(header_list: Any) -> bool:
    """True when every header is a pair of str without line breaks (what finalize() makes)."""
    try:
        for name, value in header_list:
            if (type(name) is not str or type(value) is not str or ":" in name
                    or "\n" in value or "\r" in value):
                return False
    except (TypeError, ValueError):
        return False
    return True


def wsgi_headers(header_list: Iterable[Any]) -> list[tuple[str, str]]:
    """``response.header_list`` as PEP 3333 wants it: ``str`` names and values.

    Code written for CherryPy appends ``bytes`` pairs (CherryPy's own type for the list);
    they are decoded as latin-1. Anything else, or a line break in a value, is a
    ``TypeError`` / ``ValueError`` naming the culprit.
    """
    result: list[tuple[str, str]] = []
    for item in header_list:
        try:
            name, value = item
        except (TypeError, ValueError):
            raise TypeError(f"response.header_list holds {item!r}, not a (name, value) pair.") from None
        pair = []
        for role, text in (("name", name), ("value", value)):
            if isinstance(text, bytes):
                text = text.decode("latin-1")
            elif not isinstance(text, str):
                raise TypeError(f"response.header_list {role} {text!r} is neither str nor bytes.")
            if "\r" in text or "\n" in text or (role == "name" and (not text or ":" in text)):
                raise ValueError(f"response.header_list {role} {text!r} is not a valid header {role}.")
            pair.append(text)
        result.append((pair[0], pair[1]))
    return result


def _needs_close(request: Any) -> bool:
    from drupe._engine import engine

    if engine.listeners.get("after_request"):
        return True
    hooks = request.__dict__.get("_hooks")
    if hooks is None:
        plan = request.__dict__.get("_plan")
        hooks = plan.hooks if plan is not None else None
    return bool(hooks is not None and hooks.get("on_end_request"))


def _redirected_environ(app: Any, environ: dict[str, Any], redirect: InternalRedirect,
                        redirections: list[str]) -> dict[str, Any]:
    script_name = environ.get("SCRIPT_NAME", "")
    old_uri = script_name + environ.get("PATH_INFO", "")
    if environ.get("QUERY_STRING"):
        old_uri += "?" + environ["QUERY_STRING"]
    redirections.append(old_uri)
    new_uri = script_name + redirect.path
    if redirect.query_string:
        new_uri += "?" + redirect.query_string
    recursive = app.find_config(redirect.path, "request.recursive_redirect", False)
    if not recursive and new_uri in redirections:
        raise RuntimeError(f"InternalRedirect visited the same URL twice: {new_uri!r}")
    if len(redirections) > 100:
        raise RuntimeError(f"More than 100 internal redirects for {redirections[0]!r}")
    new_environ = dict(environ)
    new_environ["REQUEST_METHOD"] = "GET"
    new_environ["PATH_INFO"] = _latin1(redirect.path)
    new_environ["QUERY_STRING"] = _latin1(redirect.query_string)
    new_environ["wsgi.input"] = io.BytesIO()
    new_environ["CONTENT_LENGTH"] = "0"
    new_environ.pop("CONTENT_TYPE", None)
    new_environ.pop("HTTP_TRANSFER_ENCODING", None)
    new_environ["drupe.previous_request"] = redirect.request
    return new_environ


def _latin1(text: str) -> str:
    return text.encode("utf-8").decode("latin-1")


def _release(request: Any) -> None:
    """End the request: on_end_request hooks, bus channel, thread-locals."""
    from drupe._engine import engine

    try:
        request.close()
    except Exception:
        from drupe._log import log

        log("Error in on_end_request hooks:", "HTTP", severity=40, traceback=True)
    _in_flight.pop(id(request), None)
    try:
        if engine.listeners.get("after_request"):
            engine.publish("after_request")
    except Exception:
        from drupe._log import log

        log("Error in an after_request listener:", "ENGINE", severity=40, traceback=True)
    serving.clear()


class ClosingBody:
    """The body iterable handed to the server; ``close()`` ends the request.

    Streaming bodies are produced here, after the headers went out: an exception while
    producing one is logged and re-raised, so the server closes the connection rather
    than send a truncated body as if it were complete. A timed-out response stops too.
    """

    def __init__(self, body: Any, request: Any, response: Any) -> None:
        self.request = request
        self.response = response
        self._iter: Iterator[Any] = iter(body)
        self._body = body
        # Only a body still being produced can be cut short; a buffered one (the 503 page
        # answering a timeout, say) is complete and must reach the client.
        self._streamed = type(body) is not list
        self._closed = False

    def __iter__(self) -> ClosingBody:
        return self

    def __next__(self) -> bytes:
        serving.load(self.request, self.response)
        if self._streamed and self.response.timed_out:
            from drupe._log import log

            log("The streamed response timed out; closing the connection.", "HTTP", severity=30)
            raise RuntimeError("response timed out while streaming")
        try:
            chunk = next(self._iter)
        except StopIteration:
            raise
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception:
            from drupe._log import log

            log("Error while streaming the response body:", "HTTP", severity=40, traceback=True)
            raise
        if type(chunk) is str:
            return chunk.encode("utf-8")
        return chunk  # type: ignore[no-any-return]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        closer = getattr(self._body, "close", None)
        serving.load(self.request, self.response)
        try:
            if closer is not None:
                closer()
        finally:
            _release(self.request)


class WSGIPipeline:
    """``app.wsgiapp``: the ``wsgi.pipeline`` middleware around :func:`serve`.

    ``wsgi.pipeline`` is a list of ``(name, factory)`` pairs; ``factory(next_app, **conf)``
    must return a WSGI callable, with ``conf`` from ``wsgi.<name>.<arg>`` keys. The first
    pair is the outermost middleware.
    """

    def __init__(self, app: Any, pipeline: list[tuple[str, Any]] | None = None) -> None:
        self.app = app
        self.pipeline: list[tuple[str, Any]] = list(pipeline or [])
        self.config: dict[str, dict[str, Any]] = {}
        self.response_class: Any = None
        self.head: Any = None

    def tail(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        return serve(self.app, environ, start_response)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        head = self.head
        if head is None:
            head = self.tail
            for name, factory in reversed(self.pipeline):
                head = factory(head, **self.config.get(name, {}))
            self.head = head
        return head(environ, start_response)  # type: ignore[no-any-return]

    def namespace_handler(self, key: str, value: Any) -> None:
        """Handler of the ``wsgi`` config namespace."""
        if key == "pipeline":
            if not isinstance(value, (list, tuple)) or not all(
                isinstance(item, (list, tuple)) and len(item) == 2 for item in value
            ):
                from drupe._errors import ConfigError

                raise ConfigError("Config key 'wsgi.pipeline' must be a list of (name, factory) pairs.")
            for item in value:
                if tuple(item) not in [tuple(p) for p in self.pipeline]:
                    self.pipeline.append((item[0], item[1]))
        elif key == "response_class":
            self.app.response_class = value
        else:
            name, _, arg = key.partition(".")
            if not arg:
                from drupe._errors import ConfigError

                raise ConfigError(f"Config key 'wsgi.{key}': expected 'wsgi.<middleware name>.<argument>'.")
            self.config.setdefault(name, {})[arg] = value
        self.head = None


def downgrade_wsgi_ux_to_1x(environ: dict[str, Any]) -> dict[str, Any]:
    """CherryPy's WSGI u.x helper: the environ unchanged (drupe speaks PEP 3333 only)."""
    return environ


def exception_body() -> tuple[str, list[tuple[str, str]], list[bytes]]:
    """A bare 500 (with the traceback when the current request shows tracebacks)."""
    show = getattr(serving.request, "show_tracebacks", False)
    return bare_error(format_exc() if show else None)


def report_bare_error(start_response: StartResponse) -> list[bytes]:
    status, headers, body = exception_body()
    start_response(status, headers, sys.exc_info())
    return body
