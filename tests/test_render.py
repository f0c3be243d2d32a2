"""The render layer: revisions run offline in a real Alembic context, with stand-ins."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.config import Config

from sluice.lint.render import (
    REASON_BIND_READS,
    REASON_OFFLINE_RAISE,
    Renderer,
    StandInBind,
    StandInResult,
    Stub,
)
from tests.support.render import line_of, project_fixture, render, renderer_fixture, write  # noqa: F401

HEADER = """
import sqlalchemy as sa
from alembic import context, op

revision = "r1"
down_revision = None
"""


# --------------------------------------------------------------------------- stand-ins


def test_stand_in_result_reads_are_empty() -> None:
    reads: list[str] = []
    r = StandInResult(reads.append)
    assert r.fetchall() == [] and r.fetchone() is None and r.fetchmany(5) == []
    assert r.scalar() is None and r.first() is None and r.all() == []
    assert r.scalars().all() == [] and r.mappings().all() == [] and list(r) == []
    assert r.rowcount == 0 and r.one_or_none() is None and r.keys() == []
    with pytest.raises(sa.exc.NoResultFound):
        r.one()
    assert "fetchall" in reads and "iterate" in reads


def test_stand_in_bind_and_inspect() -> None:
    emitted: list[object] = []
    reads: list[str] = []
    dialect = sa.create_mock_engine("postgresql://", lambda *a, **k: None).dialect
    bind = StandInBind(dialect, lambda s, p: emitted.append(s), reads.append)
    assert bind.execute(sa.text("SELECT 1")).fetchall() == []
    assert bind.exec_driver_sql("SELECT 2").scalar() is None
    assert len(emitted) == 2
    with bind.begin() as txn:
        txn.commit()
    bind.commit()
    bind.close()
    assert bind.url.get_backend_name() == "postgresql" and bind.engine is bind
    insp = sa.inspect(bind)
    assert insp.get_table_names() == [] and insp.has_table("users") is False
    assert insp.get_pk_constraint("users") == {"constrained_columns": [], "name": None}
    assert "inspect" in reads


@pytest.mark.parametrize("url", ["mysql://", "mysql+pymysql://", "postgresql://"])
def test_inspector_from_engine_on_the_stand_in_is_an_empty_database(url: str) -> None:
    """The older ``Inspector.from_engine(op.get_bind())`` built MySQL's own inspector,
    which failed on the stand-in (no ``_connection_charset``) and was blamed on the
    revision (SL903)."""
    import warnings

    from sqlalchemy.engine.reflection import Inspector

    reads: list[str] = []
    dialect = sa.create_mock_engine(url, lambda *a, **k: None).dialect
    bind = StandInBind(dialect, lambda s, p: None, reads.append)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # from_engine is deprecated in SQLAlchemy 2
        insp = Inspector.from_engine(bind)
    assert insp.get_table_names() == [] and "inspect" in reads
    real = sa.create_engine("sqlite://")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert isinstance(Inspector.from_engine(real), Inspector)  # others as before


def test_stub_is_permissive() -> None:
    guid = Stub("myapp.types.GUID")
    assert isinstance(guid.anything.deeper(), Stub)
    assert list(guid) == [] and len(guid) == 0 and bool(guid)
    with guid.app_context() as ctx:
        assert isinstance(ctx, Stub)

    def fn() -> int:
        return 1

    assert guid.decorator(fn) is fn  # used as a decorator: the function is kept

    class Model(guid.Base):  # type: ignore[name-defined,misc]
        pass

    assert isinstance(Model.query, Stub)
    column = sa.Column("id", guid(as_uuid=True))
    ddl = str(sa.schema.CreateTable(sa.Table("t", sa.MetaData(), column)).compile(
        dialect=sa.create_mock_engine("postgresql://", lambda *a: None).dialect))
    assert "id GUID" in ddl
    assert repr(guid(as_uuid=True)) == "GUID(as_uuid=True)"


# --------------------------------------------------------------------------- rendering


def test_statements_carry_the_line_that_emitted_them(project: Path,
                                                    renderer: Renderer) -> None:
    path = write(project, "r1.py", HEADER + """
def upgrade():
    op.add_column("users", sa.Column("email", sa.String(50), nullable=True))
    op.execute("UPDATE users SET email = ''")
    with op.get_context().autocommit_block():
        op.create_index("ix_users_email", "users", ["email"],
                        postgresql_concurrently=True)


def downgrade():
    op.drop_column("users", "email")
""")
    out = render(renderer, path)
    assert out.ok and out.dialects == ["postgresql", "mysql", "sqlite"]
    pg = [(s.phase, s.line, s.sql) for s in out.statements if s.dialect == "postgresql"
          and s.op_kind != "transaction"]
    add, upd = line_of(path, "op.add_column"), line_of(path, "op.execute")
    idx, drop = line_of(path, "op.create_index"), line_of(path, "op.drop_column")
    assert pg == [
        ("upgrade", add, "ALTER TABLE users ADD COLUMN email VARCHAR(50)"),
        ("upgrade", upd, "UPDATE users SET email = ''"),
        ("upgrade", idx, "CREATE INDEX CONCURRENTLY ix_users_email ON users (email)"),
        ("downgrade", drop, "ALTER TABLE users DROP COLUMN email"),
    ]
    ops = out.ops["postgresql"]
    assert [(o.kind, o.line, o.phase, o.source) for o in ops] == [
        ("add_column", add, "upgrade", "render"), ("execute", upd, "upgrade", "render"),
        ("create_index", idx, "upgrade", "render"),
        ("drop_column", drop, "downgrade", "render")]
    assert ops[1].sql == "UPDATE users SET email = ''"
    assert ops[2].in_autocommit and not ops[0].in_autocommit
    assert "downgrade" not in out.phases["mysql"]  # downgrade: primary dialect only


def test_helpers_in_imported_modules_are_attributed_to_the_call_site(
        project: Path, renderer: Renderer) -> None:
    (project / "helpers_mod.py").write_text(
        "def purge(op, table):\n    op.execute(f'DELETE FROM {table}')\n"
        "    op.drop_column(table, 'old')\n")
    path = write(project, "r1.py", HEADER + """
from helpers_mod import purge


def upgrade():
    purge(op, "orders")
""")
    out = render(renderer, path, downgrade=False, all_dialects=False)
    assert out.ok, out.detail
    call = line_of(path, 'purge(op, "orders")')
    assert [(o.kind, o.line, o.sql) for o in out.ops["postgresql"]] == [
        ("execute", call, "DELETE FROM orders"), ("drop_column", call, None)]


def test_bind_reads_writes_and_inspection(project: Path, renderer: Renderer) -> None:
    path = write(project, "r1.py", HEADER + """
def upgrade():
    conn = op.get_bind()
    for row in conn.execute(sa.text("SELECT id FROM users")):
        conn.execute(sa.text("UPDATE users SET x = 1 WHERE id = :id"), {"id": row.id})
    total = conn.execute(sa.text("SELECT count(*) FROM users")).scalar()
    if not sa.inspect(conn).has_table("archive"):
        op.create_table("archive", sa.Column("id", sa.Integer()))
    conn.execute(sa.text("DELETE FROM users WHERE id = :id"), {"id": 7})
    conn.commit()
    print("done", total, conn.url)
""")
    out = render(renderer, path, all_dialects=False)
    assert out.ok, out.detail
    kinds = [(o.kind, o.line) for o in out.ops["postgresql"]]
    assert ("create_table", line_of(path, "op.create_table")) in kinds
    assert ("script.get_bind_read", line_of(path, "for row in")) in kinds
    assert ("script.get_bind_read", line_of(path, "sa.inspect(conn)")) in kinds
    assert ("script.get_bind_read", line_of(path, "total =")) in kinds
    sql = [s.sql for s in out.statements]
    assert "DELETE FROM users WHERE id = 7" in sql


def test_reads_that_code_depends_on_fall_back_with_reason(project: Path,
                                                         renderer: Renderer) -> None:
    path = write(project, "r1.py", HEADER + """
def upgrade():
    row = op.get_bind().execute(sa.text("SELECT max(id) AS m FROM users")).fetchone()
    op.execute(f"ALTER SEQUENCE users_id_seq RESTART WITH {row.m + 1}")
""")
    out = render(renderer, path)
    assert not out.ok and out.reason == REASON_BIND_READS
    assert out.line == line_of(path, "ALTER SEQUENCE")
    assert "fetchone" in (out.detail or "")


def test_offline_refusal_is_a_reason(project: Path, renderer: Renderer) -> None:
    path = write(project, "r1.py", HEADER + """
def upgrade():
    if context.is_offline_mode():
        raise RuntimeError("run this one online")
    op.drop_table("x")
""")
    out = render(renderer, path)
    assert not out.ok and out.reason == REASON_OFFLINE_RAISE
    assert out.line == line_of(path, "raise RuntimeError")


def test_batch_mode_on_sqlite_and_unnamed_constraints(project: Path, renderer: Renderer
                                                     ) -> None:
    path = write(project, "r1.py", HEADER + """
def upgrade():
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("legacy")
        batch_op.drop_constraint(None, type_="foreignkey")
    op.drop_constraint(None, "orders", type_="unique")
""")
    out = render(renderer, path)
    assert out.ok, out.detail
    sqlite_ops = [(o.kind, o.in_batch, o.line) for o in out.ops["sqlite"]]
    assert sqlite_ops == [("drop_column", True, line_of(path, "batch_op.drop_column")),
                          ("drop_constraint", True, line_of(path, "batch_op.drop_constr")),
                          ("drop_constraint", False, line_of(path, "op.drop_constraint(None, \"o"))]
    assert any(s.sql == "ALTER TABLE users DROP COLUMN legacy" and s.dialect == "sqlite"
               for s in out.statements)
    assert any("mysql" in n and "drop_constraint" in n for n in out.notes)


def test_non_standard_signatures_and_multidb(project: Path, renderer: Renderer) -> None:
    path = write(project, "r1.py", HEADER + """
def upgrade(op, tables, tester):
    tester.announce(tables.users)
    op.drop_column("users", "x")


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def downgrade_engine1():
    op.drop_table("a")


def downgrade_engine2():
    op.drop_table("b")
""")
    out = render(renderer, path, all_dialects=False)
    assert out.ok, out.detail
    assert [(o.kind, o.table, o.phase) for o in out.ops["postgresql"]] == [
        ("drop_column", "users", "upgrade"), ("drop_table", "a", "downgrade"),
        ("drop_table", "b", "downgrade")]


def test_import_errors_name_the_module(project: Path, renderer: Renderer) -> None:
    path = write(project, "r1.py", HEADER + "import not_a_real_pkg.models\n")
    out = render(renderer, path)
    assert out.reason == "ImportError not_a_real_pkg"
    assert out.line == line_of(path, "import not_a_real_pkg")
    assert "stub_modules" in (out.hint or "")
    (project / "brokenapp").mkdir()
    (project / "brokenapp" / "__init__.py").write_text("import missing_dependency_xyz\n")
    path = write(project, "r2.py", HEADER + "from brokenapp import thing\n")
    out = render(renderer, path)
    assert out.reason == "ImportError brokenapp"  # stubbing the project package helps
    assert "missing_dependency_xyz" in (out.detail or "")


def test_other_failures_are_reasons_not_exceptions(project: Path, renderer: Renderer,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = write(project, "r1.py", HEADER + "def upgrade():\n    undefined_helper()\n")
    out = render(renderer, path)
    assert out.reason == "NameError" and out.line == line_of(path, "undefined_helper()")
    path = write(project, "r2.py", HEADER + "def upgrade():\n    raise SystemExit(3)\n")
    assert render(renderer, path).reason == "SystemExit"
    path = write(project, "r3.py", HEADER + "x = 1\n")
    assert render(renderer, path).reason == "no upgrade()"
    path = write(project, "r4.py", HEADER + "def upgrade(:\n    pass\n")
    assert render(renderer, path).reason == "syntax error"
    assert capsys.readouterr() == ("", "")


def test_stub_modules_and_cleanup(project: Path) -> None:
    path = write(project, "r1.py", HEADER + """
from myapp.db.types import GUID
from myapp import create_app

app = create_app()


@app.with_context
def upgrade():
    with app.app_context():
        op.add_column("users", sa.Column("uid", GUID(), nullable=True))
""")
    (project / "localmod.py").write_text("VALUE = 1\n")
    path2 = write(project, "r2.py", HEADER + "import localmod\n\ndef upgrade():\n    pass\n")
    cfg = Config(str(project / "alembic.ini"))
    path_before = list(sys.path)
    import alembic.op as op_mod

    with Renderer(cfg, script_location=project / "migrations", dialects=["postgresql"],
                  stub_modules=["myapp"], sys_path=[str(project)],
                  project_root=project) as r:
        out = r.render(path)
        assert r.render(path2).ok
        assert "localmod" in sys.modules
    assert out.ok, out.detail
    assert "ALTER TABLE users ADD COLUMN uid GUID" in [s.sql for s in out.statements]
    assert "myapp" not in sys.modules and "localmod" not in sys.modules
    assert sys.path == path_before
    assert getattr(op_mod, "_proxy", None) is None  # no Alembic context left installed


def test_revisions_never_connect_wait_or_hang(project: Path, renderer: Renderer) -> None:
    path = write(project, "r1.py", HEADER + """
import os
from sqlalchemy import create_engine

engine = create_engine(os.environ.get("DATABASE_URL", "postgresql://nobody@10.255.255.1/x"))


def upgrade():
    with engine.connect() as conn:
        conn.execute(sa.text("UPDATE users SET active = true WHERE id > 0"))
    answer = input("really? ")
""")
    out = render(renderer, path)
    assert out.reason == "EOFError"  # input() fails at once instead of waiting
    assert out.line == line_of(path, "input(")
    renderer.timeout = 0.2
    path = write(project, "r2.py", HEADER + """
import time


def upgrade():
    try:
        time.sleep(30)
    except Exception:
        pass
""")
    out = render(renderer, path)
    assert out.reason == "timed out" and out.line == line_of(path, "time.sleep")
    path = write(project, "r3.py", HEADER + "def upgrade():\n    op.drop_table('x')\n")
    assert render(renderer, path).ok  # the renderer is still usable after a timeout


def test_create_engine_is_restored(project: Path) -> None:
    original = sa.create_engine
    cfg = Config(str(project / "alembic.ini"))
    with Renderer(cfg, script_location=project / "migrations", dialects=["sqlite"]):
        assert sa.create_engine is not original
        assert isinstance(sa.create_engine("postgresql://x@y/z"), StandInBind)
    assert sa.create_engine is original


def test_plugins_imported_by_env_py_register_their_operations(
        project: Path, tmp_path_factory: pytest.TempPathFactory,
        monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path_factory.mktemp("site")
    (site / "sluice_test_alembic_plugin.py").write_text(textwrap.dedent('''
        from alembic.operations import MigrateOperation, Operations


        @Operations.register_operation("sluice_test_frob")
        class FrobOp(MigrateOperation):
            def __init__(self, table_name):
                self.table_name = table_name

            @classmethod
            def sluice_test_frob(cls, operations, table_name):
                return operations.invoke(cls(table_name))


        @Operations.implementation_for(FrobOp)
        def frob(operations, operation):
            operations.execute(f"VACUUM {operation.table_name}")
    '''))
    monkeypatch.syspath_prepend(str(site))
    (project / "migrations" / "env.py").write_text(
        "import sluice_test_alembic_plugin  # noqa\nfrom alembic import context\nraise SystemExit(1)\n")
    path = write(project, "r1.py", HEADER + "def upgrade():\n    op.sluice_test_frob('users')\n")
    cfg = Config(str(project / "alembic.ini"))
    with Renderer(cfg, script_location=project / "migrations", dialects=["postgresql"],
                  project_root=project, sql=False) as r:
        out = r.render(path)
    assert out.ok, out.detail
    assert [(o.kind, o.table) for o in out.ops["postgresql"]] == [
        ("sluice_test_frob", "users"), ("execute", None)]
    assert out.ops["postgresql"][1].sql == "VACUUM users"  # custom ops are always rendered


def test_unknown_plugin_operation_is_named(project: Path, renderer: Renderer) -> None:
    path = write(project, "r1.py", HEADER + "def upgrade():\n    op.sync_widget_values('x')\n")
    out = render(renderer, path)
    assert out.reason == "unknown op.sync_widget_values" and "plugin" in (out.hint or "")


def test_values_from_stubs_never_reach_the_rules(project: Path) -> None:
    path = write(project, "r1.py", HEADER + """
import myapp


def upgrade():
    op.add_column(myapp.TABLE, sa.Column("c", sa.Integer(), nullable=True))
    op.execute(myapp.sql.build_update())
    op.get_bind().execute(myapp.query())
""")
    cfg = Config(str(project / "alembic.ini"))
    with Renderer(cfg, script_location=project / "migrations", dialects=["postgresql"],
                  stub_modules=["myapp"], project_root=project) as r:
        out = r.render(path)
    assert out.ok, out.detail
    (add, execute) = out.ops["postgresql"]
    assert add.kind == "add_column" and add.table is None and add.column == "c"
    assert execute.kind == "execute" and execute.sql is None
    assert sum("stubbed module" in n for n in out.notes) == 2
