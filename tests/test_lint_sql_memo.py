"""What sqlglot's tree said of a revision's SQL is kept in sql.cache: a warm lint after
an edit to another call of that revision reads the same SQL without importing sqlglot,
and finds the same."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.lint import RUN
from tests.support.lint import project as static_project

REVISION = '''"""backfill

Revision ID: a001
Revises:
"""
from alembic import op

revision = "a001"
down_revision = None


def upgrade() -> None:
    op.create_check_constraint("ck_urls_{n}", "urls", "char_length(name) BETWEEN 1 AND 32")
    op.execute("""
        UPDATE urls SET name = (regexp_match(spec, '^([^,]+)'))[1]
        FROM deps WHERE deps.id = urls.dep_id AND deps.kind = 8
    """)


def downgrade() -> None:
    pass
'''


def lint(root: Path, tmp_path: Path, *args: str) -> tuple[str, list[str]]:
    report = tmp_path / "modules.json"
    done = subprocess.run([sys.executable, "-c", RUN, str(report), "lint", "-c",
                           str(root / "alembic.ini"), "--format", "json", *args],
                          cwd=tmp_path, capture_output=True, text=True, check=False)
    data = json.loads(report.read_text())
    assert data["exit"] in (0, 1), done.stderr
    findings = [(f["rule"], f["line"], f["message"])
                for f in json.loads(done.stdout)["findings"]]
    return json.dumps(findings), data["modules"]


def test_an_edit_elsewhere_in_the_revision_reads_its_sql_from_the_memo(
        tmp_path: Path) -> None:
    ini = static_project(tmp_path / "p", revisions=0)
    root = ini.parent
    path = root / "migrations" / "versions" / "a001.py"
    path.write_text(REVISION.format(n=1), encoding="utf-8")
    cold, modules = lint(root, tmp_path)
    assert any(m.startswith("sqlglot") for m in modules)  # the UPDATE needs the tree
    assert (root / ".sluice_cache" / "sql.cache").is_file()
    path.write_text(REVISION.format(n=2), encoding="utf-8")
    warm, modules = lint(root, tmp_path)
    assert not any(m.startswith("sqlglot") for m in modules)
    fresh, _ = lint(root, tmp_path, "--no-cache")
    assert warm == fresh and "SL502" in warm
    assert cold.replace("ck_urls_1", "ck_urls_2") == warm
