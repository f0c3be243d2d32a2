"""backfilled first (per row), but without a server default: the running code breaks"""
import sqlalchemy as sa
from alembic import op

revision = "sl102_bad_backfilled_without_default"
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
            sa.update(schemas).where(schemas.c.id == row_id).values({"checksum": fields})
        )
    connection.execute(
        sa.text("UPDATE work_queue SET work_pool_id = :pool WHERE work_pool_id IS NULL")
        .params({"pool": 1})
    )
    op.alter_column("block_schema", "checksum", nullable=False)  # <-
    op.alter_column("work_queue", "work_pool_id", nullable=False)  # <-
    op.alter_column("work_queue", "name", nullable=False, server_default="x")  # <-


def downgrade():
    pass
