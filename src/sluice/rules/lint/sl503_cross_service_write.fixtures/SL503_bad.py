"""reset the version table from a revision"""
import sqlalchemy as sa
from alembic import op

revision = "sl503_bad"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.execute("DELETE FROM alembic_version")  # <-
    op.execute(sa.text("UPDATE sluice_history SET status = 'succeeded'"))  # <-
    op.execute(sa.delete(sa.table("sluice_lock_holder")))  # <-
    op.execute('INSERT INTO "public"."Alembic_Version" (version_num) '  # <-
               "SELECT 'x' WHERE NOT EXISTS (SELECT 1 FROM accounts)")
    op.execute("UPDATE accounts SET note = 'alembic_version'")


def downgrade():
    pass
