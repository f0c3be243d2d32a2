"""The round trip compares functions, procedures and triggers: made with ``CREATE OR
REPLACE`` or ``IF NOT EXISTS`` they never fail the upgrade after a downgrade that forgot
them, so only the comparison finds one left behind, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import Result, run_cli
from tests.support.runner import Rev, make_project

TABLE = Rev(id="r0001",
            upgrade="op.create_table('accounts', sa.Column('id', sa.Integer, primary_key=True),"
                    " sa.Column('a', sa.Integer))",
            downgrade="op.drop_table('accounts')")

PG_FUNCTION = ("op.execute('CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql "
               "AS $$ BEGIN NEW.a := NEW.a; RETURN NEW; END $$')")
PG_TRIGGER = ("op.execute('CREATE OR REPLACE TRIGGER accounts_touch BEFORE UPDATE ON accounts "
              "FOR EACH ROW EXECUTE FUNCTION touch()')")
MY_FUNCTION = ("op.execute('CREATE OR REPLACE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC "
               "RETURN x * 2')")
MY_TRIGGER = ("op.execute('CREATE TRIGGER IF NOT EXISTS accounts_touch BEFORE UPDATE ON "
              "accounts FOR EACH ROW SET NEW.a = NEW.a')")
SQLITE_TRIGGER = ("op.execute('CREATE TRIGGER IF NOT EXISTS accounts_touch AFTER UPDATE ON "
                  "accounts BEGIN SELECT 1; END')")
DROP_TRIGGER = "op.execute('DROP TRIGGER accounts_touch')"

#: case: (backend, upgrade, a downgrade that forgets part, one that undoes it, reported)
CASES = {
    "postgresql function": (
        "postgresql", f"{PG_FUNCTION}\n{PG_TRIGGER}",
        "op.execute('DROP TRIGGER accounts_touch ON accounts')",
        "op.execute('DROP TRIGGER accounts_touch ON accounts')\n"
        "op.execute('DROP FUNCTION touch()')",
        "function touch(): exists after the downgrade, not before the upgrade"),
    "postgresql trigger": (
        "postgresql", f"{PG_FUNCTION}\n{PG_TRIGGER}",
        "op.execute('SELECT 1')",
        "op.execute('DROP TRIGGER accounts_touch ON accounts')\n"
        "op.execute('DROP FUNCTION touch()')",
        "trigger accounts_touch on accounts: exists after the downgrade, not before the "
        "upgrade"),
    "mariadb function": (
        "mysql", f"{MY_FUNCTION}\n{MY_TRIGGER}", DROP_TRIGGER,
        f"{DROP_TRIGGER}\nop.execute('DROP FUNCTION twice')",
        "function twice: exists after the downgrade, not before the upgrade"),
    "mariadb trigger": (
        "mysql", MY_TRIGGER, "op.execute('SELECT 1')", DROP_TRIGGER,
        "trigger accounts_touch: exists after the downgrade, not before the upgrade"),
    "sqlite trigger": (
        "sqlite", SQLITE_TRIGGER, "op.execute('SELECT 1')", DROP_TRIGGER,
        "trigger accounts_touch: exists after the downgrade, not before the upgrade"),
}
MARKS = {"postgresql": pytest.mark.postgres, "mysql": pytest.mark.mysql, "sqlite": ()}
PARAMS = [pytest.param(case, marks=MARKS[backend]) for case, (backend, *_) in CASES.items()]


def check(root: Path, backend: str, upgrade: str, downgrade: str) -> Result:
    from tests.support.servers import server_url

    ini = make_project(root, [TABLE, Rev(id="r0002", upgrade=upgrade, downgrade=downgrade)])
    where = [] if backend == "sqlite" else ["--url", server_url(backend), "--scratch"]
    return run_cli(["check", "--only", "upgrade,roundtrip", *where, "-c", ini])


@pytest.mark.parametrize("case", PARAMS)
def test_a_downgrade_that_leaves_one_behind_fails(tmp_path: Path, case: str) -> None:
    backend, upgrade, broken, _, reported = CASES[case]
    done = check(tmp_path, backend, upgrade, broken)
    assert done.exit_code == 1, done.output
    assert "downgrade of revision r0002 does not restore the schema" in done.output
    assert reported in done.output, done.output
    assert "Missing here: op.execute(" in done.output, done.output


@pytest.mark.parametrize("case", PARAMS)
def test_a_downgrade_that_drops_them_passes(tmp_path: Path, case: str) -> None:
    backend, upgrade, _, healthy, _ = CASES[case]
    done = check(tmp_path, backend, upgrade, healthy)
    assert done.exit_code == 0, done.output
