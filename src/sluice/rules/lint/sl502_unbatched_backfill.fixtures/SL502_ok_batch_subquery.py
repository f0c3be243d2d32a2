# sluice-test: dialects = postgresql
"""one batch of a loop: the keys come from a subquery with a LIMIT"""
import sqlalchemy as sa
from alembic import op

revision = "sl502_ok_batch_subquery"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    bind = op.get_bind()
    op.execute(sa.text(
        "UPDATE logins SET ip_id = ips.id FROM ips WHERE logins.ip = ips.ip "
        "AND logins.id IN (SELECT id FROM logins WHERE ip_id IS NULL ORDER BY id "
        "LIMIT :batch_size)").bindparams(batch_size=1000))
    bind.commit()


def downgrade():
    pass
