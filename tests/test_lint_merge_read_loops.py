"""Static operations in the body of a loop over the rows of a read are kept after a render.

Offline a read returns no rows, so such a loop runs no time and its operations are missing
from the render; the merge must not take that for a dialect branch not taken (the upgrade
of CTFd 46a278193a94 lost SL301/SL105 that way).
"""

from __future__ import annotations

from pathlib import Path

from sluice.lint.engine import lint_project, merge_ops
from sluice.lint.model import Op

REVISION = '''\
"""datetime precision"""
from alembic import op
from sqlalchemy.dialects import mysql

revision = "a001"
down_revision = None


def upgrade():
    bind = op.get_bind()
    url = str(bind.engine.url)
    if url.startswith("mysql") or bind.dialect.name == "mysql":
        conn = op.get_bind()
        columns = conn.execute("SELECT table_name, column_name FROM information_schema.columns").fetchall()
        for table_name, column_name in columns:
            op.alter_column(table_name, column_name, type_=mysql.DATETIME(fsp=6))


def downgrade():
    pass
'''


def _project(root: Path) -> Path:
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/migrations\npath_separator = os\n")
    (root / "migrations" / "env.py").write_text("")
    (versions / "a001_dt.py").write_text(REVISION)
    return root / "alembic.ini"


def _rules(ini: Path, dialect: str, *, render: bool) -> set[tuple[str, int | None]]:
    result = lint_project(ini, dialects=[dialect], use_cache=False, render=render)
    return {(f.rule, f.line) for f in result.findings}


def test_ops_in_a_loop_over_fetched_rows_survive_the_render(tmp_path: Path) -> None:
    ini = _project(tmp_path)
    static = _rules(ini, "mysql", render=False)
    rendered = _rules(ini, "mysql", render=True)
    assert {("SL301", 16), ("SL105", 16)} <= static
    assert {("SL301", 16), ("SL105", 16)} <= rendered
    report = lint_project(ini, dialects=["mysql"], use_cache=False).revisions[0]
    assert report.status == "rendered"


def test_an_arm_rendering_did_not_enter_still_drops_them() -> None:
    dead = Op("alter_column", table="t", column="c", line=16, args={"offline_dead": True})
    read = Op("execute", line=14, sql="SELECT 1", args={"via": "bind"})
    lines = set(range(13, 17))
    arms = [(13, 16)]
    entered = [Op("execute", line=14, sql="SELECT 1", source="render")]
    kept = merge_ops([read, dead], entered, ["upgrade"], lines, arms)
    assert [o.kind for o in kept] == ["execute", "alter_column"]
    skipped = merge_ops([read, dead], [], ["upgrade"], lines, arms)
    assert [o.kind for o in skipped] == []
    # an operation that runs offline and is missing from the render: branch not taken
    live = Op("alter_column", table="t", column="c", line=16)
    assert [o.kind for o in merge_ops([read, live], entered, ["upgrade"], lines, arms)] \
        == ["execute"]
