"""SL607 drop-unnamed-constraint: the revision it reports fails when run; the message."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config

from sluice.config import SluiceConfig
from sluice.lint.registry import all_rules, run_rules
from sluice.lint.static import analyze_file
from tests.support.cli import run_cli

REVISION = '''"""r"""
from alembic import op

revision = "r9"
down_revision = None


def upgrade():
    op.create_unique_constraint(None, "releases", ["project_id", "version"])


def downgrade():
    op.drop_constraint(None, "releases", type_="unique")
'''

OFFLINE_ENV = """from alembic import context

context.configure(url=context.config.get_main_option("sqlalchemy.url"), literal_binds=True)
with context.begin_transaction():
    context.run_migrations()
"""


def test_the_message_names_kind_table_phase_and_the_lookup(tmp_path: Path) -> None:
    path = tmp_path / "r9.py"
    path.write_text(REVISION, encoding="utf-8")
    ops = analyze_file(path).ops
    (f,) = run_rules(ops, SluiceConfig(), dialect="postgresql", rules=[all_rules()["SL607"]])
    assert f.line == 13 and f.message.startswith(
        "drops a unique constraint on releases without a name: ") and "downgrade fails" \
        in f.message
    assert "conrelid = 'releases'::regclass" in f.fix
    assert "op.drop_constraint('<name>', 'releases', type_='unique')" in f.fix


@pytest.mark.parametrize("dialect", ["postgresql", "mysql"])
def test_what_it_reports_is_what_alembic_cannot_run(tmp_path: Path, dialect: str) -> None:
    """The premise: Alembic's own offline downgrade of such a revision stops with an error."""
    versions = tmp_path / "migrations" / "versions"
    versions.mkdir(parents=True)
    (versions / "r9.py").write_text(REVISION, encoding="utf-8")
    (tmp_path / "migrations" / "env.py").write_text(OFFLINE_ENV, encoding="utf-8")
    ini = tmp_path / "alembic.ini"
    ini.write_text(f"[alembic]\nscript_location = %(here)s/migrations\n"
                   f"sqlalchemy.url = {dialect}://\n", encoding="utf-8")
    cfg = Config(str(ini))
    with pytest.raises(Exception) as failed:  # noqa: PT011 - each dialect its own error
        command.downgrade(cfg, "r9:base", sql=True)
    assert dialect == "mysql" or "no name" in str(failed.value)
    lint = run_cli(["lint", "-c", str(ini), "--no-cache", "--dialect", dialect])
    assert "SL607 drop-unnamed-constraint" in lint.stdout
