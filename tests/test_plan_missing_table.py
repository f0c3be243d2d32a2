"""`sluice plan` tells a table the upgrade creates ("new table") from one the database does
not have and nothing in the plan creates ("not in the database": the upgrade will fail on
it, or the revision creates it in a way the plan cannot see)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import run_cli
from tests.support.project import upgrade

REVISION = '''"""ghosts

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("labels", sa.Column("id", sa.Integer(), primary_key=True))
    op.add_column("labels", sa.Column("name", sa.String(50)))
    op.add_column("ghosts", sa.Column("note", sa.String(50)))


def downgrade() -> None:
    op.drop_column("ghosts", "note")
    op.drop_table("labels")
'''


def test_a_table_the_database_lacks_is_not_called_new(shop: Path) -> None:
    url = f"sqlite:///{shop / 'plan.db'}"
    upgrade(shop, url, rev="0002")
    (shop / "migrations" / "versions" / "0003_ghosts.py").write_text(REVISION)
    res = run_cli(["plan", "-c", str(shop / "alembic.ini"), "--url", url, "--no-sql"])
    assert res.exit_code in (0, 1), res.stderr
    (ghost,) = [line for line in res.stdout.splitlines() if "add_column ghosts" in line]
    assert "(not in the database" in ghost and "new table" not in ghost, res.stdout
    labels = [line for line in res.stdout.splitlines() if " labels" in line]
    assert len(labels) == 2 and all("(new table)" in line for line in labels), res.stdout
    res = run_cli(["plan", "-c", str(shop / "alembic.ini"), "--url", url, "--no-sql",
                   "--format", "json"])
    ops = json.loads(res.stdout)["revisions"][0]["operations"]
    assert [(o["table"], o["table_size"]["exists"], o["table_size"]["new"]) for o in ops] == [
        ("labels", False, True), ("labels", False, True), ("ghosts", False, False)]
