"""imports a library found neither where the lint runs nor in the project (a pre-commit
hook's own virtualenv lacks the project's dependencies): not the project's code"""
import sqlalchemy as sa
from alembic import op
from pydanticlike_not_installed import SecretStr

revision = "sl603_ok_not_found"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("users", sa.Column("token", sa.String(), nullable=True, info={"t": SecretStr}))


def downgrade():
    op.drop_column("users", "token")
