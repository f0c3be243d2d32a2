"""A gate naming an environment the project does not have (`skip_in("prd")`) would never
skip (or never run) its step: in prod the block meant to be left out ran. It is refused
when the revision runs, naming the gate and the closest environment, online and --sql."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.util import CommandError

from tests.support.project import cfg, upgrade

SCRIPT = '''
"""gated

Revision ID: 0003
Revises: 0002
"""
from alembic import op
from sluice import only_in, skip_in

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("CREATE TABLE env_seen (name VARCHAR(20))")
    GATE
        op.execute("INSERT INTO env_seen VALUES ('gated')")


def downgrade():
    op.execute("DROP TABLE env_seen")
'''


@pytest.mark.parametrize(("gate", "meant"), [('with skip_in("prd"):', "prod"),
                                             ('with only_in("stagin"):', "staging")])
@pytest.mark.parametrize("sql", [False, True])
def test_a_gate_on_an_unknown_environment_stops_the_run(shop: Path, gate: str, meant: str,
                                                        sql: bool) -> None:
    (shop / "migrations" / "versions" / "0003_gated.py").write_text(
        SCRIPT.replace("GATE", gate))
    db = shop / "prod.db"
    label = gate.removeprefix("with ").removesuffix(":")
    with pytest.raises(CommandError) as err:
        command.upgrade(cfg(shop, f"sqlite:///{db}", "env=prod"),
                        "0002:0003" if sql else "head", sql=sql)
    message = str(err.value)
    assert f"unknown environment '{label.split(chr(34))[1]}' (from {label.replace(chr(34), chr(39))})" \
        in message, message
    assert f"did you mean '{meant}'?" in message
    if not sql:
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [
                ("0002",)]


def test_known_names_still_gate(shop: Path) -> None:
    (shop / "migrations" / "versions" / "0003_gated.py").write_text(
        SCRIPT.replace("GATE", 'with skip_in("prod"):'))
    upgrade(shop, f"sqlite:///{shop / 'prod.db'}", "env=prod")
    with sqlite3.connect(shop / "prod.db") as conn:
        assert conn.execute("SELECT name FROM env_seen").fetchall() == []


def test_only_in_with_one_known_name_runs_there(shop: Path) -> None:
    """A revision written for projects with a test environment still runs in dev."""
    (shop / "migrations" / "versions" / "0003_gated.py").write_text(
        SCRIPT.replace("GATE", 'with only_in("dev", "qa"):'))
    upgrade(shop, f"sqlite:///{shop / 'dev.db'}", "env=dev")
    with sqlite3.connect(shop / "dev.db") as conn:
        assert conn.execute("SELECT name FROM env_seen").fetchall() == [("gated",)]


def test_only_in_with_no_known_name_stops_the_run(shop: Path) -> None:
    (shop / "migrations" / "versions" / "0003_gated.py").write_text(
        SCRIPT.replace("GATE", 'with only_in("dve"):'))
    with pytest.raises(CommandError, match=r"unknown environment 'dve' \(from only_in\('dve'\)\); "
                                           "did you mean 'dev'"):
        upgrade(shop, f"sqlite:///{shop / 'dev.db'}", "env=dev")
