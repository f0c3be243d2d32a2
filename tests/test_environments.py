from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic import command

from sluice.config import parse_config
from sluice.environments import resolve_environment
from sluice.errors import ConfigError
from tests.support.project import cfg, upgrade

CONFIG = parse_config({"environments": ["dev", "staging", "prod"],
                       "default_environment": "dev"})


@pytest.mark.parametrize(
    ("x", "environ", "expected"),
    [
        ({"env": "prod"}, {"SLUICE_ENV": "staging", "ALEMBIC_ENV": "dev"}, "prod"),
        ({}, {"SLUICE_ENV": "staging", "ALEMBIC_ENV": "prod"}, "staging"),
        ({}, {"ALEMBIC_ENV": "prod"}, "prod"),
        ({}, {}, "dev"),
    ],
)
def test_resolution_order(x: dict[str, str], environ: dict[str, str], expected: str) -> None:
    assert resolve_environment(CONFIG, x, environ) == expected


def test_unknown_environment_lists_valid_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown environment 'qa' \(from SLUICE_ENV\); valid: dev, prod, staging"):
        resolve_environment(CONFIG, {}, {"SLUICE_ENV": "qa"})


def _products(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM products").fetchone()[0])


def test_only_in_runs_in_dev_and_is_skipped_in_prod(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLUICE_ENV", raising=False)
    monkeypatch.delenv("ALEMBIC_ENV", raising=False)
    upgrade(shop, f"sqlite:///{shop / 'dev.db'}")
    assert _products(shop / "dev.db") == 2
    upgrade(shop, f"sqlite:///{shop / 'prod.db'}", "env=prod")
    assert _products(shop / "prod.db") == 0
    monkeypatch.setenv("SLUICE_ENV", "prod")
    upgrade(shop, f"sqlite:///{shop / 'prod2.db'}")
    assert _products(shop / "prod2.db") == 0


def test_unknown_env_in_alembic_run_is_a_command_error(shop: Path) -> None:
    from alembic.util import CommandError

    with pytest.raises(CommandError, match="unknown environment 'qa'"):
        upgrade(shop, f"sqlite:///{shop / 'x.db'}", "env=qa")


SCRIPT_WITH_BLOCK = '''
"""gated block

Revision ID: 0003
Revises: 0002
"""
from alembic import op
from sluice import current_env, skip_in

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("CREATE TABLE env_seen (name VARCHAR(20))")
    op.execute(f"INSERT INTO env_seen VALUES ('{current_env()}')")
    with skip_in("prod"):
        op.execute("INSERT INTO env_seen VALUES ('block')")
    op.execute("INSERT INTO env_seen VALUES ('after')")


def downgrade():
    op.execute("DROP TABLE env_seen")
'''


def _seen(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute("SELECT name FROM env_seen")]


def test_context_manager_skips_only_its_block(shop: Path) -> None:
    (shop / "migrations" / "versions" / "0003_gated.py").write_text(SCRIPT_WITH_BLOCK)
    upgrade(shop, f"sqlite:///{shop / 'dev.db'}")
    assert _seen(shop / "dev.db") == ["dev", "block", "after"]
    upgrade(shop, f"sqlite:///{shop / 'prod.db'}", "env=prod")
    assert _seen(shop / "prod.db") == ["prod", "after"]


def test_offline_mode_renders_skip_as_sql_comment(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (shop / "migrations" / "versions" / "0003_gated.py").write_text(SCRIPT_WITH_BLOCK)
    config = cfg(shop, f"sqlite:///{shop / 'x.db'}", "env=prod")
    command.upgrade(config, "head", sql=True)
    out = capsys.readouterr().out
    assert "-- sluice: step seed_demo_products skipped in environment 'prod'" in out
    assert "-- sluice: block skipped in environment 'prod' (skip_in('prod'))" in out
    assert "INSERT INTO env_seen VALUES ('after')" in out
    assert "VALUES ('block')" not in out


SCRIPT_PRODUCTION_GATES = '''
"""production gates

Revision ID: 0003
Revises: 0002
"""
from alembic import op
from sluice import only_in, skip_in

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


@only_in(production=True)
def production_only():
    op.execute("INSERT INTO env_seen VALUES ('only_in production')")


@skip_in(production=True)
def never_in_production():
    op.execute("INSERT INTO env_seen VALUES ('skip_in production')")


def upgrade():
    op.execute("CREATE TABLE env_seen (name VARCHAR(40))")
    production_only()
    never_in_production()
    with skip_in(production=True):
        op.execute("INSERT INTO env_seen VALUES ('block skipped in production')")
    with only_in("staging", production=True):
        op.execute("INSERT INTO env_seen VALUES ('block staging or production')")


def downgrade():
    op.execute("DROP TABLE env_seen")
'''


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ("dev", ["skip_in production", "block skipped in production"]),
        ("staging", ["skip_in production", "block skipped in production",
                     "block staging or production"]),
        ("prod", ["only_in production", "block staging or production"]),
        ("live", ["only_in production", "block staging or production"]),
    ],
)
def test_production_gates_cover_every_production_environment(
    shop: Path, env: str, expected: list[str]
) -> None:
    # "live" is production by its own table, not by name: skip_in("prod") would run there.
    with (shop / "sluice.toml").open("a") as toml:
        toml.write("[environments.live]\nproduction = true\n")
    (shop / "migrations" / "versions" / "0003_gates.py").write_text(SCRIPT_PRODUCTION_GATES)
    upgrade(shop, f"sqlite:///{shop / 'x.db'}", f"env={env}")
    assert _seen(shop / "x.db") == expected


def test_production_gate_label_in_sql_comment(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with (shop / "sluice.toml").open("a") as toml:
        toml.write("[environments.live]\nproduction = true\n")
    (shop / "migrations" / "versions" / "0003_gates.py").write_text(SCRIPT_PRODUCTION_GATES)
    command.upgrade(cfg(shop, f"sqlite:///{shop / 'x.db'}", "env=live"), "head", sql=True)
    out = capsys.readouterr().out
    assert "-- sluice: block skipped in environment 'live' (skip_in(production=True))" in out
    assert "-- sluice: step never_in_production skipped in environment 'live'" in out


def test_a_gate_needs_an_environment() -> None:
    from sluice import only_in

    with pytest.raises(ValueError, match="name at least one environment or pass production=True"):
        only_in()
