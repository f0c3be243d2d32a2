# sluice-test: dialects = postgresql, sqlite
"""tables of a schema rebuilt in place in that schema, their rows copied back in the same
transaction"""
import sqlalchemy as sa
from alembic import op

revision = "sl001_ok_rebuilt_in_schema"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    meta = sa.MetaData(schema="billing")
    meta.reflect(op.get_bind(), only=("user_macros",), resolve_fks=False)
    old = sa.Table("user_macros", meta)
    results = op.get_bind().execute(sa.select(old.c.mid, old.c.uid)).fetchall()
    op.drop_table("user_macros", schema="billing")
    op.create_table(
        "user_macros",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("mid", sa.Integer(), nullable=True),
        sa.Column("uid", sa.Integer(), nullable=False),
        schema="billing",
    )
    new_table = sa.table("user_macros", sa.column("mid"), sa.column("uid"), schema="billing")
    op.bulk_insert(new_table, [{"mid": r[0], "uid": r[1]} for r in results])
    op.execute("CREATE TABLE audit.new_server (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    op.execute("INSERT INTO audit.new_server (id, name) SELECT id, name FROM audit.server")
    op.execute("DROP TABLE audit.server")
    op.execute("ALTER TABLE audit.new_server RENAME TO server")


def downgrade():
    pass
