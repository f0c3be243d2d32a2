"""A role refused on one of Sluice's existing tables is told which table and given the
exact GRANT for its database, for every table: the lock holder's, the audit table
(``sluice_history``, on PostgreSQL with its id sequence) and the checkpoint table.

Each case runs the GRANTs the hint gives as the owner and then the same upgrade again:
the hint is exact when that run goes through.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from sluice.owned import refused_table
from tests.support.cli import run_cli
from tests.support.runner import Rev, chain, go, make_project, rows, version


@dataclass
class Role:
    url: str
    name: str
    admin: sa.Engine
    database: str
    backend: str

    def grant(self, *statements: str) -> None:
        with self.admin.connect() as conn:
            for sql in statements:
                conn.exec_driver_sql(sql.format(role=self.account, db=self.database)
                                     .replace("%", "%%"))

    @property
    def account(self) -> str:
        return self.name if self.backend == "postgresql" else f"'{self.name}'@'%'"


@pytest.fixture(params=["postgresql", "mysql"])
def deploy(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, Role]]:
    """A project the owner upgraded to r0001 (so Sluice's tables are the owner's), and a
    login role that may migrate the app's tables but gets no privilege on Sluice's."""
    backend = request.param
    owner_url = str(request.getfixturevalue("pg_url" if backend == "postgresql"
                                            else "mysql_url"))
    ini = make_project(tmp_path / "p", chain(3))
    assert go(ini, owner_url, target="r0001").status == "applied"
    name = f"sluice_d_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(owner_url, isolation_level="AUTOCOMMIT")
    database = str(sa.make_url(owner_url).database)
    role = Role(sa.make_url(owner_url).set(username=name).render_as_string(
        hide_password=False), name, admin, database, backend)
    if backend == "postgresql":
        role.grant("CREATE ROLE {role} LOGIN", "GRANT USAGE, CREATE ON SCHEMA public TO {role}",
                   "GRANT SELECT, INSERT, UPDATE, DELETE ON alembic_version TO {role}")
    else:
        role.grant("CREATE USER {role}", "GRANT CREATE, ALTER, DROP, INDEX ON `{db}`.* TO {role}",
                   "GRANT SELECT, INSERT, UPDATE, DELETE ON `{db}`.alembic_version TO {role}")
    try:
        yield ini, role
    finally:
        if backend == "postgresql":
            role.grant("DROP OWNED BY {role}", "DROP ROLE IF EXISTS {role}")
        else:
            role.grant("DROP USER IF EXISTS {role}")
        admin.dispose()


def _upgrade(ini: Path, url: str) -> tuple[int, str]:
    result = run_cli(["upgrade", "-c", str(ini), "--url", url, "--yes"])
    return result.exit_code, result.stderr


def _grants(hint: str) -> list[str]:
    return re.findall(r"GRANT [^;]+;", hint)


@pytest.mark.parametrize("audit_grant", ["SELECT", "SELECT, INSERT"], ids=["read", "append"])
def test_a_role_refused_on_the_audit_table_is_told_the_grant(
        deploy: tuple[Path, Role], audit_grant: str) -> None:
    """The lock holder's table may be written, the audit table only read (or only added
    to, as an append-only audit log: the run's statuses need UPDATE): refused before
    anything changes, with no audit row written, naming sluice_history."""
    ini, role = deploy
    pg = role.backend == "postgresql"
    table = "{db}." if not pg else ""
    role.grant(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table}sluice_lock_holder TO {{role}}",
               f"GRANT {audit_grant} ON {table}sluice_history TO {{role}}",
               *(["GRANT USAGE ON SEQUENCE sluice_history_id_seq TO {role}"]
                 if pg and "INSERT" in audit_grant else []))
    code, err = _upgrade(ini, role.url)
    assert code == 2, err
    first, hint = err.splitlines()[0], "\n".join(err.splitlines()[1:])
    assert "cannot write this run's audit rows in sluice_history: " in first, err
    assert "Traceback" not in err and "[SQL:" not in err
    assert "Sluice's tables are there, but the deploy role may not read and write the rows " \
           "of sluice_history: it needs SELECT, INSERT, UPDATE and DELETE on " \
           "sluice_lock_holder, sluice_history and sluice_data_progress" in hint, hint
    if pg:
        assert "GRANT SELECT, INSERT, UPDATE, DELETE ON public.sluice_lock_holder, " \
               f'public.sluice_history TO "{role.name}"; GRANT USAGE ON SEQUENCE ' \
               f'public.sluice_history_id_seq TO "{role.name}";' in hint, hint
    else:
        assert "GRANT SELECT, INSERT, UPDATE, DELETE ON " \
               f"`{role.database}`.`sluice_history` TO '{role.name}'@'%';" in hint, hint
    assert version(_owner(role)) == ["r0001"]
    assert [r.revision for r in rows(_owner(role))] == ["r0001"]  # nothing written

    role.grant(*_grants(hint))
    code, err = _upgrade(ini, role.url)
    assert code == 0, err
    assert version(_owner(role)) == ["r0003"]


def test_history_by_a_role_that_may_not_read_the_audit_table(
        deploy: tuple[Path, Role]) -> None:
    ini, role = deploy
    result = run_cli(["history", "-c", str(ini), "--url", role.url])
    assert result.exit_code == 2, result.output
    first, *rest = result.stderr.splitlines()
    assert first.startswith("sluice: error: "), first
    assert ": cannot read the audit rows in sluice_history: " in first, first
    hint = "\n".join(rest)
    table = "public.sluice_history" if role.backend == "postgresql" \
        else f"`{role.database}`.`sluice_history`"
    assert f"The role may not read sluice_history: have an owner run: GRANT SELECT ON " \
           f"{table} TO {_grantee(role)};" in hint, hint
    role.grant(*_grants(hint))
    result = run_cli(["history", "-c", str(ini), "--url", role.url])
    assert result.exit_code == 0, result.output
    assert " r0001 " in result.stdout


def _owner(role: Role) -> str:
    return role.admin.url.render_as_string(hide_password=False)


def _grantee(role: Role) -> str:
    return f'"{role.name}"' if role.backend == "postgresql" else f"'{role.name}'@'%'"


ITEMS = ('op.create_table("items", sa.Column("id", sa.Integer(), primary_key=True), '
         'sa.Column("n", sa.Integer(), nullable=False))\n'
         'op.bulk_insert(sa.table("items", sa.column("id"), sa.column("n")), '
         '[{"id": i, "n": 0} for i in range(1, 11)])\n'
         'batched_update(items, {"n": items.c.n + 1}, step="first", batch_size=5)')
DATA_HEADER = ('from sluice.data import batched_update\n\n'
               'items = sa.table("items", sa.column("id"), sa.column("n"))\n')


@pytest.mark.postgres
def test_a_role_refused_on_the_checkpoint_table_is_told_the_grant(
        tmp_path: Path, pg_url: str) -> None:
    """The owner's first run made sluice_data_progress; a data step of the deploy role is
    refused on it before its first batch, and told the GRANT, not to fix the revision."""
    ini = make_project(tmp_path / "p", [
        Rev(id="r0001", upgrade=ITEMS, header=DATA_HEADER),
        Rev(id="r0002", header=DATA_HEADER,
            upgrade='batched_update(items, {"n": items.c.n + 1}, step="bump", batch_size=5)')])
    assert go(ini, pg_url, target="r0001").status == "applied"
    name = f"sluice_d_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    role = Role(sa.make_url(pg_url).set(username=name).render_as_string(hide_password=False),
                name, admin, str(sa.make_url(pg_url).database), "postgresql")
    try:
        role.grant("CREATE ROLE {role} LOGIN",
                   "GRANT SELECT, INSERT, UPDATE, DELETE ON alembic_version, items, "
                   "sluice_lock_holder, sluice_history TO {role}",
                   "GRANT USAGE ON SEQUENCE sluice_history_id_seq TO {role}")
        code, err = _upgrade(ini, role.url)
        assert code == 1, err
        first, hint = err.splitlines()[0], "\n".join(err.splitlines()[1:])
        assert "step 'bump' (revision r0002): cannot open its checkpoint in " \
               "sluice_data_progress: permission denied for table sluice_data_progress" \
               in first, err
        assert first.endswith("the database is at r0001"), err
        assert "GRANT SELECT, INSERT, UPDATE, DELETE ON public.sluice_data_progress TO " \
               f'"{name}";' in hint, hint
        assert "Fix r0002" not in hint, hint
        role.grant(*_grants(hint))
        code, err = _upgrade(ini, role.url)
        assert code == 0, err
        assert version(pg_url) == ["r0002"]
    finally:
        role.grant("DROP OWNED BY {role}", "DROP ROLE IF EXISTS {role}")
        admin.dispose()


@pytest.mark.parametrize(("message", "table"), [
    ("permission denied for table sluice_history", "sluice_history"),
    ("permission denied for relation sluice_lock_holder", "sluice_lock_holder"),  # PG <= 10
    ("permission denied for sequence sluice_history_id_seq", "sluice_history"),
    ("(1142, \"UPDATE command denied to user 'd'@'10.0.0.5' for table `shop`.`sluice_history`\")",
     "sluice_history"),
    ("(1142, \"INSERT command denied to user 'd'@'localhost' for table 'sluice_lock_holder'\")",
     "sluice_lock_holder"),  # MySQL 8's quoting
    ("(1143, \"SELECT command denied to user 'd'@'%' for column 'status' in table "
     "'sluice_history'\")", "sluice_history"),
    ("permission denied for table orders", None),  # not one of Sluice's tables
    ("relation \"sluice_history\" does not exist", None),  # not a refusal
])
def test_which_of_sluice_s_tables_a_refusal_names(message: str, table: str | None) -> None:
    assert refused_table(Exception(message), ["sluice_lock_holder", "sluice_history",
                                              "sluice_data_progress"]) == table
