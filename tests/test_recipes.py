"""The recipe registry and its rewrites, without a database: what each recipe answers,
how a list of Alembic ops and a revision file are rewritten, and that a rewrite is stable."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.operations import ops

from sluice.config import SluiceConfig, parse_config
from sluice.recipes import (
    RecipeContext,
    all_recipes,
    apply_recipes,
    context_for,
    find_recipe,
    fix_source,
    recipes_for,
)
from sluice.recipes.steps import AutocommitBlock, autogen_context, render_lines
from tests.support.cli import run_cli

PG = RecipeContext("postgresql", target_postgres_version=14, lock_timeout="3s")


def _render(operations: list[ops.MigrateOperation]) -> str:
    actx = autogen_context("postgresql")
    return "\n".join(line for o in operations for line in render_lines(actx, o))


def test_registry_lists_recipes_by_dialect_and_rule() -> None:
    ids = [r.id for r in all_recipes()]
    assert len(ids) == len(set(ids))
    assert {r.id for r in recipes_for("postgresql", "SL205")} == {
        "pg-unique-constraint-using-index", "pg-primary-key-using-index"}
    recipe = find_recipe("pg-set-not-null-via-check")
    assert recipe is not None and recipe.rules == ("SL206",)
    assert recipe.since_text() == "PostgreSQL 12"
    assert all(r.doc and r.title for r in all_recipes())
    assert find_recipe("no-such-recipe") is None


def test_create_index_becomes_concurrent_in_autocommit_block() -> None:
    result = apply_recipes([ops.CreateIndexOp("ix_t_a", "t", ["a"])], PG)
    assert [a.recipe.id for a in result.applied] == ["pg-create-index-concurrently"]
    (block,) = result.ops
    assert isinstance(block, AutocommitBlock)
    text = _render(result.ops)
    assert text.splitlines()[0] == "with op.get_context().autocommit_block():"
    assert "SET lock_timeout = '3s'" in text
    assert "NOT indisvalid" in text and "DROP INDEX {qualified};" in text
    # the index's name as the running migration's naming convention makes it
    assert "ix_name = conventional_name(op, 'index', 'ix_t_a', 't', ['a'])" in text
    assert "postgresql_concurrently=True, if_not_exists=True" in text


def test_ops_on_a_table_created_in_the_same_list_are_left_alone() -> None:
    create = ops.CreateTableOp("t", [sa.Column("id", sa.Integer, primary_key=True)])
    index = ops.CreateIndexOp("ix_t_id", "t", ["id"])
    result = apply_recipes([create, index], PG)
    assert result.applied == [] and result.ops == [create, index]


def test_containers_are_rewritten_in_place_and_blocks_merged() -> None:
    modify = ops.ModifyTableOps("t", [ops.CreateIndexOp("ix_a", "t", ["a"]),
                                      ops.CreateIndexOp("ix_b", "t", ["b"])])
    upgrade = ops.UpgradeOps([modify])
    result = apply_recipes(upgrade.ops, PG)
    assert result.ops == [modify] and len(result.applied) == 2
    (block,) = modify.ops
    assert isinstance(block, AutocommitBlock) and len(block.ops) == 6  # 2 x name, drop, build


def test_already_safe_ops_are_not_rewritten() -> None:
    safe = [ops.CreateIndexOp("ix", "t", ["a"], postgresql_concurrently=True),
            ops.CreateCheckConstraintOp("ck", "t", "a > 0", postgresql_not_valid=True),
            ops.AlterColumnOp("t", "a", modify_nullable=False, existing_nullable=False),
            ops.AddColumnOp("t", sa.Column("c", sa.Integer, server_default="0"))]
    assert apply_recipes(safe, PG).applied == []


def test_target_version_decides() -> None:
    alter = ops.AlterColumnOp("t", "a", modify_nullable=False, existing_type=sa.Integer())
    old = RecipeContext("postgresql", target_postgres_version=11)
    assert apply_recipes([alter], old).applied == []
    assert [a.recipe.id for a in apply_recipes([alter], PG).applied] == [
        "pg-set-not-null-via-check"]
    # before PostgreSQL 11 a constant default rewrites the table too
    add = ops.AddColumnOp("t", sa.Column("c", sa.Integer, server_default="0"))
    ten = RecipeContext("postgresql", target_postgres_version=10)
    assert apply_recipes([add], PG).applied == []
    assert [a.recipe.id for a in apply_recipes([add], ten).applied] == []  # since 12


def test_mysql_states_the_algorithm_the_target_supports() -> None:
    add = ops.AddColumnOp("t", sa.Column("c", sa.String(20), nullable=True))
    for version, expected in (("8.0", "ALGORITHM=INSTANT"),
                              ("5.7", "ALGORITHM=INPLACE, LOCK=NONE"),
                              ("mariadb-10.11", "ADD COLUMN IF NOT EXISTS")):
        ctx = RecipeContext("mysql", target_mysql_version=version)
        text = _render(apply_recipes([add], ctx).ops)
        assert expected in text, (version, text)
    index = ops.CreateIndexOp("ix", "t", ["a"])
    ctx = RecipeContext("mysql", target_mysql_version="mariadb-10.11")
    assert "ALGORITHM=NOCOPY, LOCK=NONE" in _render(apply_recipes([index], ctx).ops)
    # NOT NULL without a default: SL106 refuses it, no recipe
    bad = ops.AddColumnOp("t", sa.Column("c", sa.Integer, nullable=False))
    assert apply_recipes([bad], ctx).applied == []
    # an expression default: neither server adds it in place (MariaDB: "ALGORITHM=INSTANT
    # is not supported for this operation"), so no recipe states an algorithm for it
    for default in (sa.text("(uuid())"), sa.func.now()):
        add = ops.AddColumnOp("t", sa.Column("c", sa.String(36), nullable=False,
                                             server_default=default))
        assert apply_recipes([add], ctx).applied == [], default
    for default in ("x", sa.text("'x'"), sa.text("0")):  # constants still have one
        add = ops.AddColumnOp("t", sa.Column("c", sa.String(36), nullable=False,
                                             server_default=default))
        assert [a.recipe.id for a in apply_recipes([add], ctx).applied] == [
            "mysql-add-column-instant"], default


REVISION = textwrap.dedent('''\
    """x

    Revision ID: a1
    Revises:
    """
    import sqlalchemy as sa
    from alembic import op

    revision = "a1"
    down_revision = None


    def upgrade() -> None:
        op.create_index("ix_orders_user_id", "orders", ["user_id"])  # by user
        op.alter_column("users", "name", existing_type=sa.String(50), nullable=False)
        op.create_table("fresh", sa.Column("id", sa.Integer(), primary_key=True))
        op.create_index("ix_fresh_id", "fresh", ["id"])
        local = "users"
        op.create_index("ix_local", local, ["a"])


    def downgrade() -> None:
        op.drop_index("ix_orders_user_id", table_name="orders")
''')


def test_a_constraint_swap_is_left_to_commit_as_one() -> None:
    """A constraint dropped and created again on the same table: a recipe's autocommit
    block would commit the drop first and leave the table with neither constraint (and a
    rerun failing on the drop) when the new one fails. Another table's is rewritten."""
    swap = [ops.DropConstraintOp("child_parent_id_fkey", "child", type_="foreignkey"),
            ops.CreateForeignKeyOp(None, "child", "parent", ["parent_id"], ["id"],
                                   ondelete="CASCADE"),
            ops.CreateUniqueConstraintOp("uq_child_code", "child", ["code"]),
            ops.CreateForeignKeyOp("fk_other_parent", "other", "parent", ["parent_id"],
                                   ["id"])]
    result = apply_recipes(list(swap), PG)
    assert result.ops[:3] == swap[:3]
    assert [a.op for a in result.applied] == [swap[3]]

    source = textwrap.dedent('''\
        from alembic import op

        revision = "r2"
        down_revision = "r1"


        def upgrade():
            op.drop_constraint("child_parent_id_fkey", "child", type_="foreignkey")
            op.create_foreign_key(None, "child", "parent", ["parent_id"], ["id"],
                                  ondelete="CASCADE")
            op.create_foreign_key("fk_other_parent", "other", "parent", ["parent_id"], ["id"])
        ''')
    fixed = fix_source(source, PG, path="r2.py")
    assert [c.line for c in fixed.fixed] == [11]
    assert 'op.create_foreign_key(None, "child", "parent"' in fixed.after


def test_fix_source_rewrites_calls_and_is_idempotent() -> None:
    first = fix_source(REVISION, PG, path="rev.py")
    assert [(c.phase, c.line) for c in first.fixed] == [
        ("upgrade", 14), ("upgrade", 15), ("downgrade", 23)]
    after = first.after
    assert 'op.create_index("ix_fresh_id", "fresh", ["id"])' in after  # new table
    assert 'op.create_index("ix_local", local, ["a"])' in after  # not evaluable
    # lint reads the valid check before the SET NOT NULL: nothing to suppress there
    assert "ignore[SL206]" not in after
    compile(after, "rev.py", "exec")
    assert "--- a/rev.py" in first.diff()
    second = fix_source(after, PG, path="rev.py")
    assert not second.changed and second.fixed == []


def test_fix_source_leaves_reviewed_calls() -> None:
    text = REVISION.replace("  # by user", "  # sluice: ignore[SL201] small table")
    fixed = fix_source(text, PG)
    assert [c.line for c in fixed.fixed] == [15, 23]


def test_fix_source_reads_review_comments_as_lint_does() -> None:
    # a comment above the call is a review, as lint reads it; the same words inside a
    # string are not a comment and leave the call to be fixed
    above = REVISION.replace(
        '    op.create_index("ix_orders_user_id"',
        '    # sluice: ignore[SL201] small table\n    op.create_index("ix_orders_user_id"')
    assert above != REVISION
    assert [c.line for c in fix_source(above, PG).fixed] == [16, 24]
    quoted = REVISION.replace(
        '["user_id"])  # by user',
        '["user_id"], postgresql_where=sa.text("note <> \'# sluice: ignore[SL201] x\'"))')
    assert quoted != REVISION
    assert [c.line for c in fix_source(quoted, PG).fixed] == [14, 15, 23]


def test_fix_source_bad_file_names_the_line() -> None:
    from sluice.errors import SluiceError

    with pytest.raises(SluiceError, match=r"rev\.py:2: syntax error"):
        fix_source("x = 1\ndef (:\n", PG, path="rev.py")


def test_context_takes_the_lock_timeout_from_the_environments(tmp_path: Path) -> None:
    assert context_for(SluiceConfig(), "postgresql").lock_timeout == "5s"
    cfg = parse_config({"production_environments": ["prod", "eu"],
                        "default_environment": "prod",
                        "environments": {"prod": {"lock_timeout": "4s"},
                                         "eu": {"lock_timeout": "900ms"},
                                         "staging": {"lock_timeout": "1min"}},
                        "lint": {"target_postgres_version": 15}})
    ctx = context_for(cfg, "postgresql")
    assert (ctx.lock_timeout, ctx.target_postgres_version) == ("900ms", 15)
    assert context_for(cfg, "postgresql", env="staging").lock_timeout == "1min"


def test_every_postgres_recipe_runs_each_statement_in_its_own_transaction() -> None:
    """Outside a backfill, every step of a PostgreSQL recipe is inside autocommit_block, so
    no brief ACCESS EXCLUSIVE lock lasts until whatever the revision runs next; the lock
    timeout is set in each block (after a backfill's commits too)."""
    from sluice.recipes.steps import Backfill

    naive = [ops.CreateIndexOp("ix", "t", ["a"]), ops.DropIndexOp("iy", "t"),
             ops.CreateUniqueConstraintOp("uq", "t", ["a"]),
             ops.CreatePrimaryKeyOp("pk", "t", ["id"]),
             ops.CreateForeignKeyOp("fk", "t", "p", ["pid"], ["id"]),
             ops.CreateCheckConstraintOp("ck", "t", "a > 0"),
             ops.AlterColumnOp("t", "b", existing_type=sa.Integer(), modify_nullable=False),
             ops.AddColumnOp("t", sa.Column("c", sa.Integer, nullable=False,
                                            server_default=sa.text("random()"))),
             ops.AlterColumnOp("t", "d", existing_type=sa.Integer(),
                               modify_type=sa.BigInteger())]
    for op in naive:
        result = apply_recipes([op], PG)
        assert len(result.applied) == 1, op
        for step in result.ops:
            assert isinstance(step, (AutocommitBlock, Backfill)), (op, step)
            if isinstance(step, AutocommitBlock):
                assert step.lock_timeout == "3s"



def _cli_project(root: Path, url: str) -> Path:
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "alembic.ini").write_text(
        f"[alembic]\nscript_location = %(here)s/migrations\nsqlalchemy.url = {url}\n",
        encoding="utf-8")
    (root / "migrations" / "env.py").write_text("", encoding="utf-8")
    (versions / "a1_index.py").write_text(REVISION, encoding="utf-8")
    return root / "alembic.ini"


def test_fix_cli_diff_write_and_locked_revisions(tmp_path: Path) -> None:


    ini = _cli_project(tmp_path, "postgresql://u@db.invalid/app")
    rev = tmp_path / "migrations" / "versions" / "a1_index.py"
    diff = run_cli(["fix", "-c", str(ini), "--diff"])
    assert diff.exit_code == 1, diff.output
    assert "+    with op.get_context().autocommit_block():" in diff.stdout
    assert "would rewrite 3 operations in 1 file for postgresql" in diff.stderr
    assert rev.read_text(encoding="utf-8") == REVISION

    locked = run_cli(["lock", "-c", str(ini)])
    assert locked.exit_code == 0, locked.output
    skipped = run_cli(["fix", "-c", str(ini), str(rev)])
    assert skipped.exit_code == 0 and skipped.stdout == ""
    assert "sluice.sum records it" in skipped.stderr
    whole = run_cli(["fix", "-c", str(ini)])
    assert whole.exit_code == 0 and "1 recorded in sluice.sum left alone" in whole.stderr
    assert rev.read_text(encoding="utf-8") == REVISION

    done = run_cli(["fix", "-c", str(ini), "--include-locked"])
    assert done.exit_code == 0, done.output
    assert rev.read_text(encoding="utf-8") == fix_source(REVISION, RecipeContext(
        "postgresql"), path="x").after


def test_fix_cli_bad_input_is_one_line_exit_2(tmp_path: Path) -> None:


    ini = _cli_project(tmp_path, "driver://user:pass@localhost/dbname")
    for args, message in (
            (["fix", "-c", str(ini)], "sluice fix needs the one dialect"),
            (["fix", "-c", str(ini), "--dialect", "postgresql", "nope.py"], "nope.py: no such file"),
            (["fix", "-c", str(tmp_path / "missing.ini")], "missing.ini: no such file"),
            (["fix", "-c", str(ini), "--dialect", "oracle"], "unknown dialect 'oracle'"),
            (["fix", "-c", str(ini), "--dialect", "postgresql", "--env", "nope"],
             "unknown environment 'nope'")):
        result = run_cli(args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr and "Traceback" not in result.output
    ok = run_cli(["fix", "-c", str(ini), "--dialect", "sqlite"])
    assert ok.exit_code == 0 and "nothing to fix in 1 revision file for sqlite" in ok.stderr
    # a file of another project: left alone (a pre-commit hook passes every changed file),
    # and said, not "nothing to fix in 0 revision files" alone
    other = tmp_path / "other.py"
    other.write_text("x = 1\n", encoding="utf-8")
    named = run_cli(["fix", "-c", str(ini), "--dialect", "sqlite", str(other)])
    assert named.exit_code == 0
    assert f"note: {other}: not a revision file of this project (its versions: " in named.stderr


def test_recipes_page_is_generated_from_the_registry() -> None:
    from sluice.recipes.docs import EXAMPLES, recipes_page

    page = recipes_page()
    committed = (Path(__file__).resolve().parent.parent / "docs" / "recipes.md").read_text(
        encoding="utf-8")
    assert committed == page, "docs/recipes.md is stale: run `python -m sluice.docgen`"
    assert set(EXAMPLES) == {r.id for r in all_recipes()}
    assert "\n## Measured\n" in page and "bench/recipes.py" in page


def test_fix_source_merges_adjacent_calls_and_keeps_their_comments() -> None:
    text = REVISION + '    op.create_index("ix_a", "orders", ["a"])  # for reports\n\n' \
                      '    op.create_index("ix_b", "orders", ["b"])\n'
    after = fix_source(text, PG).after
    downgrade = after.split("def downgrade() -> None:\n")[1]
    assert downgrade.count("autocommit_block()") == 1
    assert downgrade.count("\"SET lock_timeout") == 1
    assert downgrade.startswith("    with op.get_context()")  # the comment: by its call
    assert "        # for reports\n        ix_name = conventional_name(op, 'index', 'ix_a'" \
        in downgrade
    assert "    # by user\n    with op.get_context().autocommit_block():" in after
    assert fix_source(after, PG).fixed == []


def test_rewritten_autogenerate_ops_render_with_alembics_renderer() -> None:
    from alembic.autogenerate import render_python_code

    upgrade = ops.UpgradeOps([ops.ModifyTableOps("users", [
        ops.AddColumnOp("users", sa.Column("token", sa.Uuid(), nullable=False,
                                           server_default=sa.text("gen_random_uuid()"))),
        ops.CreateIndexOp("ix_users_token", "users", ["token"])])])
    result = apply_recipes(upgrade.ops, PG)
    assert [a.recipe.id for a in result.applied] == [
        "pg-add-column-backfill", "pg-create-index-concurrently"]
    code = render_python_code(upgrade)
    compile("def upgrade():\n    " + code, "<autogenerate>", "exec")
    assert "batched_update('users', {'token': sa.text('DEFAULT')}" in code
    build = code.index("op.create_index('ix_users_token'")
    assert "postgresql_concurrently=True" in code[build:]
    assert code.rfind("autocommit_block()", 0, build) > code.rfind("batched_update(", 0, build)


def test_fix_cli_notes_an_env_py_that_owns_the_transaction(tmp_path: Path) -> None:
    ini = _cli_project(tmp_path, "postgresql://u@db.invalid/app")
    (tmp_path / "migrations" / "env.py").write_text(
        "from alembic import context\n\n"
        "with engine.begin() as connection:\n"
        "    context.configure(connection=connection)\n", encoding="utf-8")
    result = run_cli(["fix", "-c", ini, "--diff"])
    assert result.exit_code == 1
    assert "migrations/env.py:3: env.py opens its own transaction" in result.stderr
    (tmp_path / "migrations" / "env.py").write_text(
        "with engine.connect() as connection:\n    pass\n", encoding="utf-8")
    assert "note:" not in run_cli(["fix", "-c", ini, "--diff"]).stderr


def test_fix_source_keeps_tab_indentation_and_crlf_line_endings() -> None:
    src = ('from alembic import op\r\n\r\n\r\ndef upgrade():\r\n'
           '\top.create_index("ix", "t", ["a"])\r\n')
    after = fix_source(src, PG).after
    compile(after, "rev.py", "exec")
    assert "\r\n\twith op.get_context().autocommit_block():\r\n\t    op.execute(" in after
    assert "\n" not in after.replace("\r\n", "")


def test_a_recipe_for_a_disabled_rule_is_not_applied() -> None:
    index = ops.CreateIndexOp("ix", "t", ["a"])
    off = context_for(parse_config({"lint": {"disable": ["create-index-non-concurrently"]}}),
                      "postgresql")
    assert off.active_rules is not None and "SL201" not in off.active_rules
    assert apply_recipes([index], off).applied == []
    on = context_for(SluiceConfig(), "postgresql")
    assert [a.recipe.id for a in apply_recipes([index], on).applied] == [
        "pg-create-index-concurrently"]
    # a guard answers no rule: it applies whatever is disabled
    mysql = context_for(parse_config({"lint": {"disable": ["SL302"]}}), "mysql")
    assert [a.recipe.id for a in apply_recipes([index], mysql).applied] == [
        "mysql-create-index-inplace"]


def test_fix_cli_each_dialect_folder_gets_its_own_recipes(tmp_path: Path) -> None:
    for name in ("postgresql", "mysql"):
        (tmp_path / "migrations" / name).mkdir(parents=True)
    (tmp_path / "migrations" / "env.py").write_text("", encoding="utf-8")
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/migrations\n"
        "version_locations = %(here)s/migrations/postgresql %(here)s/migrations/mysql\n",
        encoding="utf-8")
    one = REVISION.split("def downgrade")[0]
    pg = tmp_path / "migrations" / "postgresql" / "a1_pg.py"
    my = tmp_path / "migrations" / "mysql" / "b1_my.py"
    pg.write_text(one, encoding="utf-8")
    my.write_text(one.replace('"a1"', '"b1"').replace("Revision ID: a1", "Revision ID: b1"),
                  encoding="utf-8")
    result = run_cli(["fix", "-c", tmp_path / "alembic.ini"])
    assert result.exit_code == 0, result.output
    assert "for mysql, postgresql" in result.stderr
    assert "postgresql_concurrently=True" in pg.read_text(encoding="utf-8")
    assert "ALGORITHM=INPLACE, LOCK=NONE" in my.read_text(encoding="utf-8")


def test_add_column_recipe_leaves_columns_with_their_own_constraints() -> None:
    for extra in ({"unique": True}, {"index": True}, {"primary_key": True}):
        col = sa.Column("c", sa.Integer, server_default=sa.text("random()"), **extra)
        assert apply_recipes([ops.AddColumnOp("t", col)], PG).applied == [], extra


def test_mysql_add_column_recipe_never_drops_a_columns_unique_or_index() -> None:
    ctx = RecipeContext("mysql", target_mysql_version="8.0")
    for extra in ({"unique": True}, {"index": True}):
        col = sa.Column("c", sa.Integer, nullable=True, **extra)
        assert apply_recipes([ops.AddColumnOp("t", col)], ctx).applied == [], extra


def test_type_change_recipe_applies_only_where_it_is_mechanical() -> None:
    """Only a type change SL208 says rewrites the table, changing nothing else, with the
    old type known and no USING expression; a binary-compatible change and a target
    before PostgreSQL 12 get no recipe."""
    def alter(**kw: object) -> ops.AlterColumnOp:
        args: dict[str, object] = {"existing_type": sa.Integer(), "modify_type": sa.BigInteger()}
        args.update(kw)
        return ops.AlterColumnOp("t", "c", **args)  # type: ignore[arg-type]

    def recipe_of(op: ops.AlterColumnOp, ctx: RecipeContext = PG) -> list[str]:
        return [a.recipe.id for a in apply_recipes([op], ctx).applied]

    assert recipe_of(alter()) == ["pg-alter-type-expand-contract"]
    assert recipe_of(alter(existing_type=sa.Numeric(10, 2), modify_type=sa.Numeric(12, 4))) == [
        "pg-alter-type-expand-contract"]
    # not a narrowing SL101 reports in an upgrade: the recipe cannot make it safe, and
    # would hide SL101's finding; in a downgrade (no SL101 there) values that do not fit
    # raise, as in ALTER
    narrowing = alter(existing_type=sa.String(50), modify_type=sa.String(20))
    assert recipe_of(narrowing) == []
    assert recipe_of(narrowing, RecipeContext("postgresql", phase="upgrade")) == []
    assert recipe_of(narrowing, RecipeContext("postgresql", phase="downgrade")) == [
        "pg-alter-type-expand-contract"]
    assert recipe_of(alter(existing_type=None)) == []
    assert recipe_of(alter(existing_type=sa.String(20), modify_type=sa.Text())) == []
    assert recipe_of(alter(existing_type=sa.String(20), modify_type=sa.String(40))) == []
    assert recipe_of(alter(modify_nullable=False)) == []
    assert recipe_of(alter(modify_server_default="0")) == []
    assert recipe_of(alter(postgresql_using="c::bigint")) == []
    assert recipe_of(alter(), RecipeContext("postgresql", target_postgres_version=11)) == []
    assert recipe_of(alter(), RecipeContext("postgresql", active_rules=frozenset({"SL201"}))) == []
