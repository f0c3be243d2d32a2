"""A constraint made on a table after a constraint of it is dropped (a swap) is left to
commit with the drop, however the drop is written: reviewed (a suppression), sharing its
line, inside a block or a batch, its table named by a constant. A recipe's
``autocommit_block`` on the second half would commit the drop alone first, leaving the
table with neither constraint when the new one fails (and a rerun failing on the drop)."""

from __future__ import annotations

import pytest

from sluice.recipes import RecipeContext, fix_source
from tests.support.cli import run_cli
from tests.support.lint import project
from tests.support.revisions import revision_source

PG = RecipeContext("postgresql", target_postgres_version=14, lock_timeout="3s")
CREATE = 'op.create_foreign_key("fk_child_parent2", "child", "parent", ["parent_id"], ["id"])\n'
OTHER = 'op.create_foreign_key("fk_other_parent", "other", "parent", ["parent_id"], ["id"])\n'

DROPS = {
    "suppressed": 'op.drop_constraint("fk_child_parent", "child", type_="foreignkey")'
                  '  # sluice: ignore[SL004] replaced below\n',
    "suppressed_above": '# sluice: ignore[SL004] replaced below\n'
                        'op.drop_constraint("fk_child_parent", "child", type_="foreignkey")\n',
    "shares_its_line": 'name = "fk_child_parent"; op.drop_constraint(name, "child")\n',
    "in_a_block": 'if op.get_context().dialect.name == "postgresql":\n'
                  '    op.drop_constraint("fk_child_parent", "child", type_="foreignkey")\n',
    "in_a_batch": 'with op.batch_alter_table("child") as batch_op:\n'
                  '    batch_op.drop_constraint("fk_child_parent", type_="foreignkey")\n',
    "in_a_batch_schema_none": 'with op.batch_alter_table("child", schema=None) as batch_op:\n'
                              '    batch_op.drop_constraint("fk_child_parent")\n',
    "table_in_a_constant": 'op.drop_constraint("fk_child_parent", TABLE, type_="foreignkey")\n',
    "table_computed": 'op.drop_constraint("fk_child_parent", "ch" + "ild")\n',
    "in_sql_in_a_block": 'if True:\n'
                         '    op.execute("ALTER TABLE child DROP CONSTRAINT fk_child_parent")\n',
}


def _source(drop: str) -> str:
    return revision_source("r2", "r1", drop + CREATE + OTHER, "pass\n",
                           imports='TABLE = "child"')


@pytest.mark.parametrize("drop", sorted(DROPS))
def test_the_second_half_of_a_swap_is_left_as_written(drop: str) -> None:
    source = _source(DROPS[drop])
    fixed = fix_source(source, PG, path="r2.py")
    # the other table's foreign key is rewritten, the swapped table's left alone (a drop
    # on a table named at run time may be of either: both are)
    other = source.splitlines().index("    " + OTHER.rstrip("\n")) + 1
    expected = [] if drop == "table_computed" else [other]
    assert [c.line for c in fixed.fixed] == expected, fixed.after
    assert "    " + CREATE in fixed.after


def test_sluice_fix_on_a_project_leaves_a_reviewed_swap_alone(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ini = project(tmp_path, revisions=1)
    path = tmp_path / "migrations" / "versions" / "b000.py"
    source = revision_source("b000", "a000", DROPS["suppressed"] + CREATE, "pass\n")
    path.write_text(source, encoding="utf-8")
    result = run_cli(["fix", "-c", str(ini), "--dialect", "postgresql", "--diff"])
    assert result.exit_code == 0, result.output
    assert "autocommit_block" not in result.stdout
    assert "nothing to fix" in result.stderr, result.stderr
    assert path.read_text(encoding="utf-8") == source


def test_a_drop_on_the_table_of_that_name_in_another_schema_is_no_swap() -> None:
    source = _source('op.drop_constraint("fk_child_parent", "child", schema="billing")\n'
                     'op.drop_constraint("fk_other_parent", "other", schema="ops")\n')
    fixed = fix_source(source, PG, path="r2.py")
    assert len(fixed.fixed) == 2, fixed.after
