"""The SQL that PostgreSQL rules write into their advice runs as written: a reserved word
or a mixed-case name as a table or column is quoted."""

from __future__ import annotations

from pathlib import Path

from sluice.config import SluiceConfig
from sluice.lint.registry import all_rules, run_rules
from sluice.lint.static import analyze_file
from sluice.rules.lint._postgres import pg_ident

REVISION = '''"""r"""
import sqlalchemy as sa
from alembic import op

revision = "r1"
down_revision = None


def upgrade():
    op.alter_column("case", "status", existing_type=sa.VARCHAR(), nullable=False)
    op.create_foreign_key("fk_group_owner", "group", "users", ["owner_id"], ["id"])
    op.create_unique_constraint("uq_Orders_code", "Orders", ["code"])
'''


def test_pg_ident() -> None:
    assert pg_ident("orders") == "orders"
    assert pg_ident("case") == '"case"'
    assert pg_ident("Orders") == '"Orders"'
    assert pg_ident('"user"') == '"user"'
    assert pg_ident("<name>") == "<name>"


def test_reserved_and_mixed_case_names_are_quoted_in_the_advice(tmp_path: Path) -> None:
    path = tmp_path / "r1.py"
    path.write_text(REVISION, encoding="utf-8")
    rules = [all_rules()[r] for r in ("SL203", "SL205", "SL206")]
    fixes = {f.rule: f.fix for f in run_rules(analyze_file(path).ops, SluiceConfig(),
                                                dialect="postgresql", rules=rules)}
    assert "op.execute('ALTER TABLE \"case\" ADD CONSTRAINT ck_case_status_not_null " \
           "CHECK (status IS NOT NULL) NOT VALID')" in fixes["SL206"]
    assert "ALTER TABLE \"group\" VALIDATE CONSTRAINT fk_group_owner" in fixes["SL203"]
    assert "ALTER TABLE \"Orders\" ADD CONSTRAINT \"uq_Orders_code\" UNIQUE USING INDEX " \
           "\"uq_Orders_code\"" in fixes["SL205"]
