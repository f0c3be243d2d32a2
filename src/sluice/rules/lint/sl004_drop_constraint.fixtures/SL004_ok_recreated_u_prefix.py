# sluice-test: dialects = postgresql
"""type_ written as a Python 2 unicode literal (u"foreignkey"): the same foreign key"""
from alembic import op

revision = "sl004_ok_recreated_u_prefix"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    # a foreign key re-created under the name PostgreSQL gives it (its column was renamed)
    op.drop_constraint(u"user_events_user_id_fkey", u"user_events", type_=u"foreignkey")
    op.create_foreign_key(None, u"user_events", u"users", [u"source_id"], [u"id"],
                          ondelete=u"CASCADE")


def downgrade():
    pass
