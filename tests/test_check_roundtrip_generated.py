"""The round trip compares partial indexes' predicates (``CREATE INDEX ... WHERE``), index
methods, and computed columns' expressions: a downgrade that re-creates an index without
its WHERE, or a generated column with another expression or as a plain column, fails on
SQLite, PostgreSQL and MariaDB (which has generated columns and no partial indexes); a
downgrade that re-creates them as they were passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import Result, run_cli
from tests.support.runner import Rev, make_project

BACKENDS = [pytest.param("sqlite"),
            pytest.param("postgresql", marks=pytest.mark.postgres),
            pytest.param("mysql", marks=pytest.mark.mysql)]

WHERE = "postgresql_where=sa.text('a > 5'), sqlite_where=sa.text('a > 5')"
TABLE = Rev(
    id="r0001",
    upgrade="op.create_table('accounts', sa.Column('id', sa.Integer, primary_key=True),\n"
            "                sa.Column('a', sa.Integer),\n"
            "                sa.Column('subtotal', sa.Integer, sa.Computed('a * 2')),\n"
            "                sa.Column('total', sa.Integer, sa.Computed('a * 2 + 1')))\n"
            f"op.create_index('ix_accounts_a', 'accounts', ['a'], {WHERE})",
    downgrade="op.drop_index('ix_accounts_a', table_name='accounts')\n"
              "op.drop_table('accounts')")

DROP_INDEX = "op.drop_index('ix_accounts_a', table_name='accounts')"
DROP_COLUMN = "op.drop_column('accounts', 'total')"
ADD_COLUMN = "op.add_column('accounts', sa.Column('total', sa.Integer{}))"
#: (upgrade, a downgrade that re-creates it differently, one that re-creates it as it was,
#: the parts of what is reported, the backends it applies to). ``total`` comes after
#: ``subtotal``, whose definition has its name in it (SQLAlchemy reads SQLite's ``total``
#: as ``a * 2``, whatever it is).
CASES = {
    "index without its where": (
        DROP_INDEX,
        "op.create_index('ix_accounts_a', 'accounts', ['a'])",
        f"op.create_index('ix_accounts_a', 'accounts', ['a'], {WHERE})",
        ("index ix_accounts_a on accounts: (a) where ", "> 5", "before the upgrade, (a) after "
         "the downgrade"),
        ("sqlite", "postgresql")),
    "index with another where": (
        DROP_INDEX,
        "op.create_index('ix_accounts_a', 'accounts', ['a'], postgresql_where=sa.text('a > 6'),"
        " sqlite_where=sa.text('a > 6'))",
        f"op.create_index('ix_accounts_a', 'accounts', ['a'], {WHERE})",
        ("index ix_accounts_a on accounts: (a) where ", "> 5", "before the upgrade, (a) where ",
         "> 6", "after the downgrade"),
        ("sqlite", "postgresql")),
    "computed with another expression": (
        DROP_COLUMN,
        ADD_COLUMN.format(", sa.Computed('a * 3')"),
        ADD_COLUMN.format(", sa.Computed('a * 2 + 1')"),
        ("column accounts.total: computed ", "+ 1", "before the upgrade, ", "* 3",
         "after the downgrade"),
        ("sqlite", "postgresql", "mysql")),
    "computed as a plain column": (
        DROP_COLUMN,
        ADD_COLUMN.format(""),
        ADD_COLUMN.format(", sa.Computed('a * 2 + 1')"),
        ("column accounts.total: computed ", "+ 1", "before the upgrade, none after the "
         "downgrade"),
        ("sqlite", "postgresql", "mysql")),
}


def check(root: Path, backend: str, upgrade: str, downgrade: str) -> Result:
    from tests.support.servers import server_url

    ini = make_project(root, [TABLE, Rev(id="r0002", upgrade=upgrade, downgrade=downgrade)])
    where = [] if backend == "sqlite" else ["--url", server_url(backend), "--scratch"]
    return run_cli(["check", "--only", "upgrade,roundtrip", *where, "-c", ini])


#: Each case on each database that has what it changes (MariaDB has no partial indexes).
PAIRS = [pytest.param(case, b.values[0], marks=b.marks, id=f"{case}-{b.values[0]}")
         for case, (*_, backends) in CASES.items() for b in BACKENDS if b.values[0] in backends]


@pytest.mark.parametrize(("case", "backend"), PAIRS)
def test_a_downgrade_that_recreates_it_differently_fails(tmp_path: Path, backend: str,
                                                         case: str) -> None:
    upgrade, broken, _, reported, _ = CASES[case]
    done = check(tmp_path, backend, upgrade, broken)
    assert done.exit_code == 1, done.output
    assert "downgrade of revision r0002 does not restore the schema" in done.output
    line = next(x for x in done.output.splitlines() if "does not restore" in x)
    at = 0
    for part in reported:  # in this order, each database spelling the expressions its way
        found = line.find(part, at)
        assert found >= 0, (part, line)
        at = found + len(part)


@pytest.mark.parametrize(("case", "backend"), PAIRS)
def test_a_downgrade_that_recreates_it_as_it_was_passes(tmp_path: Path, backend: str,
                                                        case: str) -> None:
    upgrade, _, healthy, _, _ = CASES[case]
    done = check(tmp_path, backend, upgrade, healthy)
    assert done.exit_code == 0, done.output


@pytest.mark.parametrize("backend", BACKENDS)
def test_recreated_as_they_were_in_another_spelling_they_pass(tmp_path: Path,
                                                              backend: str) -> None:
    """SQLite keeps each statement as written: ``(a>5)`` is the predicate ``a > 5``."""
    where = "postgresql_where=sa.text('(a>5)'), sqlite_where=sa.text('(a>5)')"
    done = check(tmp_path, backend, f"{DROP_INDEX}\n{DROP_COLUMN}",
                 f"op.create_index('ix_accounts_a', 'accounts', ['a'], {where})\n"
                 + ADD_COLUMN.format(", sa.Computed('(a*2)+1')"))
    assert done.exit_code == 0, done.output

def test_sqlites_statements_are_read_with_their_quotes_and_parentheses() -> None:
    from sluice.check.sqlite_ddl import generated_columns, index_parts

    table = ("CREATE TABLE t (id INTEGER, subtotal INT GENERATED ALWAYS AS (a * 2) VIRTUAL, "
             "\"total\" INT AS ((a*2)+1) STORED, note VARCHAR(20) DEFAULT ('x, AS (y)'), "
             "CONSTRAINT ck CHECK (id > 0))")
    assert generated_columns(table) == {"subtotal": ("a * 2", False),
                                        "total": ("(a*2)+1", True)}
    assert index_parts('CREATE UNIQUE INDEX ix ON "t" (lower(email)) WHERE deleted_at IS '
                       "NULL") == ("lower(email)", "deleted_at IS NULL", True)
    assert index_parts("CREATE INDEX ix ON t (a, b)") == ("a, b", None, False)


def test_sqlites_short_generated_form_after_another_constraint_is_read() -> None:
    """SQLite accepts ``AS (...)`` after a column constraint (``NOT NULL AS (...)``)."""
    from sluice.check.sqlite_ddl import generated_columns

    table = ("CREATE TABLE t (a INT DEFAULT ('x, AS (y)'), b INT NOT NULL AS ((a*2)+1) "
             "STORED, [c d] TEXT UNIQUE AS (lower(a)), CONSTRAINT ck CHECK (a > 0))")
    assert generated_columns(table) == {"b": ("(a*2)+1", True), "c d": ("lower(a)", False)}
