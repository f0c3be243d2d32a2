# sluice-test: dialects = postgresql, sqlite
"""a foreign key dropped, its table and column renamed, an equivalent one created"""
from alembic import op

revision = "sl004_ok_recreated_after_renames"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("block", schema=None) as batch_op:
        batch_op.drop_constraint("fk_block__block_spec_id__block_spec")
    op.rename_table("block_spec", "block_schema")
    op.rename_table("block", "block_document")
    with op.batch_alter_table("block_document", schema=None) as batch_op:
        batch_op.alter_column("block_spec_id", new_column_name="block_schema_id")
    with op.batch_alter_table("block_document", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_block__block_schema_id__block_schema"), "block_schema",
            ["block_schema_id"], ["id"], ondelete="cascade")


def downgrade():
    pass
