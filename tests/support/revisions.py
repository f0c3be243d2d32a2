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


def revision_source(rev: str, down: str | None, upgrade: str, downgrade: str, *,
                    imports: str = "") -> str:
    """A whole revision file: ``upgrade`` and ``downgrade`` are function bodies (indented
    here), ``imports`` more import lines after Alembic's and SQLAlchemy's."""
    return textwrap.dedent(f'''\
        """r{rev}

        Revision ID: {rev}
        Revises: {down or ""}
        """
        import sqlalchemy as sa
        from alembic import op
        ''') + (imports.rstrip("\n") + "\n" if imports else "") + textwrap.dedent(f'''
        revision = "{rev}"
        down_revision = {down!r}
        branch_labels = None
        depends_on = None


        def upgrade() -> None:
        ''') + textwrap.indent(textwrap.dedent(upgrade), "    ") + textwrap.dedent('''

        def downgrade() -> None:
        ''') + textwrap.indent(textwrap.dedent(downgrade), "    ")
