"""The ``session_auth`` tool: a form login kept in the session (CherryPy's SessionAuth).

A ``HandlerTool`` at ``before_handler`` (priority 50). With ``tools.session_auth.on`` a
path needs a logged-in user: the user name is kept in ``drupe.session[session_key]`` and
copied to ``request.login``. Requests ending in ``login_screen`` show the form, POSTs to
``do_login`` check the credentials with ``check_username_and_password(username,
password)`` (it returns an error message, or None for success) and POSTs to ``do_logout``
log out. Every other request without a user gets the login screen (or the user name
``anonymous()`` returns).

Options (``tools.session_auth.<name>``): ``session_key`` ('username'),
``check_username_and_password``, ``anonymous``, ``on_login``, ``on_logout``,
``on_check``, ``login_screen``, ``do_login``, ``do_logout``, ``do_check``, ``debug``.
The callables are called with the arguments CherryPy documents.

Where drupe is stricter than CherryPy:

* the login screen escapes what it echoes (CherryPy's puts the user name and the message
  into the page as they are);
* ``from_page`` must be a path on this site (no scheme or host), else ``/`` is used:
  no open redirect;
* a successful login gives the session a new id (no session fixation);
* a missing ``username``/``password`` is a 400, not an error in the handler.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urlsplit

import drupe

__all__ = ["SessionAuth", "SessionAuthTool", "session_auth", "tool"]

LOG_CONTEXT = "TOOLS.SESSAUTH"


def _local(url: Any, default: str = "/") -> str:
    """``url`` if it is a path on this site (relative or absolute path), else ``default``."""
    if not isinstance(url, str) or not url:
        return default
    if any(ch in url for ch in "\r\n\\\x00"):
        return default
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or url.startswith("//"):
        return default
    return url


class SessionAuth:
    """One login check; the tool sets its config entries as attributes of an instance."""

    session_key = "username"
    debug = False

    def check_username_and_password(self, username: str, password: str) -> str | None:
        """An error message when the credentials are wrong; None when they are right."""
        return None

    def anonymous(self) -> str | None:
        """A user name for a visitor who is not logged in (None: show the login screen)."""
        return None

    def on_login(self, username: str) -> None:
        """Called after a successful login."""

    def on_logout(self, username: str) -> None:
        """Called after a logout."""

    def on_check(self, username: str) -> None:
        """Called on each request of a logged-in user."""

    def login_screen(self, from_page: str = "..", username: str = "", error_msg: str = "",
                     **kwargs: Any) -> bytes:
        """The login form (bytes, UTF-8)."""
        escape = html.escape
        page = (
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Log in</title></head><body>\n"
            f"<p>{escape(str(error_msg))}</p>\n"
            "<form method=\"post\" action=\"do_login\">\n"
            f"  <label>User name <input type=\"text\" name=\"username\" value=\"{escape(str(username))}\" "
            "size=\"20\"></label><br>\n"
            "  <label>Password <input type=\"password\" name=\"password\" size=\"20\"></label><br>\n"
            f"  <input type=\"hidden\" name=\"from_page\" value=\"{escape(str(from_page))}\">\n"
            "  <input type=\"submit\" value=\"Log in\">\n"
            "</form>\n</body></html>\n"
        )
        return page.encode("utf-8")

    def _show(self, body: bytes) -> bool:
        response = drupe.serving.response
        response.body = body
        response.headers.pop("Content-Length", None)
        response.headers["Content-Type"] = "text/html;charset=utf-8"
        return True

    def do_login(self, username: str | None = None, password: str | None = None,
                 from_page: str = "..", **kwargs: Any) -> bool:
        """Check the credentials: redirect to ``from_page``, or show the form again."""
        if not isinstance(username, str) or not isinstance(password, str):
            raise drupe.HTTPError(400, "The login form needs one 'username' and one 'password'.")
        error_msg = self.check_username_and_password(username, password)
        if error_msg:
            return self._show(self.login_screen(from_page, username, error_msg))
        session = drupe.serving.session
        session.regenerate()
        drupe.serving.request.login = username
        session[self.session_key] = username
        self.on_login(username)
        raise drupe.HTTPRedirect(_local(from_page))

    def do_logout(self, from_page: str = "..", **kwargs: Any) -> bool:
        """Forget the user and redirect to ``from_page``."""
        session = drupe.serving.session
        username = session.get(self.session_key)
        session[self.session_key] = None
        if username:
            drupe.serving.request.login = None
            self.on_logout(username)
        raise drupe.HTTPRedirect(_local(from_page))

    def do_check(self) -> bool | None:
        """Let a logged-in user through (``request.login``); others get the login screen."""
        session = drupe.serving.session
        request = drupe.serving.request
        username = session.get(self.session_key)
        if not username:
            username = self.anonymous()
            session[self.session_key] = username
        if not username:
            if self.debug:
                drupe.log("No user in the session: showing the login screen.", LOG_CONTEXT)
            return self._show(self.login_screen(drupe.url(qs=request.query_string)))
        request.login = username
        self.on_check(username)
        return None

    def run(self) -> bool | None:
        request = drupe.serving.request
        if getattr(drupe.serving, "session", None) is None:
            raise drupe.HTTPError(500, "tools.session_auth needs tools.sessions.on for the same path.")
        path = request.path_info
        params = dict(request.params)
        if path.endswith("login_screen"):
            return self._show(self.login_screen(**params))
        if path.endswith(("do_login", "do_logout")):
            if request.method != "POST":
                drupe.serving.response.headers["Allow"] = "POST"
                raise drupe.HTTPError(405)
            for name, value in params.items():
                if isinstance(value, list):
                    raise drupe.HTTPError(400, f"The parameter {name!r} was given more than once.")
            if path.endswith("do_login"):
                return self.do_login(**params)
            return self.do_logout(**params)
        return self.do_check()


def session_auth(**kwargs: Any) -> bool | None:
    """Run a :class:`SessionAuth` whose attributes are the tool's config entries."""
    auth = SessionAuth()
    for name, value in kwargs.items():
        setattr(auth, name, value)
    return auth.run()


class SessionAuthTool(drupe.HandlerTool):
    """``tools.session_auth`` (before_handler, priority 50)."""

    _skip_argument_check = True
    _KNOWN = frozenset(name for name in vars(SessionAuth) if not name.startswith("_")) | {
        "on", "priority"}

    def __init__(self) -> None:
        super().__init__(session_auth, "session_auth", 50)

    def check_settings(self, settings: dict[str, Any]) -> None:
        for name in settings:
            if name not in self._KNOWN:
                import difflib

                matches = difflib.get_close_matches(name, sorted(self._KNOWN), n=1)
                hint = f" Did you mean {matches[0]!r}?" if matches else ""
                raise drupe.ConfigError(
                    f"Config key 'tools.session_auth.{name}': the session_auth tool has no "
                    f"option {name!r}.{hint} Its options: {', '.join(sorted(self._KNOWN))}."
                )


tool = SessionAuthTool()
