# sluice-test: dialects = postgresql, sqlite
"""what the revision creates after the drop is not equivalent: another kind, other columns"""
from alembic import op

revision = "sl004_bad_recreated_other_kind"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("block", schema=None) as batch_op:
        batch_op.drop_constraint("fk_block__spec_id__block_spec")  # <-
        batch_op.drop_constraint("uq_block__name")  # <-
        batch_op.alter_column("spec_id", new_column_name="schema_id")
    with op.batch_alter_table("block", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_block__schema_id", ["schema_id"])
        batch_op.create_foreign_key("fk_block__title__t", "t", ["title"], ["id"])


def downgrade():
    pass
