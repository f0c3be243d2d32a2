"""A read over several lines is one SL606 finding when both layers see it (prefect's
``conn.execute(\\n...\\n).fetchall()``): the static layer records it at the line Python
gives the call, as the render layer does."""

from __future__ import annotations

from pathlib import Path

from sluice.lint.engine import lint_project

REVISION = '''
"""reads rows over several lines"""
import sqlalchemy as sa
from alembic import op

revision = "r1"
down_revision = None


def upgrade():
    conn = op.get_bind()
    rows = (
        conn.execute(
            sa.text("SELECT id, tags FROM policy"),
        )
    ).fetchall()
    for row in rows:
        conn.execute(sa.text("UPDATE policy SET tags = :t WHERE id = :id"),
                     {"t": row[1], "id": row[0]})
    result = conn.execute(sa.text("UPDATE policy SET tags = '' WHERE id = 1"))
    if result.rowcount == 0:
        pass


def downgrade():
    pass
'''


def test_multiline_read_is_one_finding_with_both_layers(tmp_path: Path) -> None:
    versions = tmp_path / "migrations" / "versions"
    versions.mkdir(parents=True)
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/migrations\npath_separator = os\n"
        "sqlalchemy.url = postgresql://app@db/app\n")
    (versions / "r1_read.py").write_text(REVISION)
    for render_all in (False, True):
        res = lint_project(tmp_path / "alembic.ini", use_cache=False, render_all=render_all)
        assert res.coverage.rendered == (1 if render_all else 0), res.coverage.line()
        reads = [(f.line, f.message.split(";")[0]) for f in res.findings if f.rule == "SL606"]
        assert reads == [(16, "reads data through op.get_bind() (fetchall)")], reads
