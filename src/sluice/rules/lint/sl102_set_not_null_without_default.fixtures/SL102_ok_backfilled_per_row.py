"""backfilled first, per row (a Core update in a loop) or with text(...).params(...)"""
import sqlalchemy as sa
from alembic import op

revision = "sl102_ok_backfilled_per_row"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    connection = op.get_bind()
    meta = sa.MetaData()
    meta.reflect(connection)
    schemas = meta.tables["block_schema"]
    for row_id, fields in connection.execute(sa.select(schemas.c.id, schemas.c.fields)):
        connection.execute(
            sa.update(schemas).where(schemas.c.id == row_id).values(checksum=str(fields))
        )
    connection.execute(
        sa.text("UPDATE work_queue SET work_pool_id = :pool WHERE work_pool_id IS NULL")
        .params({"pool": 1})
    )
    for row_id in (1, 2):
        connection.execute(sa.text("UPDATE orders SET ref = :ref WHERE id = :id"),
                           {"ref": "r", "id": row_id})
    op.alter_column("block_schema", "checksum", nullable=False, server_default="")
    op.alter_column("work_queue", "work_pool_id", nullable=False, server_default="1")
    op.alter_column("orders", "ref", nullable=False, server_default="")


def downgrade():
    pass
