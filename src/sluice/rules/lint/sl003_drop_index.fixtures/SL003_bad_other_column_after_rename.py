# sluice-test: dialects = postgresql, sqlite
"""the index created after the rename is on another column: the dropped one is gone"""
from alembic import op

revision = "sl003_bad_other_column_after_rename"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("block_document", schema=None) as batch_op:
        batch_op.drop_index("ix_block__is_default")  # <-
        batch_op.alter_column("name", new_column_name="title")
    op.create_index("ix_block_document__title", "block_document", ["title"])


def downgrade():
    pass
