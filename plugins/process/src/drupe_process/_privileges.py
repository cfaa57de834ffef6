"""``DropPrivileges``: start as root, then run as an unprivileged user.

The ``start`` listener runs at priority 77, just after the HTTP server (75) has bound its
port: a process started as root can listen on port 80 and then give up root for good::

    start: ... 65 daemonizer, 70 PID file / monitors, 75 server binds, 77 drop privileges

``uid`` and ``gid`` take a number or a name (looked up in the user and group databases
when set, so a misspelled name is a config error naming the key). Switching happens once
per process, in this order: supplementary groups (the user's groups from the group
database when the user is known, else just ``gid``), ``setgid``, ``setuid``, then
``umask``. When only ``uid`` is given, the group becomes that user's primary group — not
root's group, which CherryPy keeps. After the switch the plugin checks that root cannot be
regained, and stops the start if it can.

A process that is not root cannot change its user: asking it to is a startup error,
unless the requested ids are already the current ones (then nothing happens). ``umask``
(an int, or a string of octal digits such as ``'027'``) is applied whoever runs.

Caveat: after privileges are dropped, a restart by re-execution (``SIGHUP`` on a daemon,
the autoreloader) runs as the unprivileged user and cannot bind a port below 1024 again.
Under systemd, prefer socket activation (systemd binds the port) or
``AmbientCapabilities=CAP_NET_BIND_SERVICE`` with ``User=``.
"""

from __future__ import annotations

import os
from typing import Any

from drupe import ConfigError, SimplePlugin
from drupe_process._monitor import priority

__all__ = ["DropPrivileges", "PrivilegeError"]

try:
    import grp
    import pwd
except ImportError:  # pragma: no cover - Windows
    grp = None  # type: ignore[assignment]
    pwd = None  # type: ignore[assignment]


class PrivilegeError(RuntimeError):
    """The requested user or group could not be taken (or root could be regained)."""

    startup_error = True


def _key(name: str) -> str:
    return f"engine.drop_privileges.{name}"


def _as_id(value: object, name: str) -> int:
    """A user or group id given as an int or a string of digits."""
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"Config key {_key(name)!r}: expected a name or a number >= 0, not {value!r}.")
    return value


class DropPrivileges(SimplePlugin):
    """Switch user, group and umask once the server is bound (see the module docstring)."""

    def __init__(self, bus: Any, umask: int | str | None = None, uid: int | str | None = None,
                 gid: int | str | None = None) -> None:
        super().__init__(bus)
        self._uid: int | None = None
        self._gid: int | None = None
        self._umask: int | None = None
        self._username: str | None = None
        self.uid = uid
        self.gid = gid
        self.umask = umask
        self.finalized = False

    # -- settings ----------------------------------------------------------------------

    @property
    def uid(self) -> int | None:
        """The user id to run as (set a number or a user name)."""
        return self._uid

    @uid.setter
    def uid(self, value: int | str | None) -> None:
        self._username = None
        if value is None:
            self._uid = None
            return
        if pwd is None:
            raise ConfigError(f"Config key {_key('uid')!r}: this platform has no user ids.")
        if isinstance(value, str) and not value.isdigit():
            try:
                entry = pwd.getpwnam(value)
            except KeyError:
                raise ConfigError(f"Config key {_key('uid')!r}: there is no user named {value!r}.") from None
            self._uid, self._username = entry.pw_uid, entry.pw_name
            return
        number = _as_id(value, "uid")
        self._uid = number
        try:
            self._username = pwd.getpwuid(number).pw_name
        except KeyError:
            self._username = None

    @property
    def gid(self) -> int | None:
        """The group id to run as (set a number or a group name)."""
        return self._gid

    @gid.setter
    def gid(self, value: int | str | None) -> None:
        if value is None:
            self._gid = None
            return
        if grp is None:
            raise ConfigError(f"Config key {_key('gid')!r}: this platform has no group ids.")
        if isinstance(value, str) and not value.isdigit():
            try:
                self._gid = grp.getgrnam(value).gr_gid
            except KeyError:
                raise ConfigError(f"Config key {_key('gid')!r}: there is no group named {value!r}.") from None
            return
        self._gid = _as_id(value, "gid")

    @property
    def umask(self) -> int | None:
        """The umask to set (an int such as ``0o027``, or octal digits ``'027'``)."""
        return self._umask

    @umask.setter
    def umask(self, value: int | str | None) -> None:
        if value is None:
            self._umask = None
            return
        if isinstance(value, str):
            try:
                value = int(value, 8)
            except ValueError:
                raise ConfigError(f"Config key {_key('umask')!r}: {value!r} is not an octal "
                                  "number such as '027'.") from None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0o777:
            raise ConfigError(f"Config key {_key('umask')!r}: expected a mode between 0 and "
                              f"0o777, not {value!r}.")
        self._umask = value

    # -- the switch ----------------------------------------------------------------------

    @priority(77)
    def start(self) -> None:
        """Take the configured user and group (once), then set the umask."""
        if self.finalized:
            return
        uid, gid = self._uid, self._gid
        if gid is None and uid is not None and pwd is not None:
            try:
                gid = pwd.getpwuid(uid).pw_gid
            except KeyError:
                gid = None
        if uid is None and gid is None:
            self.bus.log("No uid/gid set: keeping the current user.")
        elif os.geteuid() != 0:
            wanted_uid = uid if uid is not None else os.geteuid()
            wanted_gid = gid if gid is not None else os.getegid()
            if (wanted_uid, wanted_gid) != (os.geteuid(), os.getegid()):
                raise PrivilegeError(
                    f"Cannot switch to uid {wanted_uid} / gid {wanted_gid}: the process runs as "
                    f"uid {os.geteuid()}, not root. Start it as root, or remove "
                    f"{_key('uid')} / {_key('gid')}.")
        else:
            self._switch(uid, gid)
        if self._umask is not None:
            previous = os.umask(self._umask)
            self.bus.log(f"umask changed from {previous:03o} to {self._umask:03o}.")
        self.bus.log(f"Running as uid: {os.getuid()} gid: {os.getgid()}")
        self.finalized = True

    def _switch(self, uid: int | None, gid: int | None) -> None:
        try:
            if gid is not None:
                if self._username is not None and hasattr(os, "initgroups"):
                    os.initgroups(self._username, gid)
                else:
                    os.setgroups([gid])
                os.setgid(gid)
            if uid is not None:
                os.setuid(uid)
        except OSError as exc:
            raise PrivilegeError(f"Could not switch to uid {uid} / gid {gid}: {exc}") from None
        if uid not in (None, 0):
            try:
                os.setuid(0)
            except PermissionError:
                pass
            else:
                raise PrivilegeError(f"After switching to uid {uid} the process could become root "
                                     "again; refusing to run.")
