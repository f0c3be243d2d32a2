"""reads a row with a chained select and inserts one: data only, no downgrade needed"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.sql import column, table

revision = "sl601_ok_select_chain"
down_revision = None
branch_labels = None
depends_on = None

configs_table = table("config", column("id", sa.Integer), column("key", sa.Text),
                      column("value", sa.Text))


def get_config(key):
    connection = op.get_bind()
    return connection.execute(
        configs_table.select().where(configs_table.c.key == key).limit(1)
    ).fetchone()


def set_config(key, value):
    connection = op.get_bind()
    connection.execute(configs_table.insert().values(key=key, value=value))


def upgrade():
    if get_config("setup"):
        for key in ("a", "b"):
            if get_config(key) is None:
                set_config(key, "")
    op.get_bind().execute(configs_table.select().order_by(configs_table.c.id).limit(5))


def downgrade():
    pass
