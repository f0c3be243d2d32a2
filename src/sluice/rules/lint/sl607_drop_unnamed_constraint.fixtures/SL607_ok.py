"""constraints dropped by name, also one computed at run time"""
from alembic import op

revision = "sl607_ok"
down_revision = None
branch_labels = None
depends_on = None

NAME = "fk_orders_user"


def upgrade():
    op.drop_constraint("uq_releases_version", "releases", type_="unique")
    op.drop_constraint(NAME, "orders", type_="foreignkey")
    op.drop_constraint(op.f("ck_orders_qty"), "orders", type_="check")


def downgrade():
    with op.batch_alter_table("orders") as batch_op:
        batch_op.drop_constraint("pk_orders", type_="primary")
