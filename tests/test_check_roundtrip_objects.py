"""The round trip compares what a careful reviewer would: enum values (PostgreSQL's enum
types, MySQL's ENUM columns), table and column comments, and views. A downgrade that
fails to restore one of them fails; a downgrade that restores them passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import Result, run_cli
from tests.support.runner import Rev, make_project

TABLE = Rev(
    id="r0001",
    upgrade="op.create_table('accounts', sa.Column('id', sa.Integer, primary_key=True),\n"
            "                sa.Column('tier', sa.Enum('free', 'pro', name='tier')),\n"
            "                sa.Column('note', sa.String(40)))\n"
            "op.execute('CREATE VIEW paying AS SELECT id FROM accounts')",
    downgrade="op.execute('DROP VIEW paying')\n"
              "op.drop_table('accounts')\n"
              "sa.Enum(name='tier').drop(op.get_bind(), checkfirst=True)")

NOTHING = "op.execute('SELECT 1')"
#: (upgrade, a downgrade that forgets part of it, one that undoes it, what is reported)
CASES = {
    "column comment": (
        "op.alter_column('accounts', 'note', comment='shown to support',\n"
        "                existing_type=sa.String(40))",
        NOTHING,
        "op.alter_column('accounts', 'note', comment=None,\n"
        "                existing_comment='shown to support', existing_type=sa.String(40))",
        "column accounts.note: comment none before the upgrade, 'shown to support' after "
        "the downgrade"),
    "table comment": (
        "op.create_table_comment('accounts', 'one row per customer')",
        NOTHING,
        "op.drop_table_comment('accounts', existing_comment='one row per customer')",
        "comment of table accounts: none before the upgrade, 'one row per customer' after "
        "the downgrade"),
    "view": (
        "op.execute('DROP VIEW paying')\n"
        "op.execute(\"CREATE VIEW paying AS SELECT id FROM accounts WHERE tier = 'pro'\")",
        "op.execute('DROP VIEW paying')\n"
        "op.execute(\"CREATE VIEW paying AS SELECT id FROM accounts WHERE tier = 'pro'\")",
        "op.execute('DROP VIEW paying')\n"
        "op.execute('CREATE VIEW paying AS SELECT id FROM accounts')",
        "view paying: "),
    "view left behind": (
        "op.execute('CREATE VIEW free_accounts AS SELECT id FROM accounts')",
        NOTHING,
        "op.execute('DROP VIEW free_accounts')",
        "view free_accounts: exists after the downgrade, not before the upgrade"),
}
PG_ENUM = (
    "op.execute(\"ALTER TYPE tier ADD VALUE IF NOT EXISTS 'enterprise'\")",
    NOTHING,
    "op.execute('ALTER TABLE accounts ALTER COLUMN tier TYPE text')\n"
    "op.execute('DROP TYPE tier')\n"
    "op.execute(\"CREATE TYPE tier AS ENUM ('free', 'pro')\")\n"
    "op.execute('DROP VIEW paying')\n"
    "op.execute('ALTER TABLE accounts ALTER COLUMN tier TYPE tier USING tier::tier')\n"
    "op.execute('CREATE VIEW paying AS SELECT id FROM accounts')",
    "enum type tier: values ('free', 'pro') before the upgrade, values ('free', 'pro', "
    "'enterprise') after the downgrade")
MYSQL_ENUM = (
    "op.alter_column('accounts', 'tier', type_=sa.Enum('free', 'pro', 'enterprise'),\n"
    "                existing_type=sa.Enum('free', 'pro'))",
    NOTHING,
    "op.alter_column('accounts', 'tier', type_=sa.Enum('free', 'pro'),\n"
    "                existing_type=sa.Enum('free', 'pro', 'enterprise'))",
    "column accounts.tier: type ENUM(")


def check(root: Path, backend: str, upgrade: str, downgrade: str) -> Result:
    from tests.support.servers import server_url

    ini = make_project(root, [TABLE, Rev(id="r0002", upgrade=upgrade, downgrade=downgrade)])
    return run_cli(["check", "--only", "upgrade,roundtrip", "--url", server_url(backend),
                    "--scratch", "-c", ini])


def cases(backend: str) -> dict[str, tuple[str, str, str, str]]:
    return {**CASES, "enum values": PG_ENUM if backend == "postgresql" else MYSQL_ENUM}


@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgres),
                                     pytest.param("mysql", marks=pytest.mark.mysql)])
@pytest.mark.parametrize("case", [*CASES, "enum values"])
def test_a_downgrade_that_does_not_restore_it_fails(tmp_path: Path, backend: str,
                                                    case: str) -> None:
    upgrade, broken, _, reported = cases(backend)[case]
    done = check(tmp_path, backend, upgrade, broken)
    assert done.exit_code == 1, done.output
    assert "downgrade of revision r0002 does not restore the schema" in done.output
    assert reported in done.output, done.output


@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgres),
                                     pytest.param("mysql", marks=pytest.mark.mysql)])
def test_downgrades_that_restore_them_pass(tmp_path: Path, backend: str) -> None:
    for case, (upgrade, _, downgrade, _) in cases(backend).items():
        done = check(tmp_path / case.replace(" ", "_"), backend, upgrade, downgrade)
        assert done.exit_code == 0, (case, done.output)
