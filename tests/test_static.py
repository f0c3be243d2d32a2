"""The static layer reads revision files with ``ast`` only: never imports them."""

from __future__ import annotations

import textwrap
from pathlib import Path

from sluice.lint.model import Op
from sluice.lint.static import StaticResult, analyze_file, analyze_source, sql_target_table

HEADER = '''\
import sqlalchemy as sa
from alembic import op

revision = "r1"
down_revision = None
'''


def analyze(body: str, header: str = HEADER) -> StaticResult:
    result = analyze_source(header + textwrap.dedent(body), "versions/r1.py")
    assert result.error is None, result.error
    return result


def ops_of(result: StaticResult, kind: str, phase: str | None = None) -> list[Op]:
    return [o for o in result.ops if o.kind == kind and (phase is None or o.phase == phase)]


def find_line(source: str, needle: str) -> int:
    for i, line in enumerate(source.splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in source")


# --------------------------------------------------------------------------- identifiers


def test_revision_identifiers_plain_and_annotated() -> None:
    src = textwrap.dedent('''\
        from typing import Sequence, Union
        revision: str = "abc123"
        down_revision: Union[str, Sequence[str], None] = ("m1", "m2")
        branch_labels = "expand"
        depends_on = ["other"]

        def upgrade():
            pass

        def downgrade():
            pass
    ''')
    r = analyze_source(src, "x.py")
    assert r.revision == "abc123"
    assert r.down_revision == ("m1", "m2")
    assert r.branch_labels == ("expand",)
    assert r.depends_on == ("other",)


def test_revision_identifiers_single_parent_and_none() -> None:
    r = analyze("def upgrade():\n    pass\n")
    assert r.revision == "r1" and r.down_revision is None and r.branch_labels == ()
    r2 = analyze_source('revision = "b"\ndown_revision = "a"\n', "b.py")
    assert r2.down_revision == "a"


# --------------------------------------------------------------------------- operations


def test_ops_in_both_phases_with_exact_lines_and_metadata() -> None:
    body = '''
    def upgrade():
        op.add_column("users", sa.Column("email", sa.String(length=50), nullable=False,
                                         server_default=sa.text("'x'")))
        op.drop_column("users", "legacy")

    def downgrade():
        op.drop_column("users", "email")
    '''
    src = HEADER + textwrap.dedent(body)
    r = analyze_source(src, "versions/r1.py")
    add, drop_up = ops_of(r, "add_column")[0], ops_of(r, "drop_column", "upgrade")[0]
    assert add.line == find_line(src, 'op.add_column("users"')
    assert drop_up.line == find_line(src, '"legacy"')
    assert (add.table, add.column) == ("users", "email")
    assert add.args["type_"] == "String(length=50)"
    assert add.args["nullable"] is False
    assert add.args["server_default"] == "'x'"
    (drop_down,) = ops_of(r, "drop_column", "downgrade")
    assert drop_down.column == "email" and drop_down.line == find_line(src, 'op.drop_column("users", "email")')
    for o in r.ops:
        assert o.path == "versions/r1.py" and o.revision == "r1" and o.source == "static"
    real = [o.kind for o in r.ops if not o.kind.startswith("script.")]
    assert real == ["add_column", "drop_column", "drop_column"]


def test_types_lose_module_prefix_and_literal_kwargs_are_values() -> None:
    r = analyze('''
    from sqlalchemy.dialects import postgresql

    def upgrade():
        op.alter_column("t", "c", type_=postgresql.JSONB(), existing_type=sa.Text,
                        existing_nullable=True, nullable=False, postgresql_using="c::jsonb")
        op.add_column("t", sa.Column("n", sa.Numeric(10, 2)))
        op.create_index("ix_t_c", "t", ["c", "d"], unique=True, postgresql_where=sa.text("d > 0"))
    ''')
    alter = ops_of(r, "alter_column")[0]
    assert alter.args["type_"] == "JSONB()"
    assert alter.args["existing_type"] == "Text()"
    assert alter.args["existing_nullable"] is True and alter.args["nullable"] is False
    assert alter.args["postgresql_using"] == "c::jsonb"
    add = ops_of(r, "add_column")[0]
    assert add.args["type_"] == "Numeric(10, 2)" and add.args["nullable"] is True
    idx = ops_of(r, "create_index")[0]
    assert idx.name == "ix_t_c" and idx.table == "t"
    assert idx.args["columns"] == ["c", "d"] and idx.args["unique"] is True
    assert idx.args["postgresql_where"] == "d > 0"


def test_a_column_named_at_run_time_keeps_its_type() -> None:
    """The first argument of ``sa.Column`` is the name when a type (or a foreign key)
    follows it, a string or not; a type alone is the type."""
    r = analyze('''
    from sqlalchemy import UnicodeText

    def upgrade(column):
        op.add_column("t", sa.Column(column, sa.UnicodeText, nullable=True))
        op.add_column("t", sa.Column(column.lower(), UnicodeText()))
        op.add_column("t", sa.Column(column, sa.ForeignKey("u.id")))
        op.add_column("t", sa.Column(sa.Integer, sa.ForeignKey("u.id")))
        op.add_column("t", sa.Column(GUID, sa.ForeignKey("u.id")))
    ''')
    types = [o.args.get("type_") for o in ops_of(r, "add_column")]
    assert types == ["UnicodeText()", "UnicodeText()", None, "Integer()", "GUID()"]
    assert [o.column for o in ops_of(r, "add_column")] == [None] * 5


def test_a_constraint_s_type_is_its_value_as_alembic_sees_it() -> None:
    r = analyze('''
    KIND = "unique"

    def upgrade():
        op.drop_constraint(u"fk_a", "t", type_=u"foreignkey")
        op.drop_constraint("ck_b", "t", "check")
        op.drop_constraint("uq_c", "t", type_=KIND)
        op.drop_constraint("d", "t", type_=None)
        op.drop_constraint("e", "t")
        with op.batch_alter_table("t") as batch_op:
            batch_op.drop_constraint("pk_t", type_=\'primary\')
    ''')
    types = [o.args.get("type_", "absent") for o in ops_of(r, "drop_constraint")]
    assert types == ["foreignkey", "check", "unique", None, "absent", "primary"]


def test_server_default_forms() -> None:
    r = analyze('''
    def upgrade():
        op.add_column("t", sa.Column("a", sa.DateTime(), server_default=sa.text("now()")))
        op.add_column("t", sa.Column("b", sa.DateTime(), server_default=sa.func.now()))
        op.add_column("t", sa.Column("c", sa.Integer(), server_default="0"))
        op.add_column("t", sa.Column("d", sa.Boolean(), server_default=sa.false()))
        op.alter_column("t", "e", server_default=None)
    ''')
    defaults = [o.args.get("server_default") for o in ops_of(r, "add_column")]
    assert defaults == ["now()", "now()", "0", "false"]
    alter = ops_of(r, "alter_column")[0]
    assert "server_default" in alter.args and alter.args["server_default"] is None


def test_op_f_names_and_constants_resolve() -> None:
    r = analyze('''
    TABLE = "accounts"

    def upgrade():
        op.create_index(op.f("ix_accounts_email"), TABLE, ["email"])
        name = "uq_accounts_email"
        op.create_unique_constraint(name, TABLE, ["email"])
    ''')
    idx, uq = ops_of(r, "create_index")[0], ops_of(r, "create_unique_constraint")[0]
    assert (idx.name, idx.table) == ("ix_accounts_email", "accounts")
    assert (uq.name, uq.table, uq.args["columns"]) == ("uq_accounts_email", "accounts", ["email"])


def test_loop_over_literal_list_yields_one_op_per_value() -> None:
    r = analyze('''
    def upgrade():
        for table in ("a", "b"):
            op.drop_table(table)
    ''')
    assert [o.table for o in ops_of(r, "drop_table")] == ["a", "b"]


def test_batch_alter_table_fills_table_and_in_batch() -> None:
    body = '''
    def upgrade():
        with op.batch_alter_table("orders", schema="shop") as batch_op:
            batch_op.alter_column("total", type_=sa.String(50))
            batch_op.drop_column("note")
            batch_op.create_index(batch_op.f("ix_orders_total"), ["total"])
        op.drop_column("orders", "other")
    '''
    r = analyze(body)
    alter, drop_note, idx, drop_other = [o for o in r.ops if not o.kind.startswith("script.")]
    assert alter.in_batch and alter.table == "orders" and alter.schema == "shop"
    assert alter.column == "total" and alter.args["type_"] == "String(50)"
    assert drop_note.in_batch and drop_note.column == "note"
    assert idx.in_batch and idx.name == "ix_orders_total" and idx.args["columns"] == ["total"]
    assert not drop_other.in_batch


def test_autocommit_block_nesting() -> None:
    r = analyze('''
    def upgrade():
        op.create_index("ix_a", "t", ["a"])
        with op.get_context().autocommit_block():
            op.create_index("ix_b", "t", ["b"], postgresql_concurrently=True)
            with op.batch_alter_table("t") as b:
                b.drop_column("x")
        op.create_index("ix_c", "t", ["c"])
    ''')
    flags = {o.name or o.column: o.in_autocommit for o in r.ops if not o.kind.startswith("script.")}
    assert flags == {"ix_a": False, "ix_b": True, "x": True, "ix_c": False}
    assert ops_of(r, "create_index")[1].args["postgresql_concurrently"] is True


def test_autocommit_block_on_context_variable() -> None:
    r = analyze('''
    def upgrade():
        ctx = op.get_context()
        with ctx.autocommit_block():
            op.execute("VACUUM ANALYZE t")
    ''')
    assert ops_of(r, "execute")[0].in_autocommit


def test_tables_created_earlier_in_same_phase_are_new() -> None:
    r = analyze('''
    def upgrade():
        op.create_index("ix_old", "old", ["a"])
        op.create_table("fresh", sa.Column("id", sa.Integer(), primary_key=True))
        op.create_index("ix_fresh", "fresh", ["id"])
        op.execute("CREATE TABLE raw_t (id int)")
        op.execute("ALTER TABLE raw_t ADD COLUMN x int")

    def downgrade():
        op.create_index("ix_fresh2", "fresh", ["id"])
    ''')
    by_name = {o.name: o for o in ops_of(r, "create_index")}
    assert not by_name["ix_old"].table_is_new
    assert by_name["ix_fresh"].table_is_new
    assert not by_name["ix_fresh2"].table_is_new  # other phase
    alter = ops_of(r, "execute")[1]
    assert alter.table == "raw_t" and alter.table_is_new
    create = ops_of(r, "create_table")[0]
    assert create.args["columns"] == {"id": "Integer()"}
    assert not create.table_is_new


# --------------------------------------------------------------------------- helpers


def test_helpers_called_from_both_phases_are_reported_for_each() -> None:
    body = '''
    def _index(op, table):
        op.create_index(f"ix_{table}_id", table, ["id"])

    def _drop(table):
        op.drop_table(table)

    def upgrade():
        _index(op, "users")
        _drop("old")

    def downgrade():
        _index(op, "users")
    '''
    src = HEADER + textwrap.dedent(body)
    r = analyze_source(src, "h.py")
    idx = ops_of(r, "create_index")
    assert [(o.phase, o.name, o.table) for o in idx] == [
        ("upgrade", "ix_users_id", "users"),
        ("downgrade", "ix_users_id", "users"),
    ]
    assert all(o.line == find_line(src, "op.create_index(") for o in idx)
    (drop,) = ops_of(r, "drop_table")
    assert drop.phase == "upgrade" and drop.table == "old"


def test_nested_function_and_batch_passed_to_helper() -> None:
    r = analyze('''
    def _cols(batch):
        batch.drop_column("x")

    def upgrade():
        def inner():
            op.drop_table("gone")
        inner()
        with op.batch_alter_table("t") as b:
            _cols(b)
    ''')
    assert ops_of(r, "drop_table")[0].table == "gone"
    drop = ops_of(r, "drop_column")[0]
    assert drop.in_batch and drop.table == "t" and drop.column == "x"


def test_non_standard_signature_op_as_parameter() -> None:
    src = textwrap.dedent('''\
        revision = "x"
        down_revision = None

        def upgrade(op, tables, tester):
            op.add_column("users", tables.users.c.email)
            op.drop_column("users", "name")
            tester.check()

        def downgrade(op, tables, tester):
            op.add_column("users", tables.users.c.name)
    ''')
    r = analyze_source(src, "ns.py")
    kinds = [(o.phase, o.kind) for o in r.ops if not o.kind.startswith("script.")]
    assert kinds == [("upgrade", "add_column"), ("upgrade", "drop_column"),
                     ("downgrade", "add_column")]
    assert ops_of(r, "script.downgrade")[0].args["kind"] == "ops"


def test_aliased_op_import_and_multidb_entry_points() -> None:
    src = textwrap.dedent('''\
        from alembic import op as alembic_op
        revision = "x"
        down_revision = None

        def upgrade(engine_name):
            globals()["upgrade_%s" % engine_name]()

        def downgrade(engine_name):
            globals()["downgrade_%s" % engine_name]()

        def upgrade_main():
            alembic_op.drop_table("a")

        def downgrade_main():
            alembic_op.create_table("a")
    ''')
    r = analyze_source(src, "m.py")
    assert [(o.phase, o.kind) for o in r.ops if not o.kind.startswith("script.")] == [
        ("upgrade", "drop_table"), ("downgrade", "create_table")]


# --------------------------------------------------------------------------- SQL


def test_literal_sql_forms() -> None:
    r = analyze('''
    from sqlalchemy import text

    Q = "DELETE FROM audit"

    def upgrade():
        op.execute("UPDATE users SET active = true")
        op.execute(sa.text("UPDATE users SET a = :v").bindparams(v=1))
        op.execute(text("""
            CREATE INDEX CONCURRENTLY ix ON users (a)
        """))
        op.execute(Q)
        op.execute("ALTER TABLE users " "ADD COLUMN z int")
        op.execute(f"UPDATE users SET b = 1")
    ''')
    sqls = [o.sql for o in ops_of(r, "execute")]
    assert sqls[0] == "UPDATE users SET active = true"
    assert sqls[1] == "UPDATE users SET a = :v"
    assert "CREATE INDEX CONCURRENTLY ix ON users (a)" in (sqls[2] or "")
    assert sqls[3] == "DELETE FROM audit"
    assert sqls[4] == "ALTER TABLE users ADD COLUMN z int"
    assert sqls[5] == "UPDATE users SET b = 1"
    assert not ops_of(r, "script.dynamic_sql")
    assert [o.table for o in ops_of(r, "execute")][:2] == ["users", "users"]


def test_dynamic_sql_every_way_of_building_it() -> None:
    body = '''
    def upgrade():
        name = get_name()
        op.execute(f"UPDATE users SET name = '{name}'")
        op.execute("UPDATE users SET name = '%s'" % name)
        op.execute("UPDATE users SET name = '{}'".format(name))
        op.execute("UPDATE users SET name = '" + name + "'")
        sql = f"DELETE FROM users WHERE name = '{name}'"
        op.execute(sa.text(sql))
        op.get_bind().execute(sa.text("DELETE FROM t WHERE id = " + name))
    '''
    src = HEADER + textwrap.dedent(body)
    r = analyze_source(src, "d.py")
    facts = ops_of(r, "script.dynamic_sql")
    assert [f.args["how"] for f in facts] == [
        "fstring", "percent", "format", "concat", "fstring", "concat"]
    assert facts[0].line == find_line(src, "op.execute(f\"UPDATE")
    assert all(o.sql is None for o in ops_of(r, "execute"))


def test_core_constructs_record_where() -> None:
    r = analyze('''
    users = sa.table("users", sa.column("active", sa.Boolean))

    def upgrade():
        op.execute(users.update().values(active=True))
        op.execute(users.delete().where(users.c.active.is_(False)))
        op.bulk_insert(users, [{"active": True}, {"active": False}])
    ''')
    upd, dele = ops_of(r, "execute")
    assert upd.args["construct"] == "update" and upd.args["where"] is False
    assert upd.args["construct_table"] == "users"
    assert dele.args["construct"] == "delete" and dele.args["where"] is True
    bulk = ops_of(r, "bulk_insert")[0]
    assert bulk.table == "users" and bulk.args["rows"] == 2


def test_sql_target_table() -> None:
    assert sql_target_table("ALTER TABLE ONLY public.users ADD x int") == "users"
    assert sql_target_table('CREATE UNIQUE INDEX CONCURRENTLY ix ON "orders" (a)') == "orders"
    assert sql_target_table("DELETE FROM t") == "t"
    assert sql_target_table("SELECT 1") is None


# --------------------------------------------------------------------------- script facts


def test_swallowed_exceptions() -> None:
    body = '''
    import contextlib

    def upgrade():
        try:
            op.execute("UPDATE a SET b = 1")
        except Exception as exc:
            print("failed", exc)
        try:
            op.execute("UPDATE a SET b = 2")
        except:
            pass
        try:
            op.execute("UPDATE a SET b = 3")
        except (ValueError, BaseException):
            log()
        try:
            op.execute("UPDATE a SET b = 4")
        except Exception:
            log()
            raise
        try:
            op.execute("UPDATE a SET b = 5")
        except KeyError:
            pass
        with contextlib.suppress(Exception):
            op.execute("UPDATE a SET b = 6")
    '''
    src = HEADER + textwrap.dedent(body)
    r = analyze_source(src, "s.py")
    facts = ops_of(r, "script.swallow_exception")
    assert [f.args["catches"] for f in facts] == ["Exception", "bare", "BaseException", "suppress"]
    assert facts[0].line == find_line(src, "except Exception as exc")
    assert len(ops_of(r, "execute")) == 6


def test_imports_inside_the_revision() -> None:
    body = '''
    import os
    import json
    from typing import Sequence
    from sqlalchemy.dialects import postgresql
    from myapp.models import User, Order
    import myapp.db

    def upgrade():
        from myapp.helpers import backfill
        from . import common
        backfill()

    def downgrade():
        import app_utils
    '''
    src = HEADER + textwrap.dedent(body)
    r = analyze_source(src, "i.py")
    facts = ops_of(r, "script.import")
    assert [(f.name, f.phase) for f in facts] == [
        ("myapp.models", "upgrade"), ("myapp.db", "upgrade"), ("myapp.helpers", "upgrade"),
        (".", "upgrade"), ("app_utils", "downgrade"),
    ]
    assert facts[0].args["names"] == ["User", "Order"]
    assert facts[0].line == find_line(src, "from myapp.models")


def test_create_engine_anywhere() -> None:
    r = analyze('''
    from sqlalchemy import create_engine
    engine = create_engine("postgresql://app@db/app")

    def upgrade():
        e = sa.create_engine(os.environ["URL"])
    ''')
    facts = ops_of(r, "script.create_engine")
    assert len(facts) == 2 and all(f.phase == "upgrade" for f in facts)


def test_get_bind_reads() -> None:
    body = '''
    def upgrade():
        bind = op.get_bind()
        rows = bind.execute(sa.text("SELECT id FROM users")).fetchall()
        result = bind.execute(sa.text("SELECT id FROM orders"))
        for row in result:
            pass
        n = result.rowcount
        total = op.get_bind().execute(sa.text("SELECT count(*) FROM t")).scalar()
        insp = sa.inspect(bind)
        bind.execute(sa.text("UPDATE users SET a = 1"))
        session = sa.orm.Session(bind=bind)
        users = session.query(User).all()
        meta = sa.MetaData()
        meta.reflect(bind)
        t = sa.Table("users", meta, autoload_with=bind)
    '''
    src = HEADER + textwrap.dedent(body)
    r = analyze_source(src, "g.py")
    hows = [f.args["how"] for f in ops_of(r, "script.get_bind_read")]
    assert hows == ["fetchall", "iterate", "rowcount", "scalar", "inspect", "session.query",
                    "reflect", "reflect"]
    executes = ops_of(r, "execute")
    assert all(e.args.get("via") == "bind" for e in executes)
    assert executes[-1].sql == "UPDATE users SET a = 1"


def test_results_consumed_by_builtins_are_reads() -> None:
    # next(iter(conn.execute(...))) in a helper the bind is passed to: a read
    r = analyze('''
    def _count(conn):
        return next(iter(conn.execute(sa.text("SELECT count(id) FROM releases"))))[0]

    def upgrade():
        conn = op.get_bind()
        ids = list(conn.execute(sa.text("SELECT id FROM users")))
        while _count(conn) > 0:
            conn.execute(sa.text("UPDATE releases SET a = 1"))
    ''')
    hows = [f.args["how"] for f in ops_of(r, "script.get_bind_read")]
    assert hows == ["list", "iter"]


def test_writes_through_bind_are_not_reads() -> None:
    r = analyze('''
    def upgrade():
        conn = op.get_bind()
        conn.execute(sa.text("UPDATE users SET a = 1"))
    ''')
    assert not ops_of(r, "script.get_bind_read")
    assert ops_of(r, "execute")[0].sql == "UPDATE users SET a = 1"


def downgrade_kind(downgrade: str) -> str:
    src = HEADER + "def upgrade():\n    op.drop_column('t', 'c')\n\n" + textwrap.dedent(downgrade)
    r = analyze_source(src, "dg.py")
    (fact,) = ops_of(r, "script.downgrade")
    assert fact.phase == "downgrade" and fact.args["upgrade_ops"] == 1
    return str(fact.args["kind"])


def test_downgrade_kinds() -> None:
    assert downgrade_kind("def downgrade():\n    op.add_column('t', sa.Column('c', sa.Text()))\n") == "ops"
    assert downgrade_kind("def downgrade():\n    pass\n") == "pass"
    assert downgrade_kind('def downgrade():\n    """Nothing."""\n    ...\n') == "pass"
    assert downgrade_kind("") == "missing"
    assert downgrade_kind("def downgrade():\n    raise NotImplementedError()\n") == "raises"
    assert downgrade_kind(
        'def downgrade():\n    """Irreversible."""\n    raise RuntimeError("no way back")\n'
    ) == "raises"
    assert downgrade_kind("def downgrade():\n    print('nothing to do')\n") == "empty"


# --------------------------------------------------------------------------- robustness


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.py"
    path.write_text("revision = 'x'\n\ndef upgrade(:\n    pass\n", encoding="utf-8")
    r = analyze_file(path)
    assert r.ops == []
    assert r.error is not None
    assert r.error.startswith(f"{path}:3: syntax error:")


def test_file_importing_missing_module_is_still_analysed(tmp_path: Path) -> None:
    path = tmp_path / "imp.py"
    path.write_text(textwrap.dedent('''\
        import sqlalchemy as sa
        from alembic import op
        from module_that_does_not_exist.types import FancyType
        raise SystemExit("importing this file would exit")

        revision = "imp1"
        down_revision = "imp0"

        def upgrade():
            op.add_column("t", sa.Column("f", FancyType(length=3)))

        def downgrade():
            op.drop_column("t", "f")
    '''), encoding="utf-8")
    r = analyze_file(path)
    assert r.error is None and r.revision == "imp1" and r.down_revision == "imp0"
    add = ops_of(r, "add_column")[0]
    assert add.args["type_"] == "FancyType(length=3)" and add.line == 10
    assert ops_of(r, "script.import")[0].name == "module_that_does_not_exist.types"


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    r = analyze_file(tmp_path / "missing.py")
    assert r.error and "missing.py:0: cannot read" in r.error
    bad = tmp_path / "latin.py"
    bad.write_bytes(b"x = '\xe9'\n")
    r2 = analyze_file(bad)
    assert r2.error and "latin.py:1:" in r2.error


def test_example_project_revisions() -> None:
    root = Path(__file__).resolve().parent.parent / "examples" / "shop" / "migrations" / "versions"
    for path in sorted(root.glob("*.py")):
        r = analyze_file(path)
        assert r.error is None and r.revision
        assert any(not o.kind.startswith("script.") for o in r.ops)


def test_pathologically_nested_source_is_an_error_not_a_crash() -> None:
    deep = " + ".join(['"a"'] * 5000)
    r = analyze_source(f"from alembic import op\ndef upgrade():\n    op.execute({deep})\n", "n.py")
    assert r.error is not None and r.error.startswith("n.py:1: ") and r.ops == []
    long = " + ".join(['"a"'] * 500)
    r = analyze_source(f"from alembic import op\ndef upgrade():\n    op.execute({long})\n", "m.py")
    assert r.error is None and ops_of(r, "execute")[0].sql == "a" * 500
