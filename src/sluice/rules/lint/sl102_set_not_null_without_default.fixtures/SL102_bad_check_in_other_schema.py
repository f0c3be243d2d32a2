"""a check validated on the table of that name in another schema proves nothing of this
table's NULLs"""
import sqlalchemy as sa
from alembic import op

revision = "sl102_bad_check_in_other_schema"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.execute("ALTER TABLE archive.users VALIDATE CONSTRAINT ck_users_email_not_null")
    op.alter_column("users", "email", nullable=False, existing_type=sa.Text())  # <-
    op.alter_column("orders", "total", nullable=False, existing_type=sa.Integer())  # <-
    op.drop_constraint("ck_orders_total_nn", "orders", schema="archive", type_="check")


def downgrade():
    pass
