"""swallowed errors in downgrade(), and around code that runs no database operation"""
import contextlib

import sqlalchemy as sa
from alembic import op


def recover_slots(tag):
    return [tag]


revision = "sl605_bad_downgrade_and_no_db_work"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    with contextlib.suppress(Exception):  # <-
        recover_slots("a")


def downgrade():
    active_slots = []
    try:
        active_slots = recover_slots("b")
    except Exception as e:  # <-
        print(f"Note: could not recover active slots: {e}")
    try:
        op.execute(sa.text("DELETE FROM concurrency_limit_v2 WHERE name LIKE 'tag:%'"))
    except Exception:  # <-
        pass
    return active_slots
