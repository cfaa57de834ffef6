"""Tutorial 5 (3.5) with its sessions in SQL: ``tools.sessions.storage_type = "sql"``.

The tutorial's program is read from the documentation (its listing, split in two by a page
break, joined again as ``test_tutorial_5.py`` explains), changed by ``as_drupe`` and by one
edit: the three config keys that move its sessions into a database, on a SQLite file and
on PostgreSQL (``DRUPE_TEST_POSTGRESQL_URL``, default
postgresql+psycopg://postgres@127.0.0.1:5432/test; skipped, saying how to provide it, when
it is not reachable). The program serves on a free port; the string the tutorial stores in
the session must be displayed again, also after the program was restarted.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest
from docs_support import Served, needs, random_hex
from seed import as_drupe, clean, replace_once, section

pytestmark = [pytest.mark.slow, needs("drupe.sessions", "sql", "drupe-session-sqlalchemy")]

SESSIONS_ON = "'tools.sessions.on': True"


def tutorial_5() -> str:
    """The tutorial's listing, whole (the page break split it after line 4)."""
    part = section("3.5")
    first, second = part.raw_blocks[0].strip("\n"), part.raw_blocks[1].strip("\n")
    assert first.startswith("1 import random"), first
    assert second.startswith("5"), second
    return clean(first + "\n" + second)


def with_sql_sessions(code: str, url: str, table: str) -> str:
    return replace_once(as_drupe(code), SESSIONS_ON,
                        f"{SESSIONS_ON}, 'tools.sessions.storage_type': 'sql', "
                        f"'tools.sessions.url': {url!r}, 'tools.sessions.table': {table!r}")


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(url, table) of a database for the tutorial's sessions; the table is dropped after."""
    table = f"drupe_tutorial_{secrets.token_hex(6)}"
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'sessions.db'}", table
        return
    pytest.importorskip("sqlalchemy")
    from drupe_testing.services import ServiceUnavailable, postgresql_url

    try:
        url = postgresql_url()
    except ServiceUnavailable as exc:
        pytest.skip(str(exc))
    yield url, table
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            for name in (f"{table}_locks", table):
                connection.execute(sa.text(f'DROP TABLE IF EXISTS "{name}"'))
    finally:
        engine.dispose()


def session_cookie(headers: dict[str, str]) -> str:
    cookie: SimpleCookie = SimpleCookie()
    cookie.load(headers["set-cookie"])
    return cookie["session_id"].value


def stored_ids(url: str, table: str) -> list[str]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return [row[0] for row in connection.execute(sa.text(f'SELECT id FROM "{table}"'))]
    finally:
        engine.dispose()


def test_the_edit_turns_on_sql_sessions() -> None:
    code = with_sql_sessions(tutorial_5(), "sqlite:////tmp/x.db", "t")
    assert "'tools.sessions.storage_type': 'sql'" in code
    assert "cherrypy.session['mystring'] = some_string" in code


def test_tutorial_5_with_sql_sessions(serve: Callable[..., Served], database: tuple[str, str]) -> None:
    url, table = database
    code = with_sql_sessions(tutorial_5(), url, table)
    served = serve(code, name="tut05.py")
    status, _, page = served.get("/")
    assert status == 200
    assert re.search(r'<form method="get" action="generate">', page.decode())

    status, headers, generated = served.get("/generate?length=8")
    assert status == 200
    text = generated.decode()
    assert random_hex(text, 8)
    session_id = session_cookie(headers)
    cookie: dict[str, Any] = {"Cookie": f"session_id={session_id}"}
    status, _, displayed = served.get("/display", headers=cookie)
    assert (status, displayed.decode()) == (200, text)
    assert stored_ids(url, table) == [session_id]
    served.stop()

    # The sessions live in the database: a restarted program still knows the string.
    again = serve(code, name="tut05.py")
    status, _, displayed = again.get("/display", headers=cookie)
    assert (status, displayed.decode()) == (200, text)
    again.stop()
