"""A database user that may create scratch databases but not drop them: the scratch
database left behind is named in one line with the statement that drops it, never in
SQLAlchemy's multi-line error; when the work inside failed too, its error stays the one
raised and the database left behind is told on stderr."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from sluice.errors import SluiceError
from sluice.notices import set_receiver
from sluice.scratch import drop_database, list_databases, scratch_database
from tests.support.servers import server_url

PREFIX = "sluice_nodrop"


@pytest.fixture
def no_drop_url() -> Iterator[str]:
    """A MariaDB/MySQL user that may CREATE databases named ``sluice_nodrop_*``, not DROP."""
    root = server_url("mysql")
    user = f"sluice_t_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(root)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE USER '{user}'@'%'"))
            conn.execute(sa.text(f"GRANT CREATE ON `sluice\\_nodrop\\_%`.* TO '{user}'@'%'"))
        # no database in the URL: the user may use none but its scratch databases
        yield make_url(root).set(username=user, password="", database="").render_as_string(
            hide_password=False)
    finally:
        for name in list_databases(root, PREFIX):
            drop_database(root, name)
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP USER IF EXISTS '{user}'@'%'"))
        engine.dispose()


def made_here(root: str, before: set[str]) -> list[str]:
    return sorted(set(list_databases(root, PREFIX)) - before)


def test_a_scratch_database_that_cannot_be_dropped_is_one_line(no_drop_url: str) -> None:
    root = server_url("mysql")
    before = set(list_databases(root, PREFIX))
    with pytest.raises(SluiceError) as info:
        with scratch_database(no_drop_url, prefix=PREFIX):
            pass
    (name,) = made_here(root, before)
    message = str(info.value)
    assert "\n" not in message, message
    assert f"cannot drop scratch database {name}" in message, message
    assert "Access denied" in message
    assert f"DROP DATABASE `{name}`;" in message, message
    assert "[SQL:" not in message and "sqlalche.me" not in message


def test_when_the_work_failed_too_its_error_stays_and_the_database_is_told(
        no_drop_url: str) -> None:
    root = server_url("mysql")
    before = set(list_databases(root, PREFIX))
    told: list[str] = []
    previous = set_receiver(told.append)
    try:
        with pytest.raises(RuntimeError, match="the work failed"):
            with scratch_database(no_drop_url, prefix=PREFIX):
                raise RuntimeError("the work failed")
    finally:
        set_receiver(previous)
    (name,) = made_here(root, before)
    assert len(told) == 1 and "\n" not in told[0], told
    assert f"cannot drop scratch database {name}" in told[0]
    assert f"DROP DATABASE `{name}`;" in told[0]


def test_a_url_naming_a_database_the_user_may_not_use_still_makes_scratch_databases(
        no_drop_url: str) -> None:
    """The scratch database is made over a server-level connection: the URL's own
    database (the project's, which a CI user may not be granted) is not connected to."""
    root = server_url("mysql")
    user = make_url(no_drop_url).username
    url = make_url(no_drop_url).set(database="sluice_not_granted").render_as_string(
        hide_password=False)
    engine = sa.create_engine(root)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f"GRANT DROP ON `sluice\\_nodrop\\_%`.* TO '{user}'@'%'"))
    finally:
        engine.dispose()
    before = set(list_databases(root, PREFIX))
    with scratch_database(url, prefix=PREFIX) as made:
        assert made.database in list_databases(root, PREFIX)
    assert made_here(root, before) == []
