"""The SQL backend (``storage_type = 'sql'``): sessions in any database SQLAlchemy reaches.

One table (``tools.sessions.table``, default ``drupe_sessions``), created on first use::

    id          VARCHAR(40) primary key   the session id (40 lowercase hex, checked first)
    data        BLOB / BYTEA              the serializer's bytes
    expires_at  DOUBLE, indexed           the expiration time (Unix seconds), for clean_up

Locking, one session id at a time, across threads and processes:

PostgreSQL
    a row lock. ``acquire_lock`` checks out a connection of its own, begins a
    transaction and runs ``SELECT ... FOR UPDATE`` on the session's row; the lock is
    held until ``release_lock`` commits. For an id without a row yet it inserts a
    placeholder row (empty data, expired) in the same transaction: a concurrent insert of
    that id waits on the primary key, then finds the row and locks it. While the lock is
    held, the session's own reads and writes run in that transaction (anything else would
    wait for the lock it holds). Waits are bounded by PostgreSQL's ``lock_timeout``, set
    to what remains of ``tools.sessions.lock_timeout``; running out raises LockTimeout.
    A process that dies mid-request loses its connection, which releases the lock.
SQLite and other databases
    a lock row in a companion table ``<table>_locks`` (id, owner token, expiry):
    inserting it is atomic (primary key), so the request that inserts it holds the lock;
    the others poll (2 ms doubling to 50 ms) until ``lock_timeout``. A lock row older than
    ``tools.sessions.lock_expiry`` seconds belongs to a request that died and is taken
    over. Every statement is a short transaction of its own, so requests for other
    sessions never wait for a held lock (``BEGIN IMMEDIATE`` would serialize them all),
    and SQLite's busy timeout is the lock timeout.

The engine (and its connection pool) is created by ``setup()`` and disposed when
``drupe.engine`` stops; a later use creates it again.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import math
import re
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any, ClassVar, NoReturn

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Engine, RootTransaction

import drupe
from drupe_sessions import LOG_CONTEXT, IdLocks, LockTimeout, Session, redacted, valid_id

__all__ = ["SQLSession", "SessionStoreUnavailable", "SqlSession"]

DEFAULT_TABLE = "drupe_sessions"
_TABLE_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,56}\Z")  # + "_locks" fits 63 characters
_PLACEHOLDER_EXPIRY = 0.0
_LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE when lock_timeout runs out


class SessionStoreUnavailable(drupe.HTTPError):
    """The database could not be reached or failed: 503 with ``Retry-After``.

    The details (what failed, the database's message) go to the error log, not to the
    client.
    """

    retry_after = 5

    def __init__(self, message: str = "The session store is unavailable; please retry shortly.") -> None:
        super().__init__(503, message)

    def set_response(self) -> None:
        super().set_response()
        drupe.serving.response.headers["Retry-After"] = str(self.retry_after)


def _seconds(value: Any, key: str) -> float:
    if isinstance(value, datetime.timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or math.isinf(value):
        raise ValueError(f"tools.sessions.{key} must be a positive number of seconds, not {value!r}")
    return float(value)


def _tables(name: str) -> tuple[sa.MetaData, sa.Table, sa.Table]:
    metadata = sa.MetaData()
    # MySQL's BLOB holds 64 KiB; give it LONGBLOB. Elsewhere LargeBinary is unbounded.
    blob = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
    sessions = sa.Table(
        name, metadata,
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("data", blob, nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False, index=True),
    )
    locks = sa.Table(
        f"{name}_locks", metadata,
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("token", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
    )
    return metadata, sessions, locks


def _sqlstate(error: BaseException) -> str | None:
    original = getattr(error, "orig", None)
    state = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    return state if isinstance(state, str) else None


def _is_sqlite_busy(error: BaseException) -> bool:
    return isinstance(error, sa_exc.OperationalError) and "database is locked" in str(error)


class SQLSession(Session):
    """Sessions in a SQL table (see the module docstring).

    Options (``tools.sessions.<key>``): ``url`` (required), ``table``, ``connect_timeout``,
    ``lock_expiry``, ``engine_options``.
    """

    url: ClassVar[str | None] = None
    table: ClassVar[str] = DEFAULT_TABLE
    connect_timeout: ClassVar[float] = 5.0
    lock_expiry: ClassVar[float] = 60.0
    engine_options: ClassVar[dict[str, Any]] = {}
    option_names: ClassVar[frozenset[str] | None] = frozenset({
        "url", "table", "connect_timeout", "lock_expiry", "engine_options"})

    _url: ClassVar[URL | None] = None
    _engine: ClassVar[Engine | None] = None
    _sessions: ClassVar[sa.Table]
    _locks: ClassVar[sa.Table]
    _metadata: ClassVar[sa.MetaData]
    _tables_ready: ClassVar[bool] = False
    _guard: ClassVar[threading.Lock] = threading.Lock()
    _local_locks: ClassVar[IdLocks] = IdLocks()

    # While locked on PostgreSQL: the connection and transaction holding the row lock.
    _lock_connection: Connection | None = None
    _lock_transaction: RootTransaction | None = None
    _placeholder: bool = False
    # While locked elsewhere: the lock row's id and token.
    _lock_row: tuple[str, str] | None = None
    # The id whose in-process lock this session holds.
    _locked_id: str | None = None

    # -- configuration ------------------------------------------------------------------

    @classmethod
    def setup(cls, **kwargs: Any) -> None:
        """Read the options (ValueError naming the key) and create the engine."""
        options = dict(kwargs)
        raw_url = options.pop("url", None)
        if raw_url is None or raw_url == "":
            raise ValueError("tools.sessions.url is required with storage_type 'sql': a SQLAlchemy "
                             "URL such as 'sqlite:////var/lib/myapp/sessions.db' or "
                             "'postgresql+psycopg://user@host/dbname'")
        try:
            url = sa.make_url(raw_url)
        except (sa_exc.ArgumentError, TypeError, ValueError) as error:
            raise ValueError(f"tools.sessions.url is not a SQLAlchemy URL: {raw_url!r} ({error})") from None
        if url.get_backend_name() == "sqlite" and (
                url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"):
            raise ValueError("tools.sessions.url names an in-memory SQLite database, which each "
                             "connection sees empty: use a file, e.g. 'sqlite:////var/lib/myapp/"
                             "sessions.db'")
        table = options.pop("table", DEFAULT_TABLE)
        if not isinstance(table, str) or not _TABLE_PATTERN.match(table):
            raise ValueError("tools.sessions.table must be a plain SQL name (letters, digits, _; at "
                             f"most 57 characters, not starting with a digit), not {table!r}")
        connect_timeout = _seconds(options.pop("connect_timeout", cls.connect_timeout), "connect_timeout")
        lock_expiry = _seconds(options.pop("lock_expiry", cls.lock_expiry), "lock_expiry")
        engine_options = options.pop("engine_options", {})
        if not isinstance(engine_options, dict) or not all(isinstance(k, str) for k in engine_options):
            raise ValueError("tools.sessions.engine_options must be a dict of create_engine() "
                             f"arguments, not {engine_options!r}")
        super().setup(**options)  # refuses the keys left over, naming them
        cls.dispose()
        cls.url = url.render_as_string(hide_password=True)
        cls._url = url
        cls.table = table
        cls.connect_timeout = connect_timeout
        cls.lock_expiry = lock_expiry
        cls.engine_options = dict(engine_options)
        cls._metadata, cls._sessions, cls._locks = _tables(table)
        cls._tables_ready = False
        cls._guard = threading.Lock()
        cls._local_locks = IdLocks()
        cls._engine = cls._create_engine()
        # The pool belongs to one engine run: dispose of it when the engine stops (after the
        # HTTP servers, priority 50, have finished their requests).
        drupe.engine.subscribe("stop", cls.dispose, priority=80)

    @classmethod
    def _create_engine(cls) -> Engine:
        url = cls._url
        assert url is not None
        backend = url.get_backend_name()
        options: dict[str, Any] = {"pool_pre_ping": True}
        connect_args: dict[str, Any] = {}
        if backend == "sqlite" and url.get_driver_name() == "pysqlite":
            # How long a statement waits for another connection's write lock.
            connect_args["timeout"] = cls.lock_timeout
        elif backend == "postgresql" and url.get_driver_name() in ("psycopg", "psycopg2"):
            connect_args["connect_timeout"] = max(1, math.ceil(cls.connect_timeout))
        if connect_args:
            options["connect_args"] = connect_args
        user_connect_args = cls.engine_options.get("connect_args")
        options.update(cls.engine_options)
        if connect_args and isinstance(user_connect_args, dict):
            options["connect_args"] = {**connect_args, **user_connect_args}
        try:
            engine = sa.create_engine(url, **options)
        except sa_exc.NoSuchModuleError as error:
            raise ValueError(f"tools.sessions.url: SQLAlchemy has no dialect for {url.drivername!r} "
                             f"({error})") from None
        except ImportError as error:
            raise ValueError(f"tools.sessions.url: the database driver for {url.drivername!r} is not "
                             f"installed ({error}); for PostgreSQL: pip install 'psycopg[binary]'") from None
        except (sa_exc.ArgumentError, TypeError) as error:
            raise ValueError(f"tools.sessions.engine_options or url refused by SQLAlchemy: {error}") from None
        if backend == "postgresql":
            default_ms = max(1, math.ceil(cls.lock_timeout * 1000))

            @event.listens_for(engine, "connect")
            def bound_lock_waits(dbapi_connection: Any, connection_record: Any) -> None:
                # No statement of this store waits for a lock longer than lock_timeout.
                cursor = dbapi_connection.cursor()
                try:
                    cursor.execute(f"SET lock_timeout = {default_ms:d}")
                finally:
                    cursor.close()
                # psycopg opens a transaction for the SET; do not leave it to the pool.
                dbapi_connection.commit()

        return engine

    @classmethod
    def dispose(cls) -> None:
        """Close the pool's connections (a later use creates a new engine)."""
        drupe.engine.unsubscribe("stop", cls.dispose)
        with cls._guard:
            engine, cls._engine = cls._engine, None
        if engine is not None:
            engine.dispose()

    @classmethod
    def dispose_all(cls) -> None:
        """Dispose of the engines of this class and of every configured subclass of it."""
        for subclass in cls.__subclasses__():
            subclass.dispose_all()
        cls.dispose()

    @classmethod
    def _get_engine(cls) -> Engine:
        engine = cls._engine
        if engine is None:
            with cls._guard:
                engine = cls._engine
                if engine is None:
                    if cls._url is None:
                        raise RuntimeError(f"{cls.__name__}.setup() was not called "
                                           "(tools.sessions.url is not configured)")
                    engine = cls._engine = cls._create_engine()
        if not cls._tables_ready:
            cls._create_tables(engine)
        return engine

    @classmethod
    def _create_tables(cls, engine: Engine) -> None:
        with cls._guard:
            if cls._tables_ready:
                return
            try:
                cls._metadata.create_all(engine, checkfirst=True)
            except sa_exc.SQLAlchemyError as error:
                # Another process may have created them between the check and CREATE.
                if not cls._tables_exist(engine):
                    cls._store_failed(f"creating the table {cls.table!r}", error)
            cls._check_columns(engine)
            cls._tables_ready = True

    @classmethod
    def _tables_exist(cls, engine: Engine) -> bool:
        try:
            inspector = sa.inspect(engine)
            return all(inspector.has_table(table.name) for table in (cls._sessions, cls._locks))
        except sa_exc.SQLAlchemyError:
            return False

    @classmethod
    def _check_columns(cls, engine: Engine) -> None:
        try:
            for table in (cls._sessions, cls._locks):
                found = {column["name"] for column in sa.inspect(engine).get_columns(table.name)}
                missing = {column.name for column in table.columns} - found
                if missing:
                    message = (f"The table {table.name!r} exists but is not a drupe session table "
                               f"(it lacks {', '.join(sorted(missing))}): set tools.sessions.table "
                               "to another name.")
                    drupe.log(message, LOG_CONTEXT, severity=logging.ERROR)
                    raise SessionStoreUnavailable()
        except sa_exc.SQLAlchemyError as error:
            cls._store_failed(f"inspecting the table {cls.table!r}", error)

    @classmethod
    def _store_failed(cls, action: str, error: BaseException, session_id: str | None = None) -> NoReturn:
        about = f" session {redacted(session_id)}" if session_id else ""
        detail = str(error).strip().splitlines()[0] if str(error).strip() else ""
        drupe.log(f"The session database ({cls.url}) failed while {action}{about}: "
                  f"{type(error).__name__}: {detail}", LOG_CONTEXT, severity=logging.ERROR)
        raise SessionStoreUnavailable() from error

    @property
    def _row_locks(self) -> bool:
        """True on PostgreSQL (row locks); elsewhere lock rows."""
        return self._url is not None and self._url.get_backend_name() == "postgresql"

    # -- connections ----------------------------------------------------------------------

    def _checked_id(self) -> str:
        session_id = self.id
        if not valid_id(session_id):  # the base class checks too; never trust one layer
            raise ValueError("malformed session id")
        return session_id

    @contextlib.contextmanager
    def _transaction(self, action: str) -> Iterator[Connection]:
        """The lock's transaction while a row lock is held, else a short one of its own."""
        try:
            if self._lock_connection is not None:
                yield self._lock_connection
            else:
                with self._get_engine().begin() as connection:
                    yield connection
        except sa_exc.SQLAlchemyError as error:
            self._store_failed(action, error, self._id)

    # -- storage --------------------------------------------------------------------------

    def _exists(self) -> bool:
        session_id = self._checked_id()
        table = self._sessions
        query = sa.select(table.c.id).where(table.c.id == session_id,
                                            table.c.expires_at > self.now().timestamp())
        with self._transaction("looking up") as connection:
            return connection.execute(query).first() is not None

    def _load(self) -> tuple[dict[str, Any], datetime.datetime] | None:
        session_id = self._checked_id()
        table = self._sessions
        with self._transaction("loading") as connection:
            row = connection.execute(sa.select(table.c.data).where(table.c.id == session_id)).first()
        if row is None:
            return None
        blob = row[0]
        if isinstance(blob, (bytearray, memoryview)):
            blob = bytes(blob)
        if blob == b"":
            return None  # a lock's placeholder row, not a session yet
        if not isinstance(blob, bytes):
            self.log(f"Session {redacted(session_id)}: the table {self.table!r} holds a "
                     f"{type(blob).__name__} where session bytes belong; treating it as an "
                     "empty session.", logging.WARNING)
            return None
        try:
            return self.serializer.loads(blob)
        except ValueError as error:
            self.log(f"Session {redacted(session_id)}: the table {self.table!r} holds data that is "
                     f"not a valid session ({error}); treating it as an empty session.",
                     logging.WARNING)
            return None

    def _save(self, expiration_time: datetime.datetime) -> None:
        session_id = self._checked_id()
        blob = self.serializer.dumps(self._data, expiration_time)
        expires_at = expiration_time.timestamp()
        with self._transaction("saving") as connection:
            self._upsert(connection, session_id, blob, expires_at)
        self._placeholder = False

    def _upsert(self, connection: Connection, session_id: str, blob: bytes, expires_at: float) -> None:
        table = self._sessions
        values = {"id": session_id, "data": blob, "expires_at": expires_at}
        dialect = connection.dialect.name
        if dialect in ("postgresql", "sqlite"):
            module: Any = postgresql if dialect == "postgresql" else sqlite
            statement = module.insert(table).values(**values)
            statement = statement.on_conflict_do_update(
                index_elements=[table.c.id],
                set_={"data": statement.excluded.data, "expires_at": statement.excluded.expires_at},
            )
            connection.execute(statement)
            return
        if dialect in ("mysql", "mariadb"):
            statement = mysql.insert(table).values(**values)
            connection.execute(statement.on_duplicate_key_update(data=blob, expires_at=expires_at))
            return
        update = sa.update(table).where(table.c.id == session_id).values(data=blob, expires_at=expires_at)
        if connection.execute(update).rowcount == 0:
            try:
                with connection.begin_nested():
                    connection.execute(sa.insert(table).values(**values))
            except sa_exc.IntegrityError:  # inserted meanwhile by another request
                connection.execute(update)

    def _delete(self) -> None:
        session_id = self._checked_id()
        table = self._sessions
        with self._transaction("deleting") as connection:
            connection.execute(sa.delete(table).where(table.c.id == session_id))
        self._placeholder = False

    # -- locking ----------------------------------------------------------------------------

    def acquire_lock(self) -> None:
        """Lock this session's id (see the module docstring); LockTimeout after lock_timeout."""
        if self.locked:
            return
        session_id = self._checked_id()
        deadline = time.monotonic() + self.lock_timeout
        # The threads of this process queue on an in-process lock first, so only one of
        # them at a time waits on the database (and holds a connection for it).
        if not self._local_locks.acquire(session_id, self.lock_timeout):
            raise self._timed_out(session_id)
        try:
            if self._row_locks:
                self._lock_row_for_update(session_id, deadline)
            else:
                self._insert_lock_row(session_id, deadline)
        except BaseException:
            self._local_locks.release(session_id)
            raise
        self._locked_id = session_id
        self.locked = True
        if self.debug:
            self.log(f"Lock acquired for session {redacted(session_id)}.")

    def _timed_out(self, session_id: str) -> LockTimeout:
        return LockTimeout(
            f"Session {redacted(session_id)} stayed locked by another request for "
            f"{self.lock_timeout:g} s (tools.sessions.lock_timeout).", self.lock_timeout)

    def _lock_row_for_update(self, session_id: str, deadline: float) -> None:
        table = self._sessions
        try:
            connection = self._get_engine().connect()
        except sa_exc.SQLAlchemyError as error:
            self._store_failed("locking", error, session_id)
        try:
            transaction = connection.begin()
            placeholder = False
            while True:
                remaining_ms = math.ceil((deadline - time.monotonic()) * 1000)
                if remaining_ms <= 0:
                    raise self._timed_out(session_id)
                connection.execute(sa.select(sa.func.set_config("lock_timeout", str(remaining_ms), True)))
                locked = connection.execute(
                    sa.select(table.c.id).where(table.c.id == session_id).with_for_update()).first()
                if locked is not None:
                    break
                # No row to lock yet: insert one. A concurrent insert of this id waits on the
                # primary key for our transaction, then fails and finds (and locks) our row.
                savepoint = connection.begin_nested()
                try:
                    connection.execute(sa.insert(table).values(
                        id=session_id, data=b"", expires_at=_PLACEHOLDER_EXPIRY))
                except sa_exc.IntegrityError:
                    savepoint.rollback()
                    continue
                savepoint.commit()
                placeholder = True
                break
        except BaseException as error:
            with contextlib.suppress(sa_exc.SQLAlchemyError):
                connection.close()  # rolls back
            if isinstance(error, sa_exc.DBAPIError) and _sqlstate(error) == _LOCK_NOT_AVAILABLE:
                raise self._timed_out(session_id) from None
            if isinstance(error, sa_exc.SQLAlchemyError):
                self._store_failed("locking", error, session_id)
            raise
        self._lock_connection = connection
        self._lock_transaction = transaction
        self._placeholder = placeholder

    def _insert_lock_row(self, session_id: str, deadline: float) -> None:
        locks = self._locks
        token = secrets.token_hex(16)
        pause = 0.002
        while True:
            now = time.time()
            try:
                with self._get_engine().begin() as connection:
                    # A lock row past its expiry belongs to a request that died: take it over.
                    connection.execute(sa.delete(locks).where(locks.c.id == session_id,
                                                              locks.c.expires_at < now))
                    connection.execute(sa.insert(locks).values(
                        id=session_id, token=token, expires_at=now + self.lock_expiry))
                break
            except sa_exc.IntegrityError:
                pass  # held by another request
            except sa_exc.SQLAlchemyError as error:
                if not _is_sqlite_busy(error):
                    self._store_failed("locking", error, session_id)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._timed_out(session_id)
            time.sleep(min(pause, remaining))
            pause = min(pause * 2, 0.05)
        self._lock_row = (session_id, token)

    def release_lock(self) -> None:
        """Commit the lock's transaction (PostgreSQL) or delete our lock row."""
        if not self.locked:
            return
        self.locked = False
        connection, transaction = self._lock_connection, self._lock_transaction
        lock_row, locked_id = self._lock_row, self._locked_id
        self._lock_connection = self._lock_transaction = None
        self._lock_row = self._locked_id = None
        try:
            if connection is not None and transaction is not None:
                self._commit_row_lock(connection, transaction)
            elif lock_row is not None:
                self._delete_lock_row(*lock_row)
        finally:
            if locked_id is not None:
                self._local_locks.release(locked_id)
        if self.debug:
            self.log(f"Lock released for session {redacted(self._id)}.")

    def _commit_row_lock(self, connection: Connection, transaction: RootTransaction) -> None:
        table = self._sessions
        try:
            try:
                if self._placeholder:
                    # Locked but never saved: the placeholder row must not outlive the lock.
                    connection.execute(sa.delete(table).where(
                        table.c.id == self._checked_id(), table.c.expires_at == _PLACEHOLDER_EXPIRY))
                    self._placeholder = False
                transaction.commit()
            finally:
                connection.close()
        except sa_exc.SQLAlchemyError as error:
            self._store_failed("committing (unlocking)", error, self._id)

    def _delete_lock_row(self, session_id: str, token: str) -> None:
        locks = self._locks
        try:
            with self._get_engine().begin() as connection:
                deleted = connection.execute(sa.delete(locks).where(
                    locks.c.id == session_id, locks.c.token == token)).rowcount
        except sa_exc.SQLAlchemyError as error:
            # The lock row expires after lock_expiry; say so and carry on.
            drupe.log(f"Could not unlock session {redacted(session_id)} ({type(error).__name__}: "
                      f"{error}); its lock expires after {self.lock_expiry:g} s.", LOG_CONTEXT,
                      severity=logging.ERROR)
            return
        if deleted == 0:
            self.log(f"The lock of session {redacted(session_id)} expired while held (the request "
                     f"took longer than tools.sessions.lock_expiry = {self.lock_expiry:g} s); "
                     "another request may have used it meanwhile.", logging.WARNING)

    # -- housekeeping -------------------------------------------------------------------------

    def clean_up(self) -> None:
        """Delete the expired sessions (and lock rows); logs and returns when the database fails."""
        now = self.now().timestamp()
        table, locks = self._sessions, self._locks
        try:
            with self._get_engine().begin() as connection:
                if connection.dialect.name == "postgresql":
                    # Skip rows locked right now (a request owns them, or their placeholder).
                    expired = (sa.select(table.c.id).where(table.c.expires_at < now)
                               .with_for_update(skip_locked=True))
                    connection.execute(sa.delete(table).where(table.c.id.in_(expired)))
                else:
                    connection.execute(sa.delete(table).where(table.c.expires_at < now,
                                                              table.c.expires_at > _PLACEHOLDER_EXPIRY))
                    connection.execute(sa.delete(locks).where(locks.c.expires_at < time.time()))
        except (sa_exc.SQLAlchemyError, drupe.HTTPError) as error:
            drupe.log(f"Cleaning up expired sessions in {self.table!r} failed: "
                      f"{type(error).__name__}: {error}", LOG_CONTEXT, severity=logging.ERROR)

    def __len__(self) -> int:
        """The number of stored sessions (placeholder rows of held locks excluded)."""
        table = self._sessions
        query = sa.select(sa.func.count()).select_from(table).where(table.c.expires_at > _PLACEHOLDER_EXPIRY)
        with self._transaction("counting") as connection:
            return int(connection.execute(query).scalar_one())


SqlSession = SQLSession
"""The name ``drupe.lib.sessions`` gives this backend."""
