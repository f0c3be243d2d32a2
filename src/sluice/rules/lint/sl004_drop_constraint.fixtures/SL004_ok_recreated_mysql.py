# sluice-test: dialects = mysql
"""MySQL: foreign keys dropped and created again at once, to change ON DELETE (CTFd)"""
import sqlalchemy as sa
from alembic import op

revision = "sl004_ok_recreated_mysql"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.drop_constraint("awards_ibfk_1", "awards", type_="foreignkey")
    op.drop_constraint("awards_ibfk_2", "awards", type_="foreignkey")
    op.create_foreign_key("awards_ibfk_1", "awards", "teams", ["team_id"], ["id"],
                          ondelete="CASCADE")
    op.create_foreign_key("awards_ibfk_2", "awards", "users", ["user_id"], ["id"],
                          ondelete="CASCADE")
    op.execute("ALTER TABLE files DROP FOREIGN KEY files_ibfk_1")
    op.execute("ALTER TABLE files ADD CONSTRAINT files_ibfk_1 FOREIGN KEY (challenge_id) "
               "REFERENCES challenges (id) ON DELETE CASCADE")


def downgrade():
    pass
