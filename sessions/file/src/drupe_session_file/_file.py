"""The file backend: one file per session in ``storage_path``, locked with ``flock``.

Layout of ``storage_path`` (CherryPy's names):

* ``session-<id>``: the serializer's bytes (JSON by default), written to a temporary file
  and renamed over the old one, so a reader never sees half a session;
* ``session-<id>.lock``: the lock file, ``flock``-ed exclusively while a request holds the
  session. Locks work across threads and processes sharing the directory. The holder
  removes the lock file before unlocking it, and a waiter that wins the lock on a file
  that was removed meanwhile opens the new one and tries again, so lock files do not
  pile up and two holders never coexist;
* ``session-<id>.<random>.tmp``: a save in progress.

Ids are validated (``drupe_sessions.valid_id``) before any path is built from them, files
are opened with ``O_NOFOLLOW`` (a planted symlink is never followed) and created with
mode 0600. A file that cannot be decoded — corrupt, truncated, planted — is logged and
read as an empty session; the clean-up deletes it. Requires a POSIX system (``fcntl``).
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import fcntl
import logging
import os
import secrets
import stat
import time
from typing import Any, ClassVar

from drupe_sessions import IdLocks, LockTimeout, Session, redacted, valid_id

__all__ = ["FileSession"]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
# Temporary files older than this are left over from a crashed save.
_STALE_TMP_SECONDS = 3600.0
# A session file larger than this is not session data (the default JSON of a large cart
# is a few KiB); reading it would only cost memory.
MAX_FILE_SIZE = 16 * 1024 * 1024


class FileSession(Session):
    """Sessions as files in ``storage_path`` (``tools.sessions.storage_path``, required)."""

    SESSION_PREFIX: ClassVar[str] = "session-"
    LOCK_SUFFIX: ClassVar[str] = ".lock"
    TMP_SUFFIX: ClassVar[str] = ".tmp"

    storage_path: ClassVar[str | None] = None
    option_names: ClassVar[frozenset[str] | None] = frozenset({"storage_path"})
    locks: ClassVar[IdLocks] = IdLocks()

    @classmethod
    def setup(cls, **kwargs: Any) -> None:
        """Check ``storage_path`` (created if missing, must be a writable directory)."""
        storage_path = kwargs.pop("storage_path", None)
        super().setup(**kwargs)
        if storage_path is None:
            raise ValueError("tools.sessions.storage_path is required for file sessions: the "
                             "directory where the session files are kept")
        if not isinstance(storage_path, (str, os.PathLike)) or not os.fspath(storage_path):
            raise ValueError(f"tools.sessions.storage_path must be a directory path, not {storage_path!r}")
        path = os.path.abspath(os.fspath(storage_path))
        try:
            os.makedirs(path, mode=0o700, exist_ok=True)
        except OSError as exc:
            raise ValueError(f"tools.sessions.storage_path {path!r} cannot be created: "
                             f"{exc.strerror}") from None
        if not os.path.isdir(path):
            raise ValueError(f"tools.sessions.storage_path {path!r} is not a directory")
        if not os.access(path, os.W_OK | os.X_OK):
            raise ValueError(f"tools.sessions.storage_path {path!r} is not writable by this process")
        cls.storage_path = path
        cls.locks = IdLocks()

    # -- paths --------------------------------------------------------------------------

    def _path(self, session_id: str | None = None, suffix: str = "") -> str:
        session_id = self.id if session_id is None else session_id
        # Defence in depth: the base class never lets an invalid id this far.
        if not valid_id(session_id):
            raise ValueError("refusing to build a path from an invalid session id")
        if self.storage_path is None:
            raise RuntimeError("FileSession.setup(storage_path=...) was not called")
        return os.path.join(self.storage_path, self.SESSION_PREFIX + session_id + suffix)

    # -- data ---------------------------------------------------------------------------

    def _exists(self) -> bool:
        return os.path.lexists(self._path())

    def _read(self, path: str, session_id: str | None = None) -> bytes | None:
        label = redacted(session_id or self.id)
        try:
            fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                self.log(f"Session file for {label} is a symbolic link; ignored "
                         "(treated as an empty session).", logging.WARNING)
            else:
                self.log(f"Session file for {label} cannot be read ({exc.strerror}); "
                         "treated as an empty session.", logging.WARNING)
            return None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_SIZE:
                self.log(f"Session file for {label} is not a regular file of a "
                         "sane size; treated as an empty session.", logging.WARNING)
                return None
            with os.fdopen(fd, "rb", closefd=False) as handle:
                return handle.read(MAX_FILE_SIZE + 1)
        finally:
            os.close(fd)

    def _load(self) -> tuple[dict[str, Any], datetime.datetime] | None:
        blob = self._read(self._path())
        if blob is None:
            return None
        try:
            return self.serializer.loads(blob)
        except ValueError as exc:
            self.log(f"Session file for {redacted(self.id)} could not be decoded ({exc}); "
                     "treated as an empty session.", logging.WARNING)
            return None

    def _save(self, expiration_time: datetime.datetime) -> None:
        blob = self.serializer.dumps(self._data, expiration_time)
        path = self._path()
        tmp = self._path(suffix=f".{secrets.token_hex(6)}{self.TMP_SUFFIX}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o600)
        try:
            with os.fdopen(fd, "wb", closefd=False) as handle:
                handle.write(blob)
        except BaseException:
            os.close(fd)
            _unlink(tmp)
            raise
        os.close(fd)
        try:
            os.replace(tmp, path)
        except BaseException:
            _unlink(tmp)
            raise

    def _delete(self) -> None:
        _unlink(self._path())

    # -- locking ------------------------------------------------------------------------

    def acquire_lock(self) -> None:
        if self.locked:
            return
        session_id = self.id
        deadline = time.monotonic() + self.lock_timeout
        # Threads of this process queue in memory; one at a time polls the file lock.
        if not self.locks.acquire(session_id, self.lock_timeout):
            raise self._timeout(session_id)
        try:
            self._lock_fd = self._flock(session_id, deadline)
        except BaseException:
            self.locks.release(session_id)
            raise
        self._locked_id = session_id
        self.locked = True
        if self.debug:
            self.log(f"Lock acquired for session {redacted(session_id)}.")

    def _timeout(self, session_id: str) -> LockTimeout:
        return LockTimeout(
            f"Session {redacted(session_id)} stayed locked by another request for "
            f"{self.lock_timeout:g} s (tools.sessions.lock_timeout).", self.lock_timeout)

    def _flock(self, session_id: str, deadline: float) -> int:
        path = self._path(session_id, self.LOCK_SUFFIX)
        delay = 0.0005
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | _NOFOLLOW | _CLOEXEC, 0o600)
            try:
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() >= deadline:
                            raise self._timeout(session_id) from None
                        time.sleep(delay)
                        delay = min(delay * 2, 0.01)
                # The holder before us may have removed the file we locked: only a lock
                # on the file that is at the path now counts.
                held = os.fstat(fd)
                try:
                    current = os.stat(path, follow_symlinks=False)
                except FileNotFoundError:
                    current = None
                if current is not None and (current.st_ino, current.st_dev) == (held.st_ino, held.st_dev):
                    return fd
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)

    def release_lock(self) -> None:
        if not self.locked:
            return
        session_id = self._locked_id
        fd = self._lock_fd
        try:
            # Remove the lock file while still holding it (see _flock for the waiters).
            _unlink(self._path(session_id, self.LOCK_SUFFIX))
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
            self.locked = False
            self.locks.release(session_id)
        if self.debug:
            self.log(f"Lock released for session {redacted(session_id)}.")

    # -- clean-up -----------------------------------------------------------------------

    def _session_ids(self) -> list[str]:
        if self.storage_path is None:
            return []
        prefix = self.SESSION_PREFIX
        try:
            names = os.listdir(self.storage_path)
        except OSError:
            return []
        return [name[len(prefix):] for name in names
                if name.startswith(prefix) and valid_id(name[len(prefix):])]

    def clean_up(self) -> None:
        """Delete expired and undecodable session files, stale temporary and lock files."""
        now = self.now()
        for session_id in self._session_ids():
            try:
                self._clean_one(session_id, now)
            except LockTimeout:
                continue  # in use: not expired, or cleaned next time
            except OSError as exc:
                self.log(f"Clean-up of session {redacted(session_id)} failed: {exc}", logging.WARNING)
        self._clean_leftovers()

    def _clean_one(self, session_id: str, now: datetime.datetime) -> None:
        blob = self._read(self._path(session_id), session_id)
        if blob is None:
            return
        try:
            _, expiration_time = self.serializer.loads(blob)
            if expiration_time > now:
                return
        except ValueError:
            pass  # undecodable: deleted below, under the lock
        # Lock it (without waiting) and look again: a request may have just saved it.
        probe = type(self).__new__(type(self))
        probe._id = session_id
        probe.id_observers = []
        probe.locked = False
        probe.lock_timeout = 0.0  # type: ignore[misc]
        probe.acquire_lock()
        try:
            blob = self._read(self._path(session_id), session_id)
            if blob is None:
                return
            try:
                _, expiration_time = self.serializer.loads(blob)
            except ValueError:
                self.log(f"Clean-up: deleting undecodable session file for {redacted(session_id)}.",
                         logging.WARNING)
            else:
                if expiration_time > now:
                    return
            _unlink(self._path(session_id))
        finally:
            probe.release_lock()

    def _clean_leftovers(self) -> None:
        assert self.storage_path is not None
        prefix = self.SESSION_PREFIX
        cutoff = time.time() - _STALE_TMP_SECONDS
        try:
            names = os.listdir(self.storage_path)
        except OSError:
            return
        for name in names:
            if not name.startswith(prefix):
                continue
            path = os.path.join(self.storage_path, name)
            if name.endswith(self.TMP_SUFFIX):
                try:
                    if os.lstat(path).st_mtime < cutoff:
                        _unlink(path)
                except OSError:
                    pass
            elif name.endswith(self.LOCK_SUFFIX):
                session_id = name[len(prefix):-len(self.LOCK_SUFFIX)]
                if valid_id(session_id) and session_id not in self.locks:
                    self._remove_orphan_lock(path)

    @staticmethod
    def _remove_orphan_lock(path: str) -> None:
        """Remove a lock file left by a crashed process (only if nobody holds it)."""
        try:
            fd = os.open(path, os.O_RDWR | _NOFOLLOW | _CLOEXEC)
        except OSError:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return
        try:
            held = os.fstat(fd)
            current = os.stat(path, follow_symlinks=False)
            if (current.st_ino, current.st_dev) == (held.st_ino, held.st_dev):
                _unlink(path)
        except OSError:
            pass
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __len__(self) -> int:
        return len(self._session_ids())


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
