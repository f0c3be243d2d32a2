"""What `sluice fix` writes lints clean, and hides no finding lint would report.

- A downgrade `sluice fix` rewrote carries no `# sluice: ignore[...]`: lint does not check
  downgrades for the rules a recipe's steps would suppress, so it would report each one
  unused (SL902); the reason stays, as a plain comment. The same for a rule not in force.
- A type change SL101 reports as lossy is not rewritten into SL208's expand and contract
  (the recipe's SQL would hide SL101 from lint and from the production guard): the call
  stays as written and both findings stay. In a downgrade, which lint does not check, the
  undo of a widening is still rewritten.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from sluice.core.project import alembic_config
from tests.support.cli import run_cli
from tests.support.modules import forget_modules
from tests.support.revisions import PLAIN_ENV_PY, revision_source

ENV_PY = PLAIN_ENV_PY
#: env.py with Sluice's guard (the production lint guard of `sluice upgrade --env prod`).
GUARDED_ENV_PY = ENV_PY.replace(
    "from sqlalchemy import engine_from_config, pool\n",
    "from sqlalchemy import engine_from_config, pool\n\nfrom sluice import configure_options\n",
).replace("target_metadata=None)", "target_metadata=None, **configure_options(config))")

BASE = '''\
op.create_table("items", sa.Column("id", sa.Integer(), primary_key=True),
                sa.Column("price", sa.Integer(), nullable=False))
op.create_table("products", sa.Column("id", sa.Integer(), primary_key=True),
                sa.Column("name", sa.String(200), nullable=False))
op.execute("INSERT INTO items SELECT g, g FROM generate_series(1, 100) g")
op.execute("INSERT INTO products SELECT g, 'p' || g FROM generate_series(1, 100) g")
'''


def _project(root: Path, url: str, upgrade: str, downgrade: str, pyproject: str = "") -> Path:
    """A project (alembic.ini, env.py) with a base revision and 0002; the path of 0002."""
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "alembic.ini").write_text(
        f"[alembic]\nscript_location = %(here)s/migrations\nsqlalchemy.url = {url}\n",
        encoding="utf-8")
    (root / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    (root / "migrations" / "env.py").write_text(ENV_PY, encoding="utf-8")
    (root / "migrations" / "script.py.mako").write_text("", encoding="utf-8")
    (versions / "0001_base.py").write_text(
        revision_source("0001", None, BASE, 'op.drop_table("products")\nop.drop_table("items")\n'),
        encoding="utf-8")
    change = versions / "0002_change.py"
    change.write_text(revision_source("0002", "0001", upgrade + "\n", downgrade + "\n"),
                      encoding="utf-8")
    return change


def _ini(change: Path) -> str:
    return str(change.parents[2] / "alembic.ini")


def _fix(change: Path) -> tuple[str, str]:
    """`sluice fix FILE`: (what it said on stderr, the file after)."""
    done = run_cli(["fix", "-c", _ini(change), "--dialect", "postgresql", str(change)])
    assert done.exit_code == 0, done.output
    return done.stderr, change.read_text(encoding="utf-8")


def _lint(change: Path) -> tuple[int, list[dict[str, object]]]:
    """`sluice lint --fail-on info FILE`: its exit code and findings."""
    result = run_cli(["lint", "-c", _ini(change), "--dialect", "postgresql", "--no-cache",
                      "--fail-on", "info", "--format", "json", str(change)])
    assert result.exit_code in (0, 1), result.output
    data = json.loads(result.stdout)
    return result.exit_code, data["findings"] if isinstance(data, dict) else data


def _alembic(change: Path, url: str, fn: str, rev: str) -> None:
    root = change.parents[2]
    forget_modules(root)
    getattr(command, fn)(alembic_config(root / "alembic.ini", url=url, stdout=io.StringIO()), rev)


NULLABLE = 'op.alter_column("items", "price", existing_type=sa.Integer(), nullable=True)'
NOT_NULL = 'op.alter_column("items", "price", existing_type=sa.Integer(), nullable=False)'


# ------------------------------------------------------- suppressions where lint looks


@pytest.mark.postgres
def test_a_rewritten_downgrade_lints_clean_at_every_severity(tmp_path: Path,
                                                             pg_url: str) -> None:
    change = _project(tmp_path, pg_url, NULLABLE, NOT_NULL)
    said, after = _fix(change)
    assert "pg-set-not-null-via-check" in said
    code, findings = _lint(change)
    assert (code, findings) == (0, []), findings  # was: SL902 on the downgrade's lines
    downgrade = after.split("def downgrade() -> None:")[1]
    assert "autocommit_block" in downgrade and "sluice: ignore" not in after
    again = run_cli(["fix", "-c", _ini(change), "--dialect", "postgresql", "--diff", str(change)])
    assert again.exit_code == 0 and again.stdout == "", again.output
    # and it runs: up, down (the recipe), up again
    _alembic(change, pg_url, "upgrade", "head")
    _alembic(change, pg_url, "downgrade", "0001")
    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    try:
        price = next(c for c in sa.inspect(engine).get_columns("items") if c["name"] == "price")
    finally:
        engine.dispose()
    assert price["nullable"] is False
    _alembic(change, pg_url, "upgrade", "head")


def test_an_upgrade_keeps_its_suppressions_but_not_of_a_rule_not_in_force(
        tmp_path: Path) -> None:
    """(SET NOT NULL without a default: SL102, which no recipe answers, stays.)"""
    url = "postgresql://u@db.invalid/app"
    change = _project(tmp_path / "on", url, NOT_NULL, NULLABLE)
    _, after = _fix(change)
    # lint reads the valid check: SL206 and SL004 do not fire, nothing to suppress
    assert "ignore[SL206]" not in after and "ignore[SL004]" not in after
    code, findings = _lint(change)
    assert [f["rule"] for f in findings] == ["SL102"], findings
    # SL004 disabled: no suppression of it either (lint would report one unused)
    change = _project(tmp_path / "off", url, NOT_NULL, NULLABLE,
                      '[tool.sluice.lint]\ndisable = ["SL004"]\n')
    _, after = _fix(change)
    code, findings = _lint(change)
    assert [f["rule"] for f in findings] == ["SL102"], findings  # was: SL902 too
    assert "ignore[SL004]" not in after


# ------------------------------------------------------------ SL101 is not silenced


NARROWING = ("op.alter_column('products', 'name', existing_type=sa.String(200), "
             "type_=sa.String(50), existing_nullable=False)")
WIDENING = ("op.alter_column('products', 'name', existing_type=sa.String(50), "
            "type_=sa.String(200), existing_nullable=False)")


def test_fix_leaves_a_lossy_type_change_to_sl101(tmp_path: Path) -> None:
    change = _project(tmp_path, "postgresql://u@db.invalid/app", NARROWING, WIDENING)
    before = change.read_text(encoding="utf-8")
    said, after = _fix(change)
    assert after == before and "nothing to fix" in said
    code, findings = _lint(change)
    assert code == 1
    assert {str(f["rule"]) for f in findings} >= {"SL101", "SL208"}, findings
    (lossy,) = [f for f in findings if f["rule"] == "SL101"]
    assert "length shrinks from 200 to 50" in str(lossy["message"])


def test_fix_still_rewrites_a_narrowing_that_undoes_a_widening(tmp_path: Path) -> None:
    """A downgrade is not linted for SL101: the undo of INTEGER to BIGINT is written as
    the expand and contract too (so that it also undoes a half-done expand step)."""
    up = 'op.alter_column("items", "price", existing_type=sa.Integer(), type_=sa.BigInteger())'
    down = ('op.alter_column("items", "price", existing_type=sa.BigInteger(), '
            'type_=sa.Integer())')
    change = _project(tmp_path, "postgresql://u@db.invalid/app", up, down)
    said, after = _fix(change)
    assert "rewrote 2 operations" in said
    downgrade = after.split("def downgrade() -> None:")[1]
    assert "ADD COLUMN price__new INTEGER" in downgrade
    assert _lint(change) == (0, [])


@pytest.mark.postgres
def test_the_production_guard_still_refuses_a_lossy_change_after_fix(tmp_path: Path,
                                                                       pg_url: str) -> None:
    change = _project(tmp_path, pg_url, NARROWING, WIDENING,
                      '[tool.sluice]\ndefault_environment = "prod"\n\n'
                      '[tool.sluice.environments.prod]\nrequire_backup = false\n')
    (change.parents[1] / "env.py").write_text(GUARDED_ENV_PY, encoding="utf-8")
    assert GUARDED_ENV_PY != ENV_PY
    _fix(change)
    base = run_cli(["upgrade", "-c", _ini(change), "--env", "prod", "--yes", "0001"])
    assert base.exit_code == 0, base.output
    refused = run_cli(["upgrade", "-c", _ini(change), "--env", "prod", "--yes"])
    assert refused.exit_code == 1, refused.output
    assert "SL101" in refused.output
    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    try:
        name = next(c for c in sa.inspect(engine).get_columns("products")
                    if c["name"] == "name")
    finally:
        engine.dispose()
    assert str(name["type"]) == "VARCHAR(200)"


# ------------------------------------------- the rewrite hides nothing on its table


def test_a_rewritten_index_leaves_lint_reading_its_table_as_existing(tmp_path: Path) -> None:
    """The index guard compares a rerun's index with one built on an empty copy of the
    table: lint must not read that copy as a table the revision creates (it reports
    nothing on such a table), so what follows on the table is still reported."""
    up = ('op.create_index("ix_items_price", "items", ["price"])\n'
          'op.drop_column("items", "price")\n'
          'op.create_index("ix_products_name", "products", ["name"])\n' + NOT_NULL)
    change = _project(tmp_path, "postgresql://u@db.invalid/app", up, "pass")
    _, findings = _lint(change)
    before = sorted(str(f["rule"]) for f in findings)
    assert {"SL002", "SL102"} <= set(before), before
    said, after = _fix(change)
    assert "pg-create-index-concurrently" in said
    _, findings = _lint(change)
    assert {"SL002", "SL102"} <= {str(f["rule"]) for f in findings}, (findings, after)
