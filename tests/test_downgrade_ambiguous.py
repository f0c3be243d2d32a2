"""``downgrade -1`` from a database at several heads is ambiguous (Alembic warns that it
will refuse it, and meanwhile picks one head by the order of its rows): Sluice refuses it
with one line naming the heads and what to pass instead, and changes nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.runner import Rev, add_revision, chain, make_project


@pytest.fixture
def two_heads(tmp_path: Path) -> Path:
    ini = make_project(tmp_path / "proj", chain(2))
    add_revision(ini, Rev(id="b0001", upgrade='op.create_table("side", '
                          'sa.Column("id", sa.Integer(), primary_key=True))',
                          downgrade='op.drop_table("side")'), "r0001")
    assert run_cli(["upgrade", "heads", "-c", ini]).exit_code == 0
    return ini


def heads(ini: Path) -> list[str]:
    with sqlite3.connect(ini.parent / "app.db") as db:
        return sorted(r[0] for r in db.execute("SELECT version_num FROM alembic_version"))


@pytest.mark.parametrize("command", [["downgrade", "-1"], ["downgrade", "-2"],
                                     ["plan", "-1"]])
def test_a_relative_downgrade_from_several_heads_is_refused(two_heads: Path,
                                                            command: list[str]) -> None:
    done = run_cli([*command, "-c", two_heads])
    assert done.exit_code == 2, done.output
    first = done.output.splitlines()[0]
    assert first.startswith(f"sluice: error: downgrade {command[1]}: the database is at "
                            "2 heads (b0001, r0002)"), first
    # the commands it suggests act on the same alembic.ini
    assert f"`sluice downgrade <revision> -c {two_heads} --env dev`" in done.output
    assert f"`sluice downgrade <label>@{command[1]} -c {two_heads} --env dev`" in done.output
    assert heads(two_heads) == ["b0001", "r0002"]


def test_a_named_target_or_a_single_head_still_works(two_heads: Path) -> None:
    done = run_cli(["downgrade", "r0001", "-c", two_heads])
    assert done.exit_code == 0, done.output
    assert heads(two_heads) == ["r0001"]
    assert run_cli(["downgrade", "-1", "-c", two_heads]).exit_code == 0
    assert heads(two_heads) == []
