"""copy-and-swap: a new column filled from the old one, the old dropped, the new renamed"""
import json

import sqlalchemy as sa
from alembic import op

revision = "sl002_bad_copy_and_swap"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("variable", sa.Column("json_value", sa.JSON(), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, value FROM variable")).fetchall()
    for variable_id, value in rows:
        conn.execute(
            sa.text("UPDATE variable SET json_value = :json_value WHERE id = :id"),
            {"json_value": json.dumps(value), "id": variable_id},
        )
    op.drop_column("variable", "value")  # <-
    op.alter_column("variable", "json_value", new_column_name="value")
    op.add_column("users", sa.Column("email2", sa.String(), nullable=True))
    op.drop_column("users", "email")  # <- (not copied: the data is lost)
    op.alter_column("users", "email2", new_column_name="email")


def downgrade():
    pass
