"""SL608: constraint operations outside batch mode fail on SQLite, unless the revision
keeps them from SQLite with a dialect check (CTFd b5551cd26764)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sluice.lint.engine import lint_project

REVISION = '''\
"""captain"""
import sqlalchemy as sa
from alembic import op

revision = "a001"
down_revision = None


def upgrade():
    op.add_column("teams", sa.Column("captain_id", sa.Integer(), nullable=True))
    url = str(op.get_bind().engine.url)
    if url.startswith("sqlite") is False:
        op.create_foreign_key("team_captain_id", "teams", "users", ["captain_id"], ["id"])
    op.create_foreign_key("team_owner_id", "teams", "users", ["owner_id"], ["id"])


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("team_owner_id", "teams", type_="foreignkey")
    op.drop_constraint("team_captain_id", "teams", type_="foreignkey")
    op.drop_column("teams", "captain_id")
'''


@pytest.mark.parametrize("render", [True, False])
def test_guarded_calls_are_not_reported(tmp_path: Path, render: bool) -> None:
    versions = tmp_path / "migrations" / "versions"
    versions.mkdir(parents=True)
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/migrations\npath_separator = os\n")
    (tmp_path / "migrations" / "env.py").write_text("")
    (versions / "a001_captain.py").write_text(REVISION)
    result = lint_project(tmp_path / "alembic.ini", dialects=["sqlite"], use_cache=False,
                          render=render)
    assert sorted(f.line for f in result.findings if f.rule == "SL608") == [14, 20]
    assert "NotImplementedError" in next(f.message for f in result.findings
                                         if f.rule == "SL608")


def test_not_reported_when_no_dialect_is_named(tmp_path: Path) -> None:
    versions = tmp_path / "migrations" / "versions"
    versions.mkdir(parents=True)
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/migrations\npath_separator = os\n")
    (tmp_path / "migrations" / "env.py").write_text("")
    (versions / "a001_captain.py").write_text(REVISION)
    result = lint_project(tmp_path / "alembic.ini", use_cache=False)
    assert "sqlite" in result.dialects
    assert not [f for f in result.findings if f.rule == "SL608"]
