"""SL212 validate-in-locking-transaction: what it names, and the recipes' own output."""

from __future__ import annotations

from pathlib import Path

from sluice.config import SluiceConfig
from sluice.lint.registry import all_rules, run_rules
from sluice.lint.static import analyze_file
from sluice.recipes import RecipeContext, fix_source

HEAD = '''"""r"""
import sqlalchemy as sa
from alembic import op

revision = "r1"
down_revision = None


def upgrade():
'''


def sl212(tmp_path: Path, body: str, *, head: str = HEAD) -> list[str]:
    path = tmp_path / "r1.py"
    path.write_text(head + body, encoding="utf-8")
    result = analyze_file(path)
    assert result.error is None
    rule = all_rules()["SL212"]
    return [f.message for f in run_rules(result.ops, SluiceConfig(), dialect="postgresql",
                                         rules=[rule])]


def test_the_message_names_the_constraint_as_written_and_the_earlier_step(
        tmp_path: Path) -> None:
    (msg,) = sl212(tmp_path, '''\
    op.create_check_constraint("Ck_Qty", "orders", "qty > 0", postgresql_not_valid=True)
    op.execute('ALTER TABLE orders VALIDATE CONSTRAINT "Ck_Qty"')
''')
    assert msg.startswith("validates constraint Ck_Qty on orders in the transaction that "
                          "added Ck_Qty NOT VALID on line 10: ")


def test_an_earlier_read_or_another_table_does_not_count(tmp_path: Path) -> None:
    assert sl212(tmp_path, '''\
    op.execute("UPDATE orders SET qty = 1 WHERE qty IS NULL")
    op.add_column("users", sa.Column("nick", sa.Text()))
    op.execute("ALTER TABLE orders VALIDATE CONSTRAINT ck_qty")
''') == []


def test_the_recipes_validate_where_nothing_else_holds_a_lock(tmp_path: Path) -> None:
    source = HEAD + '''\
    op.create_foreign_key("fk_a_b", "a", "b", ["b_id"], ["id"])
    op.create_check_constraint("ck_a_n", "a", "n > 0")
    op.alter_column("a", "n", existing_type=sa.Integer(), nullable=False)
'''
    fixed = fix_source(source, RecipeContext("postgresql"), path="r1.py")
    assert fixed.changed and fixed.after.count("VALIDATE CONSTRAINT") == 3
    assert sl212(tmp_path, fixed.after, head="") == []
