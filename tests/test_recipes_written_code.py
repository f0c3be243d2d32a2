"""The code `sluice fix` writes, without a database: only names the file binds (or imports
it adds), SQL text as written (no ``%`` doubled), the backfill of a volatile default
written so that sluice.data accepts it, tables told apart by schema, and no type change
rebuilt beside a column the same revision gives an index or a constraint."""

from __future__ import annotations

import ast
import builtins
import symtable
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.operations import ops

from sluice.recipes import RecipeContext, apply_recipes, fix_source
from sluice.recipes.steps import autogen_context, render_lines

PG = RecipeContext("postgresql", target_postgres_version=14, lock_timeout="3s")
MARIADB = RecipeContext("mysql", target_mysql_version="mariadb-10.11")


def _revision(imports: str, upgrade: str, downgrade: str = "pass") -> str:
    return textwrap.dedent('''\
        """r

        Revision ID: r2
        Revises: r1
        """
        ''') + textwrap.dedent(imports) + textwrap.dedent('''

        revision = "r2"
        down_revision = "r1"


        def upgrade() -> None:
        ''') + textwrap.indent(textwrap.dedent(upgrade), "    ") + textwrap.dedent('''

        def downgrade() -> None:
        ''') + textwrap.indent(textwrap.dedent(downgrade), "    ")


def unbound_names(source: str) -> set[str]:
    """Global names the module's functions use that the module does not bind (a
    NameError when the function runs)."""
    tree = ast.parse(source)
    bound = set(dir(builtins))
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.Assign):
            bound |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    table = symtable.symtable(source, "rev.py", "exec")
    used: set[str] = set()
    for child in table.get_children():
        if isinstance(child, symtable.Function):
            used |= {s.get_name() for s in child.get_symbols() if s.is_global()}
    return used - bound


NO_SA = """\
from alembic import op
from sqlalchemy import String, text
"""


def test_the_rewrite_imports_sqlalchemy_when_the_file_does_not_bind_it() -> None:
    source = _revision(NO_SA, '''\
        op.create_index("ix_users_lower_email", "users", [text("lower(email)")])
        op.alter_column("users", "email", existing_type=String(80), nullable=False)
        ''')
    assert unbound_names(source) == set()
    fixed = fix_source(source, PG, path="r2.py")
    assert len(fixed.fixed) == 2
    assert "sa.literal_column('lower(email)')" in fixed.after
    assert "existing_type=sa.String(length=80)" in fixed.after
    assert "import sqlalchemy as sa\n" in fixed.after
    assert unbound_names(fixed.after) == set(), fixed.after
    assert not fix_source(fixed.after, PG, path="r2.py").changed


def test_the_rewrite_uses_the_files_own_names_for_op_and_sqlalchemy() -> None:
    source = _revision("""\
        from alembic import op as migrate
        import sqlalchemy
        """, '''\
        migrate.create_index("ix_users_nick", "users", ["nick"])
        migrate.alter_column("users", "email", existing_type=sqlalchemy.String(80),
                             nullable=False)
        migrate.add_column("users", sqlalchemy.Column(
            "token", sqlalchemy.String(40),
            server_default=sqlalchemy.text("md5(random()::text)"), nullable=False))
        ''', 'migrate.drop_index("ix_users_nick", table_name="users")')
    fixed = fix_source(source, PG, path="r2.py")
    assert len(fixed.fixed) == 4
    assert unbound_names(fixed.after) == set(), fixed.after
    assert "with migrate.get_context().autocommit_block():" in fixed.after
    assert "conventional_name(migrate, 'index'" in fixed.after
    assert "existing_type=sqlalchemy.String(length=80)" in fixed.after
    assert "sqlalchemy.column('token')" in fixed.after
    assert "import sqlalchemy as sa" not in fixed.after and " sa." not in fixed.after
    assert not fix_source(fixed.after, PG, path="r2.py").changed


def test_a_file_without_sqlalchemy_gets_its_import_only_where_the_rewrite_uses_it() -> None:
    source = _revision("from alembic import op\n", '''\
        op.create_index("ix_users_nick", "users", ["nick"])
        ''')
    fixed = fix_source(source, PG, path="r2.py")
    assert fixed.changed and "import sqlalchemy" not in fixed.after
    assert unbound_names(fixed.after) == set()


def _rendered(operations: list[ops.MigrateOperation], ctx: RecipeContext) -> str:
    result = apply_recipes(operations, ctx)
    assert result.applied
    actx = autogen_context(ctx.dialect)
    return "\n".join(line for o in result.ops for line in render_lines(actx, o))


def test_percent_signs_are_written_as_they_are() -> None:
    text = _rendered([
        ops.CreateCheckConstraintOp("ck_users_email_at", "users", "email LIKE '%@%'"),
        ops.CreateIndexOp("ix_users_example", "users", ["email"],
                          postgresql_where=sa.text("email LIKE '%@example.com'")),
    ], PG)
    assert "CHECK (email LIKE '%@%') NOT VALID" in text
    assert "postgresql_where=sa.text(\"email LIKE '%@example.com'\")" in text
    assert "%%" not in text
    text = _rendered([ops.AddColumnOp("users", sa.Column(
        "period", sa.String(10), server_default="%Y-%m", comment="50% weight"))], MARIADB)
    assert "DEFAULT '%Y-%m'" in text and "COMMENT '50% weight'" in text
    assert "%%" not in text


def test_a_volatile_default_is_backfilled_as_the_columns_default() -> None:
    """sluice.data refuses raw SQL with a literal in it (``nextval('seq')``): the backfill
    sets each row to its column's DEFAULT, which the recipe set just before, so that the
    value is the server default's own, whatever its text."""
    from sluice.data.expressions import check_text_literals

    for default in ("nextval('ticket_no_seq')", "substr(md5(random()::text), 1, 8)",
                    "jsonb_build_object('at', clock_timestamp())", "gen_random_uuid()"):
        text = _rendered([ops.AddColumnOp("tickets", sa.Column(
            "ticket_no", sa.Integer(), server_default=sa.text(default), nullable=False))], PG)
        assert "batched_update('tickets', {'ticket_no': sa.text('DEFAULT')}" in text, text
        check_text_literals(sa.text("DEFAULT"), "postgresql", "values['ticket_no']")


def test_a_table_created_in_another_schema_is_not_the_existing_one() -> None:
    create = ops.CreateTableOp("plain", [sa.Column("id", sa.Integer, primary_key=True),
                                         sa.Column("x", sa.Integer)], schema="archive")
    existing = ops.CreateIndexOp("ix_plain_n", "plain", ["n"])
    new = ops.CreateIndexOp("ix_archive_plain_x", "plain", ["x"], schema="archive")
    result = apply_recipes([create, existing, new], PG)
    assert [a.op for a in result.applied] == [existing]

    source = _revision("from alembic import op\nimport sqlalchemy as sa\n", '''\
        op.create_table("plain", sa.Column("id", sa.Integer(), primary_key=True),
                        sa.Column("x", sa.Integer()), schema="archive")
        op.create_index("ix_plain_n", "plain", ["n"])
        op.create_index("ix_archive_plain_x", "plain", ["x"], schema="archive")
        ''')
    fixed = fix_source(source, PG, path="r2.py")
    assert [c.line for c in fixed.fixed] == [17]
    assert 'op.create_index("ix_archive_plain_x", "plain", ["x"], schema="archive")' \
        in fixed.after


def test_a_table_dropped_or_swapped_in_another_schema_is_not_the_one_rewritten() -> None:
    drop = ops.DropTableOp("plain", schema="archive")
    swap = ops.DropConstraintOp("uq_plain_x", "plain", type_="unique", schema="archive")
    index = ops.CreateIndexOp("ix_plain_n", "plain", ["n"])
    unique = ops.CreateUniqueConstraintOp("uq_plain_x", "plain", ["x"])
    result = apply_recipes([swap, index, unique, drop], PG)
    assert [a.op for a in result.applied] == [index, unique]


def test_no_type_change_beside_a_column_the_revision_indexes_or_constrains() -> None:
    """The expand and contract drops the old column: an index or a constraint on it, made
    earlier in the same revision, would stop it at run time (its guard) -- the op is left
    as written, and SL208 keeps saying so. Another column is rewritten."""
    def widen(column: str) -> ops.AlterColumnOp:
        return ops.AlterColumnOp("orders", column, existing_type=sa.Integer(),
                                 modify_type=sa.BigInteger())

    for dependent in (
            ops.CreateIndexOp("ix_orders_qty", "orders", ["qty"]),
            ops.CreateIndexOp("ix_orders_qty2", "orders", [sa.text("(qty * 2)")]),
            ops.CreateCheckConstraintOp("ck_orders_qty", "orders", "qty >= 0"),
            ops.CreateUniqueConstraintOp("uq_orders_qty", "orders", ["qty", "id"]),
            ops.CreateForeignKeyOp("fk_orders_qty", "orders", "items", ["qty"], ["id"]),
            ops.CreateForeignKeyOp("fk_lines_qty", "lines", "orders", ["q"], ["qty"])):
        result = apply_recipes([dependent, widen("qty"), widen("total")], PG)
        changed = [a.op for a in result.applied
                   if a.recipe.id == "pg-alter-type-expand-contract"]
        assert [o.column_name for o in changed] == ["total"], dependent

    source = _revision("from alembic import op\nimport sqlalchemy as sa\n", '''\
        op.create_check_constraint("ck_orders_qty", "orders", "qty >= 0")
        op.alter_column("orders", "qty", type_=sa.BigInteger(), existing_type=sa.Integer())
        op.alter_column("orders", "total", type_=sa.BigInteger(), existing_type=sa.Integer())
        ''')
    fixed = fix_source(source, PG, path="r2.py")
    recipes = {c.line: [a.recipe.id for a in c.applied] for c in fixed.fixed}
    assert recipes == {15: ["pg-check-not-valid"], 17: ["pg-alter-type-expand-contract"]}
    assert 'op.alter_column("orders", "qty", type_=sa.BigInteger()' in fixed.after


def test_a_type_of_the_project_gets_its_module_imported(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Alembic renders a type of the project with its module's path
    (``sluice_probe_types.Tag()``): the rewrite imports that module."""
    (tmp_path / "sluice_probe_types.py").write_text(
        "import sqlalchemy as sa\n\n\nclass Tag(sa.types.TypeDecorator[str]):\n"
        "    impl = sa.String(20)\n    cache_ok = True\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    source = _revision("from alembic import op\nfrom sluice_probe_types import Tag\n", '''\
        op.alter_column("users", "tag", existing_type=Tag(), nullable=False)
        ''')
    fixed = fix_source(source, PG, path="r2.py")
    assert "existing_type=sluice_probe_types.Tag(" in fixed.after
    assert "import sluice_probe_types\n" in fixed.after
    assert unbound_names(fixed.after) == set(), fixed.after


def test_a_second_fix_keeps_a_type_change_beside_a_constrained_column_as_written() -> None:
    """The first run leaves the type change on a column the revision constrains; the
    second reads the constraint inside the autocommit block the first wrote (and an index
    or a constraint written as SQL) and leaves it too: the expand and contract would stop
    at run time on the constraint."""
    for made in ('op.create_check_constraint("ck_orders_qty", "orders", "qty >= 0")',
                 'op.create_unique_constraint("uq_orders_qty", "orders", ["qty"])',
                 'op.create_foreign_key(None, "orders", "items", ["qty"], ["id"])',
                 'op.create_index("ix_orders_qty", "orders", ["qty"])',
                 'op.execute("CREATE INDEX ix_orders_qty ON orders (qty)")'):
        source = _revision("from alembic import op\nimport sqlalchemy as sa\n", f'''\
            {made}
            op.alter_column("orders", "qty", type_=sa.BigInteger(), existing_type=sa.Integer())
            ''')
        once = fix_source(source, PG, path="r2.py")
        assert 'op.alter_column("orders", "qty", type_=sa.BigInteger()' in once.after, made
        twice = fix_source(once.after, PG, path="r2.py")
        assert not twice.changed, twice.diff()


def test_no_type_change_in_a_downgrade_on_a_column_the_upgrade_constrains() -> None:
    """The downgrade runs while what the upgrade made still stands: a check on the column
    the downgrade narrows back would stop the expand and contract there (the naive
    ``ALTER ... TYPE`` keeps it)."""
    source = _revision("from alembic import op\nimport sqlalchemy as sa\n", '''\
        op.create_check_constraint("ck_orders_qty", "orders", "qty >= 0")
        op.alter_column("orders", "qty", type_=sa.BigInteger(), existing_type=sa.Integer())
        op.alter_column("orders", "total", type_=sa.BigInteger(), existing_type=sa.Integer())
        ''', '''\
        op.alter_column("orders", "total", type_=sa.Integer(), existing_type=sa.BigInteger())
        op.alter_column("orders", "qty", type_=sa.Integer(), existing_type=sa.BigInteger())
        op.drop_constraint("ck_orders_qty", "orders", type_="check")
        ''')
    fixed = fix_source(source, PG, path="r2.py")
    recipes = {(c.phase, c.line): [a.recipe.id for a in c.applied] for c in fixed.fixed}
    assert recipes[("downgrade", 21)] == ["pg-alter-type-expand-contract"]
    assert ("downgrade", 22) not in recipes, recipes
    assert 'op.alter_column("orders", "qty", type_=sa.Integer()' in fixed.after
    assert not fix_source(fixed.after, PG, path="r2.py").changed


def test_set_not_null_keeps_an_existing_server_default_written_as_sql_text() -> None:
    """``existing_server_default=sa.text("now()")``, as autogenerate writes it, renders
    as written (Alembic's renderer cannot take the truth value of a SQL expression)."""
    source = _revision("from alembic import op\nimport sqlalchemy as sa\n", '''\
        op.alter_column("users", "last_login", existing_type=sa.DateTime(), nullable=False,
                        existing_server_default=sa.text("now()"))
        op.alter_column("users", "seen", existing_type=sa.DateTime(), nullable=False,
                        existing_server_default=sa.func.now())
        ''')
    fixed = fix_source(source, PG, path="r2.py")
    assert [c.line for c in fixed.fixed] == [15, 17]
    assert "existing_server_default=sa.text('now()')" in fixed.after, fixed.after
    assert "existing_server_default=sa.text('now()')" in fixed.after.split("'seen'")[1]
    assert unbound_names(fixed.after) == set(), fixed.after
    assert not fix_source(fixed.after, PG, path="r2.py").changed


def test_mysql_add_column_keeps_the_check_its_type_makes() -> None:
    """``Boolean(create_constraint=True)`` and a non-native ``Enum`` make a CHECK that
    Alembic's add_column adds with the column; an ``ALTER TABLE ... ADD COLUMN`` written
    out would lose it: such a column is left as written."""
    for type_ in (sa.Boolean(create_constraint=True),
                  sa.Enum("a", "b", name="kind", native_enum=False, create_constraint=True)):
        col = sa.Column("c", type_, nullable=True)
        assert apply_recipes([ops.AddColumnOp("t", col)], MARIADB).applied == [], type_
    plain = sa.Column("c", sa.Boolean(), nullable=True)
    assert apply_recipes([ops.AddColumnOp("t", plain)], MARIADB).applied


def test_a_constraint_made_again_after_a_drop_in_sql_is_a_swap_left_as_written() -> None:
    """``op.execute("ALTER TABLE t DROP CONSTRAINT IF EXISTS fk")`` then the foreign key
    again (warehouse's ON DELETE CASCADE revisions) commit together as written; the
    recipe's ``autocommit_block`` would commit the drop alone (and lint would report the
    drop, SL004, the new constraint being out of its sight). Another table's is
    rewritten."""
    source = _revision("from alembic import op\nimport sqlalchemy as sa\n", '''\
        op.execute(
            "ALTER TABLE release_files DROP CONSTRAINT IF EXISTS release_files_name_fkey"
        )
        op.create_foreign_key("release_files_name_fkey", "release_files", "releases",
                              ["name"], ["name"], ondelete="CASCADE")
        op.create_foreign_key("roles_user_fkey", "roles", "users", ["user_id"], ["id"])
        ''')
    fixed = fix_source(source, PG, path="r2.py")
    assert [c.line for c in fixed.fixed] == [20], fixed.after
    assert 'op.create_foreign_key("release_files_name_fkey", "release_files"' in fixed.after
    assert not fix_source(fixed.after, PG, path="r2.py").changed
