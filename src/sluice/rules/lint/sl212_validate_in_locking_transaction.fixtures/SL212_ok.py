"""the validation in an autocommit block, another table's change, a new table, a concurrent index"""
import sqlalchemy as sa
from alembic import op

revision = "sl212_ok"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_foreign_key("fk_orders_user", "orders", "users", ["user_id"], ["id"],
                          postgresql_not_valid=True)
    with op.get_context().autocommit_block():
        op.execute("ALTER TABLE orders VALIDATE CONSTRAINT fk_orders_user")
    op.add_column("users", sa.Column("nick", sa.Text(), nullable=True))
    op.execute("ALTER TABLE orders VALIDATE CONSTRAINT fk_orders_other")
    op.create_table("items", sa.Column("id", sa.Integer(), primary_key=True))
    op.execute("ALTER TABLE items ADD CONSTRAINT ck_id CHECK (id > 0) NOT VALID")
    op.execute("ALTER TABLE items VALIDATE CONSTRAINT ck_id")
    with op.get_context().autocommit_block():
        op.create_index("ix_orders_note", "orders", ["note"], postgresql_concurrently=True)


def downgrade():
    op.drop_constraint("fk_orders_user", "orders", type_="foreignkey")
