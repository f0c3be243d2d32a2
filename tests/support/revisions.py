"""Revision file templates on examples/shop (``str.format`` with ``rev``, ``down``, ...)."""

from __future__ import annotations

import textwrap

SAFE = '''"""add users.nickname

Revision ID: {rev}
Revises: {down}
"""
import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = "{down}"


def upgrade():
    op.add_column("users", sa.Column("{column}", sa.String(40), nullable=True))


def downgrade():
    op.drop_column("users", "{column}")
'''


DANGEROUS = '''"""drop users.legacy_field

Revision ID: {rev}
Revises: {down}
"""
import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = "{down}"


def upgrade():
    op.drop_column("users", "legacy_field")


def downgrade():
    op.add_column("users", sa.Column("legacy_field", sa.String(50)))
'''


#: env.py that runs the migrations on ``sqlalchemy.url``, nothing else.
PLAIN_ENV_PY = '''\
from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
engine = engine_from_config(config.get_section(config.config_ini_section),
                            prefix="sqlalchemy.", poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
'''

_DEFAULT_IMPORTS = "import sqlalchemy as sa\nfrom alembic import op\n"


def revision_source(rev: str, down: str | None, upgrade: str, downgrade: str, *,
                    imports: str = "", only_imports: str | None = None) -> str:
    """A whole revision file: ``upgrade`` and ``downgrade`` are function bodies (indented
    here), ``imports`` more import lines after Alembic's and SQLAlchemy's;
    ``only_imports``: the import lines instead of those (a file that binds other names)."""
    head = _DEFAULT_IMPORTS if only_imports is None else textwrap.dedent(only_imports)
    return textwrap.dedent(f'''\
        """r{rev}

        Revision ID: {rev}
        Revises: {down or ""}
        """
        ''') + head + (imports.rstrip("\n") + "\n" if imports else "") + textwrap.dedent(f'''
        revision = "{rev}"
        down_revision = {down!r}
        branch_labels = None
        depends_on = None


        def upgrade() -> None:
        ''') + textwrap.indent(textwrap.dedent(upgrade), "    ") + textwrap.dedent('''

        def downgrade() -> None:
        ''') + textwrap.indent(textwrap.dedent(downgrade), "    ")
