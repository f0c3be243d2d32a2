"""`sluice plan` lists a revision's data steps (sluice.data) with the rows they walk and
marks the ones the target environment skips (only_in/skip_in, production=True too)."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from sluice.runner.datasteps import data_steps
from tests.support.cli import run_cli
from tests.support.modules import forget_modules
from tests.support.project import upgrade

REVISION = '''"""data steps

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

import sluice.data
from sluice import only_in, skip_in
from sluice.data import batched_update

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

users = sa.table("users", sa.column("id", sa.Integer), sa.column("full_name", sa.String))


def upgrade() -> None:
    batched_update(users, {"full_name": "n/a"}, where=users.c.full_name.is_(None))
    with skip_in(production=True):
        sluice.data.batched_delete("orders", where=sa.column("quantity") > 100)
    seed_demo()


@only_in("dev", "test")
def seed_demo() -> None:
    sluice.data.backfill(users, lambda rows: [None for _ in rows], columns=["full_name"],
                         step="demo names")


def downgrade() -> None:
    pass
'''


def _setup(shop: Path, url: str) -> Path:
    upgrade(shop, url, rev="0002")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for i in (1, 2, 3):
            conn.execute(sa.text("INSERT INTO users (id, email, full_name) VALUES "
                                 f"({i}, 'u{i}@example.com', 'User {i}')"))
        product = conn.execute(sa.text("SELECT min(id) FROM products")).scalar()
        for i in (1, 2):
            conn.execute(sa.text("INSERT INTO orders (id, user_id, product_id, quantity) "
                                 f"VALUES ({i}, 1, {product}, {i})"))
    engine.dispose()
    path = shop / "migrations" / "versions" / "0003_data_steps.py"
    path.write_text(REVISION, encoding="utf-8")
    return path


def _count(url: str, table: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() or 0)
    finally:
        engine.dispose()


def _plan(shop: Path, url: str, env: str, fmt: str = "json") -> str:
    forget_modules(shop)
    res = run_cli(["plan", "-c", str(shop / "alembic.ini"), "--url", url,
                   "--env", env, "--no-sql", "--format", fmt])
    assert res.exit_code in (0, 1), res.stderr
    return res.stdout


def test_data_steps_are_read_from_the_source(shop: Path) -> None:
    path = _setup(shop, f"sqlite:///{shop / 'dev.db'}")
    steps = data_steps(path)
    assert [(s.kind, s.table, s.filtered, s.step, [g.label for g in s.gates])
            for s in steps] == [
        ("batched_update", "users", True, None, []),
        ("batched_delete", "orders", True, None, ["skip_in(production=True)"]),
        ("backfill", "users", False, "demo names", ["only_in('dev', 'test')"]),
    ]
    assert [s.line for s in steps] == [22, 24, 30]


def test_plan_lists_data_steps_with_rows_and_skips(shop: Path, db_url: str) -> None:
    _setup(shop, db_url)
    users, orders = _count(db_url, "users"), _count(db_url, "orders")
    assert (users, orders) == (3, 2)
    prod = json.loads(_plan(shop, db_url, "prod"))
    (rev,) = prod["revisions"]
    assert [(d["kind"], d["table"], d["rows"], d["filtered"], d["skipped_by"])
            for d in rev["data_steps"]] == [
        ("batched_update", "users", users, True, None),
        ("batched_delete", "orders", orders, True, "skip_in(production=True)"),
        ("backfill", "users", users, False, "only_in('dev', 'test')"),
    ]
    dev = json.loads(_plan(shop, db_url, "dev"))
    assert [d["skipped"] for d in dev["revisions"][0]["data_steps"]] == [False, False, False]
    text = _plan(shop, db_url, "prod", "text")
    assert (f"   - data: batched_delete orders  (at most {orders} rows)  SKIPPED here: "
            "skip_in(production=True)  [line 24]") in text
    assert (f"   - data: backfill 'demo names' users  ({users} rows)  SKIPPED here: "
            "only_in('dev', 'test')  [line 30]") in text


def test_plan_marks_operations_the_environment_skips(shop: Path) -> None:
    """0002 seeds demo products in a function decorated with only_in("dev", "test",
    "staging"): production skips that bulk_insert, dev runs it."""
    url = f"sqlite:///{shop / 'plan.db'}"
    upgrade(shop, url, rev="0001")
    prod = json.loads(_plan(shop, url, "prod"))
    ops = {o["kind"]: o["skipped_by"] for o in prod["revisions"][0]["operations"]}
    assert ops == {"create_table": None, "create_index": None,
                   "bulk_insert": "only_in('dev', 'test', 'staging')"}
    assert "  SKIPPED here: only_in('dev', 'test', 'staging')  [line 30]" in _plan(
        shop, url, "prod", "text")
    dev = json.loads(_plan(shop, url, "dev"))
    assert all(o["skipped_by"] is None for o in dev["revisions"][0]["operations"])
