"""Services sharing one database: one service's revisions stay out of the others'
bookkeeping (found by a tester on examples/multiservice)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import run_cli

TOUCH_USERS = '''"""reporting touches users"""
import sqlalchemy as sa
from alembic import op

revision = "r0002"
down_revision = "r0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("report_flag", sa.Integer(), nullable=True))
    op.execute("DELETE FROM alembic_version")


def downgrade() -> None:
    op.drop_column("users", "report_flag")
'''


def test_lint_of_a_service_section_flags_writes_outside_the_service(multiservice: Path) -> None:
    path = multiservice / "migrations" / "versions" / "reporting" / "r0002_touch_users.py"
    path.write_text(TOUCH_USERS)
    result = run_cli(["lint", "-n", "reporting", "--all", "--no-cache", "--format", "json"],
                     cwd=multiservice)
    assert result.exit_code == 1, result.output
    found = {(f["line"], f["severity"]) for f in json.loads(result.stdout)["findings"]
             if f["rule"] == "SL503"}
    assert found == {(12, "warning"), (13, "error")}


def test_history_does_not_call_another_section_revisions_missing(multiservice: Path) -> None:
    url = f"sqlite:///{multiservice / 'cross.db'}"
    done = run_cli(["upgrade", "-n", "reporting", "--url", url, "--yes"], cwd=multiservice)
    assert done.exit_code == 0, done.output
    history = run_cli(["history", "--url", url], cwd=multiservice)
    assert history.exit_code == 0, history.output
    assert "r0001" in history.stdout
    assert "file is gone" not in history.output and "missing" not in history.output
    # a revision in no section at all is still reported
    (multiservice / "migrations" / "versions" / "reporting" / "r0001_daily_sales.py").unlink()
    gone = run_cli(["history", "--url", url], cwd=multiservice)
    assert "revision r0001 was applied" in gone.output and "file is gone" in gone.output
