# sluice-test: dialects = postgresql, sqlite
"""a table of the same name re-created, filled or renamed into place in another schema:
the dropped table's rows are gone all the same"""
import sqlalchemy as sa
from alembic import op

revision = "sl001_bad_recreated_in_other_schema"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.drop_table("user_macros", schema="billing")  # <-
    op.create_table("user_macros", sa.Column("id", sa.Integer(), primary_key=True))
    op.bulk_insert(sa.table("user_macros", sa.column("id")), [{"id": 1}])
    op.drop_table("ledger")  # <-
    op.create_table("ledger", sa.Column("id", sa.Integer(), primary_key=True),
                    schema="archive")
    op.bulk_insert(sa.table("ledger", sa.column("id"), schema="archive"), [{"id": 1}])
    op.execute("CREATE TABLE new_server (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    op.execute("INSERT INTO new_server (id, name) SELECT id, name FROM server")
    op.execute("DROP TABLE audit.server")  # <-
    op.execute("ALTER TABLE new_server RENAME TO server")
    op.execute("CREATE TABLE audit.new_host (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    op.execute("INSERT INTO audit.new_host (id, name) SELECT id, name FROM host")
    op.execute("DROP TABLE host")  # <-
    op.execute("ALTER TABLE audit.new_host RENAME TO host")


def downgrade():
    pass
