"""Each revision is parsed once: the render layer compiles the static layer's tree.

What must not change with it: a file is still run as Python reads it (its coding
cookie), the bytecode cache is still written and read, and the rendered result is the
same as when the render layer parses the file itself.
"""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.config import Config

from sluice.lint.engine import lint_project
from sluice.lint.render import Renderer
from sluice.lint.static import analyze_source


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "migrations" / "versions").mkdir(parents=True)
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/migrations\nprepend_sys_path = %(here)s\n"
        "path_separator = os\nsqlalchemy.url = postgresql://u@localhost/db\n"
    )
    (tmp_path / "sluice.toml").write_text('[lint]\ndialects = ["postgresql"]\n')
    return tmp_path


def write(project: Path, name: str, body: str, encoding: str = "utf-8") -> Path:
    path = project / "migrations" / "versions" / name
    path.write_bytes(textwrap.dedent(body).lstrip().encode(encoding))
    return path


REVISION = """
import sqlalchemy as sa
from alembic import op

revision = "a1"
down_revision = None


def upgrade():
    op.create_table("t", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("name", sa.String(50)))
    op.execute("UPDATE t SET name = 'x' WHERE id = 1")
    op.add_column("t", sa.Column("n", sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    op.drop_table("t")
"""


@pytest.fixture
def renderer(project: Path) -> Iterator[Renderer]:
    cfg = Config(str(project / "alembic.ini"))
    with Renderer(cfg, script_location=project / "migrations", dialects=["postgresql"],
                  sys_path=[str(project)], project_root=project) as r:
        yield r


def test_rendering_the_parsed_tree_is_rendering_the_file(project: Path,
                                                         renderer: Renderer) -> None:
    path = write(project, "a1_first.py", REVISION)
    raw = path.read_bytes()
    static = analyze_source(raw.decode(), str(path))
    assert static.tree is not None
    from_tree = renderer.render(path, tree=static.tree, content=raw)
    from_file = renderer.render(path)
    assert from_tree.ok and from_file.ok
    assert [s.as_dict() for s in from_tree.statements] == \
        [s.as_dict() for s in from_file.statements]
    assert [(o.kind, o.table, o.line, o.args) for o in from_tree.ops["postgresql"]] == \
        [(o.kind, o.table, o.line, o.args) for o in from_file.ops["postgresql"]]
    assert [o.kind for o in from_tree.ops["postgresql"]] == \
        ["create_table", "execute", "add_column", "drop_table"]


def test_a_coding_cookie_is_honoured(project: Path) -> None:
    # valid UTF-8 bytes in a file that tells Python to read it as Latin-1
    write(project, "a1_cookie.py", "# -*- coding: latin-1 -*-\n" + REVISION.replace(
        "SET name = 'x'", "SET name = 'é'"))
    result = lint_project(project / "alembic.ini", use_cache=False, sql=True)
    (report,) = result.revisions
    assert report.status == "rendered"
    sql = [s.sql for s in report.statements if s.op_kind == "execute"]
    assert sql == ["UPDATE t SET name = 'Ã©' WHERE id = 1"]  # as Python runs the file


def test_the_bytecode_cache_is_still_written(project: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    path = write(project, "a1_first.py", REVISION)
    cached = Path(importlib.util.cache_from_source(str(path)))
    assert not cached.exists()
    first = lint_project(project / "alembic.ini", use_cache=False, render_all=True)
    assert cached.exists()
    second = lint_project(project / "alembic.ini", use_cache=False,
                          render_all=True)  # loads it back
    assert [f.as_dict() for f in first.findings] == [f.as_dict() for f in second.findings]
    assert second.revisions[0].status == "rendered"
