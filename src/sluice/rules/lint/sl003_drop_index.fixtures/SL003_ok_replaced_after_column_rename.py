# sluice-test: dialects = postgresql, sqlite
"""an index dropped, its column renamed, an index on the renamed column created"""
from alembic import op

revision = "sl003_ok_replaced_after_column_rename"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.rename_table("block", "block_document")
    with op.batch_alter_table("block_document", schema=None) as batch_op:
        batch_op.drop_index("ix_block__is_default_storage_block")
        batch_op.alter_column("is_default_storage_block",
                              new_column_name="is_default_storage_block_document")
    with op.batch_alter_table("block_document", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_block_document__is_default_storage_block_document"),
            ["is_default_storage_block_document"], unique=False)


def downgrade():
    pass
