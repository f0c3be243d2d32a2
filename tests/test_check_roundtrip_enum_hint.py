"""A PostgreSQL enum type a downgrade leaves behind makes the upgrade fail when it runs
again (``type "tier" already exists``, without the schema). The fix names the type with
its schema, and the code it prints works when pasted into downgrade()."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.cli import Result, run_cli
from tests.support.runner import Rev, make_project

pytestmark = pytest.mark.postgres

SCHEMA = Rev(id="r0001", upgrade="op.execute('CREATE SCHEMA billing')",
             downgrade="op.execute('DROP SCHEMA billing')")


def table_rev(enum: str, downgrade: str) -> Rev:
    return Rev(id="r0002",
               upgrade="op.create_table('accounts', sa.Column('id', sa.Integer, "
                       f"primary_key=True), sa.Column('tier', {enum}), schema='billing')",
               downgrade=downgrade)


def check(root: Path, revs: list[Rev]) -> Result:
    from tests.support.servers import server_url

    ini = make_project(root, revs)
    return run_cli(["check", "--only", "upgrade,roundtrip", "--url",
                    server_url("postgresql"), "--scratch", "-c", ini])


def test_the_drop_hint_names_the_schema_and_works(tmp_path: Path) -> None:
    enum = "sa.Enum('free', 'pro', name='tier', schema='billing')"
    done = check(tmp_path / "a", [SCHEMA, table_rev(
        enum, "op.drop_table('accounts', schema='billing')")])
    assert done.exit_code == 1, done.output
    assert 'type "tier" already exists' in done.output
    assert "the type billing.tier is left behind" in done.output
    hint = re.search(r"end downgrade\(\) with (sa\.Enum\(.*?\)\.drop\(op\.get_bind\(\), "
                     r"checkfirst=True\))", done.output)
    assert hint is not None, done.output
    assert "schema='billing'" in hint.group(1)
    fixed = check(tmp_path / "b", [SCHEMA, table_rev(
        enum, f"op.drop_table('accounts', schema='billing')\n{hint.group(1)}")])
    assert fixed.exit_code == 0, fixed.output
