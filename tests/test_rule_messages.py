"""Finding messages read as one sentence (SL001 said "drops table users deletes users and
all its rows")."""

from __future__ import annotations

from pathlib import Path

from sluice.lint.engine import lint_project
from tests.support.runner import Rev, chain, make_project


def test_drop_table_message(tmp_path: Path) -> None:
    ini = make_project(tmp_path / "proj", [*chain(1), Rev("r0002", 'op.drop_table("t0001")')])
    (found,) = [f for f in lint_project(ini, use_cache=False).findings if f.rule == "SL001"]
    assert found.message == ("drops table t0001 and all its rows; code still reading it "
                             "fails at once")


def test_an_index_on_an_expression_is_pasted_as_sa_text(tmp_path: Path) -> None:
    # the fix read ['created DESC'], which Alembic renders as the column "created DESC"
    ini = make_project(tmp_path / "proj", [*chain(1), Rev(
        "r0002", 'op.create_index("ix_t_name", "t0001", [sa.text("name DESC"), "id"])')])
    text = ini.read_text()
    ini.write_text("\n".join("sqlalchemy.url = postgresql://u@db.example/app"
                             if line.startswith("sqlalchemy.url") else line
                             for line in text.splitlines()) + "\n")
    (found,) = [f for f in lint_project(ini, use_cache=False).findings if f.rule == "SL201"]
    assert "[sa.text('name DESC'), 'id'], postgresql_concurrently=True" in found.fix
