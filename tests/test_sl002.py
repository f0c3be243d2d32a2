"""SL002 drop-column tells a table by its schema and name: a column of that name added,
re-added or renamed in another schema's table is another column."""

from __future__ import annotations

from pathlib import Path

from sluice.config import SluiceConfig
from sluice.lint.registry import all_rules, run_rules
from sluice.lint.static import analyze_file

HEAD = '''"""r"""
import sqlalchemy as sa
from alembic import op

revision = "r1"
down_revision = None


def upgrade():
'''


def _messages(tmp_path: Path, body: str) -> dict[int, str]:
    path = tmp_path / "r1.py"
    path.write_text(HEAD + body + "\n\ndef downgrade():\n    pass\n", encoding="utf-8")
    result = analyze_file(path)
    assert result.error is None, result.error
    found = run_rules(result.ops, SluiceConfig(), dialect="postgresql",
                      rules=[all_rules()["SL002"]])
    return {f.line - 9: f.message for f in found if f.line is not None}


def test_a_column_added_again_in_another_schema_is_a_plain_drop(tmp_path: Path) -> None:
    got = _messages(tmp_path, '''\
    op.drop_column("accounts", "plan", schema="billing")
    op.add_column("accounts", sa.Column("plan", sa.Text()), schema="public")
    op.drop_column("accounts", "tier")
    op.add_column("accounts", sa.Column("tier", sa.Text()), schema="billing")
    op.drop_column("accounts", "kind", schema="Billing")
    op.add_column("accounts", sa.Column("kind", sa.Text()), schema="billing")''')
    assert got[1].startswith("drops column billing.accounts.plan and its data"), got
    assert got[3].startswith("drops column accounts.tier and its data"), got
    # the same table, its schema spelt in another case: a re-add
    assert got[5].startswith("drops Billing.accounts.kind and adds it again as Text()"), got


def test_a_copy_renamed_in_another_schema_is_no_copy_and_swap(tmp_path: Path) -> None:
    got = _messages(tmp_path, '''\
    op.add_column("variable", sa.Column("json_value", sa.JSON()), schema="archive")
    op.execute("UPDATE archive.variable SET json_value = value WHERE id > 0")
    op.drop_column("variable", "value")
    op.alter_column("variable", "json_value", new_column_name="value", schema="archive")
    op.add_column("variable", sa.Column("v2", sa.JSON()), schema="archive")
    op.execute("UPDATE archive.variable SET v2 = v WHERE id > 0")
    op.drop_column("variable", "v", schema="archive")
    op.alter_column("variable", "v2", new_column_name="v", schema="archive")''')
    assert got[3].startswith("drops column variable.value and its data"), got
    assert got[7].startswith("replaces archive.variable.v with its copy v2 (JSON())"), got


def test_a_copy_filled_through_a_table_construct_of_another_schema(tmp_path: Path) -> None:
    got = _messages(tmp_path, '''\
    op.add_column("variable", sa.Column("json_value", sa.JSON()))
    archived = sa.table("variable", sa.column("json_value"), schema="archive")
    op.execute(archived.update().values(json_value="{}"))
    op.drop_column("variable", "value")
    op.alter_column("variable", "json_value", new_column_name="value")
    op.add_column("variable", sa.Column("v2", sa.JSON()), schema="archive")
    op.execute(sa.update(sa.table("variable", sa.column("v2"))).values(v2="{}"))
    op.drop_column("variable", "v", schema="archive")
    op.alter_column("variable", "v2", new_column_name="v", schema="archive")
    op.add_column("variable", sa.Column("tmp", sa.JSON()), schema="archive")
    op.execute(sa.update(sa.table("variable", sa.column("tmp"))).values(tmp="{}"))
    op.drop_column("variable", "w", schema="archive")
    op.add_column("variable", sa.Column("w", sa.JSON()), schema="archive")''')
    # the construct's table is archive.variable (or variable): not the dropped column's
    assert got[4].startswith("drops column variable.value and its data"), got
    assert got[8].startswith("drops column archive.variable.v and its data"), got
    assert "its values are gone unless copied first" in got[12], got


def test_a_copy_filled_through_a_table_construct_of_its_schema(tmp_path: Path) -> None:
    got = _messages(tmp_path, '''\
    op.add_column("variable", sa.Column("v2", sa.JSON()), schema="archive")
    variable = sa.table("variable", sa.column("v2"), schema="Archive")
    op.execute(variable.update().values(v2="{}"))
    op.drop_column("variable", "v", schema="archive")
    op.alter_column("variable", "v2", new_column_name="v", schema="archive")
    op.add_column("variable", sa.Column("tmp", sa.JSON()))
    op.execute(sa.update(sa.table("variable", sa.column("tmp"), schema=None))
               .values(tmp="{}"))
    op.drop_column("variable", "w")
    op.add_column("variable", sa.Column("w", sa.JSON()))''')
    assert got[4].startswith("replaces archive.variable.v with its copy v2 (JSON())"), got
    assert "its values are kept in tmp" in got[9], got
