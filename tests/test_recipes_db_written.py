"""What `sluice fix` writes, run on real servers: a revision that does not import
SQLAlchemy as ``sa`` (or calls ``op`` by another name) runs after the rewrite; SQL with
``%`` in it reaches the database as written; a volatile default with a literal in it is
backfilled; an index name already in use stops the fixed revision as it stops the naive
one; the type change's guard names each dependent object once. The naive revision runs on
one scratch database, the fixed one on another, and their catalogs compare equal."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from sluice.check.snapshot import diff_snapshots, take_snapshot
from sluice.core.project import alembic_config
from sluice.owned import DATA_PROGRESS_TABLE
from sluice.scratch import scratch_database
from tests.support.cli import run_cli
from tests.support.databases import DatabasePool
from tests.support.modules import forget_modules
from tests.support.revisions import PLAIN_ENV_PY, revision_source
from tests.support.servers import server_url


def revision(rev: str, down: str | None, imports: str, upgrade: str, downgrade: str) -> str:
    return revision_source(rev, down, upgrade, downgrade, only_imports=imports)


def project(root: Path, url: str, files: dict[str, str], toml: str = "") -> Path:
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "alembic.ini").write_text(
        f"[alembic]\nscript_location = %(here)s/migrations\nsqlalchemy.url = {url}\n",
        encoding="utf-8")
    if toml:
        (root / "pyproject.toml").write_text(toml, encoding="utf-8")
    (root / "migrations" / "env.py").write_text(PLAIN_ENV_PY, encoding="utf-8")
    (root / "migrations" / "script.py.mako").write_text("", encoding="utf-8")
    for name, text in files.items():
        (versions / name).write_text(text, encoding="utf-8")
    return root


def alembic(root: Path, url: str, fn: str, rev: str) -> None:
    forget_modules(root)
    getattr(command, fn)(alembic_config(root / "alembic.ini", url=url, stdout=io.StringIO()),
                         rev)


def catalog(url: str) -> dict[str, Any]:
    """check's snapshot, and what it leaves out: index definitions (predicates), column
    defaults and comments as the server spells them."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            snap = take_snapshot(conn, schemas=[None],
                                 skip={"alembic_version", DATA_PROGRESS_TABLE})
            own = f"('alembic_version', '{DATA_PROGRESS_TABLE}')"
            if conn.dialect.name == "postgresql":
                extra = conn.exec_driver_sql(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
                    f"AND tablename NOT IN {own} UNION ALL SELECT conname, "
                    "pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = "
                    f"'public'::regnamespace AND conrelid::regclass::text NOT IN {own} "
                    "UNION ALL SELECT table_name || '.' || column_name, coalesce("
                    "column_default, '') || ' / ' || coalesce(col_description(("
                    "table_schema || '.' || table_name)::regclass, ordinal_position), '') "
                    "FROM information_schema.columns WHERE table_schema = 'public' "
                    f"AND table_name NOT IN {own} ORDER BY 1, 2").all()
            else:
                extra = conn.exec_driver_sql(
                    "SELECT concat(table_name, '.', column_name), concat(coalesce("
                    "column_default, ''), ' / ', column_comment) FROM "
                    "information_schema.columns WHERE table_schema = database() "
                    f"AND table_name NOT IN {own} ORDER BY 1").all()
    finally:
        engine.dispose()
    return {"snapshot": snap, "catalog": [tuple(r) for r in extra]}


def assert_same(want: dict[str, Any], got: dict[str, Any], context: str) -> None:
    assert diff_snapshots(want["snapshot"], got["snapshot"]) == [], context
    assert want["catalog"] == got["catalog"], context


@pytest.fixture
def two_databases(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    if request.param == "postgresql":  # the conftest's databases, made ahead
        pool: DatabasePool = request.getfixturevalue("pg_databases")
        with pool.fresh() as a_url, pool.fresh() as b_url:
            yield a_url, b_url
        return
    server = server_url(request.param)
    with scratch_database(server, prefix="sluice_t") as a, \
            scratch_database(server, prefix="sluice_t") as b:
        yield a.render_as_string(hide_password=False), b.render_as_string(hide_password=False)


def fixed_copy(naive: Path, naive_url: str, fixed_url: str, dialect: str) -> Path:
    """A copy of the project, its revisions fixed by `sluice fix` (and fixed once only)."""
    fixed = naive.parent / "fixed"
    shutil.copytree(naive, fixed)
    ini = fixed / "alembic.ini"
    ini.write_text(ini.read_text(encoding="utf-8").replace(naive_url, fixed_url),
                   encoding="utf-8")
    done = run_cli(["fix", "-c", str(ini), "--dialect", dialect])
    assert done.exit_code == 0, done.output
    again = run_cli(["fix", "-c", str(ini), "--dialect", dialect, "--diff"])
    assert again.exit_code == 0 and again.stdout == "", again.output
    return fixed


def lint_rules(root: Path, dialect: str) -> dict[str, set[str]]:
    result = run_cli(["lint", "-c", str(root / "alembic.ini"), "--all", "--dialect", dialect,
                      "--no-cache", "--format", "json", "--fail-on", "info"])
    assert result.exit_code in (0, 1), result.output
    data = json.loads(result.stdout)
    out: dict[str, set[str]] = {}
    for f in data["findings"] if isinstance(data, dict) else data:
        out.setdefault(Path(str(f.get("path"))).name, set()).add(f["rule"])
    return out


PG_BASE = revision("0001", None, "import sqlalchemy as sa\nfrom alembic import op\n", '''\
    op.execute("CREATE SEQUENCE ticket_no_seq")
    op.create_table("users", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("email", sa.String(80)), sa.Column("nick", sa.String(30)),
                    sa.Column("legacy_idx", sa.Integer()))
    op.create_index("ix_users_legacy", "users", ["legacy_idx"])
    op.create_table("tickets", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("title", sa.String(50)))
    op.execute("INSERT INTO users SELECT g, 'u' || g || '@example.com', 'n' || g, g "
               "FROM generate_series(1, 300) AS g")
    op.execute("INSERT INTO tickets SELECT g, 't' || g FROM generate_series(1, 300) AS g")
    ''', '''\
    op.drop_table("tickets")
    op.drop_table("users")
    op.execute("DROP SEQUENCE ticket_no_seq")
    ''')

#: No ``import sqlalchemy as sa``; ``%`` in SQL; volatile defaults with literals in them.
PG_CHANGE = revision("0002", "0001", '''\
    from alembic import op
    from sqlalchemy import Column, Integer, String, text
    from sqlalchemy.dialects import postgresql
    ''', '''\
    op.create_index("ix_users_lower_email", "users", [text("lower(email)")])
    op.alter_column("users", "email", existing_type=String(80), nullable=False)
    op.create_check_constraint("ck_users_email_at", "users", "email LIKE '%@%'")
    op.create_index("ix_users_example", "users", ["email"],
                    postgresql_where=text("email LIKE '%@example.com'"))
    op.add_column("tickets", Column("ticket_no", Integer(), nullable=False,
                                    server_default=text("nextval('ticket_no_seq')")))
    op.add_column("tickets", Column("code", String(8),
                                    server_default=text("substr(md5(random()::text), 1, 8)")))
    op.add_column("tickets", Column("meta", postgresql.JSONB(), server_default=text(
        "jsonb_build_object('at', clock_timestamp())")))
    ''', '''\
    op.drop_column("tickets", "meta")
    op.drop_column("tickets", "code")
    op.drop_column("tickets", "ticket_no")
    op.drop_index("ix_users_example", table_name="users")
    op.drop_constraint("ck_users_email_at", "users", type_="check")
    op.alter_column("users", "email", existing_type=String(80), nullable=True)
    op.drop_index("ix_users_lower_email", table_name="users")
    ''')

#: ``op`` by another name, SQLAlchemy without an alias.
PG_ALIAS = revision("0003", "0002", "from alembic import op as migrate\nimport sqlalchemy\n", '''\
    migrate.create_index("ix_users_nick", "users", ["nick"])
    migrate.alter_column("users", "nick", existing_type=sqlalchemy.String(30), nullable=False)
    ''', '''\
    migrate.alter_column("users", "nick", existing_type=sqlalchemy.String(30), nullable=True)
    migrate.drop_index("ix_users_nick", table_name="users")
    ''')


@pytest.mark.postgres
@pytest.mark.parametrize("two_databases", ["postgresql"], indirect=True)
def test_postgres_fixed_revisions_run_and_end_in_the_naive_schema(
        tmp_path: Path, two_databases: tuple[str, str]) -> None:
    naive_url, fixed_url = two_databases
    naive = project(tmp_path / "naive", naive_url, {
        "0001_base.py": PG_BASE, "0002_change.py": PG_CHANGE, "0003_alias.py": PG_ALIAS})
    fixed = fixed_copy(naive, naive_url, fixed_url, "postgresql")
    change = (fixed / "migrations" / "versions" / "0002_change.py").read_text(encoding="utf-8")
    alias = (fixed / "migrations" / "versions" / "0003_alias.py").read_text(encoding="utf-8")
    alembic(naive, naive_url, "upgrade", "0001")
    start = catalog(naive_url)
    alembic(naive, naive_url, "upgrade", "head")
    want = catalog(naive_url)
    alembic(fixed, fixed_url, "upgrade", "head")  # NameError, %% or a refused backfill
    assert_same(want, catalog(fixed_url), change + alias)
    assert "import sqlalchemy as sa\n" in change and "%%" not in change
    assert "migrate.get_context().autocommit_block()" in alias and "op." not in alias
    engine = sa.create_engine(fixed_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        filled = conn.exec_driver_sql(
            "SELECT count(DISTINCT ticket_no), count(*) FILTER (WHERE code IS NULL "
            "OR meta IS NULL) FROM tickets").one()
    engine.dispose()
    assert tuple(filled) == (300, 0)
    # a rerun after every step ran keeps the indexes (the same definitions), then back
    alembic(fixed, fixed_url, "stamp", "0001")
    alembic(fixed, fixed_url, "upgrade", "head")
    assert_same(want, catalog(fixed_url), change)
    alembic(fixed, fixed_url, "downgrade", "0001")
    assert_same(start, catalog(fixed_url), change)

    naive_rules, fixed_rules = lint_rules(naive, "postgresql"), lint_rules(fixed, "postgresql")
    for name in ("0002_change.py", "0003_alias.py"):
        assert naive_rules.get(name), name
        assert not fixed_rules.get(name, set()) - naive_rules[name], (
            name, fixed_rules.get(name))
        assert not fixed_rules.get(name, set()) & {"SL201", "SL204", "SL206", "SL207"}


CLASH = revision("0002", "0001", "import sqlalchemy as sa\nfrom alembic import op\n",
                 'op.create_index("ix_users_legacy", "users", ["nick", "legacy_idx"])\n',
                 'op.drop_index("ix_users_legacy", table_name="users")\n')


@pytest.mark.postgres
@pytest.mark.parametrize("two_databases", ["postgresql"], indirect=True)
def test_postgres_an_index_name_in_use_stops_the_fixed_revision_too(
        tmp_path: Path, two_databases: tuple[str, str]) -> None:
    """An index of the same name with another definition: the naive revision fails on
    the name; the fixed one must not keep the old index silently (IF NOT EXISTS)."""
    naive_url, fixed_url = two_databases
    naive = project(tmp_path / "naive", naive_url, {"0001_base.py": PG_BASE,
                                                    "0002_clash.py": CLASH})
    fixed = fixed_copy(naive, naive_url, fixed_url, "postgresql")
    with pytest.raises(sa.exc.ProgrammingError, match="already exists"):
        alembic(naive, naive_url, "upgrade", "head")
    alembic(fixed, fixed_url, "upgrade", "0001")
    before = catalog(fixed_url)
    with pytest.raises(sa.exc.DBAPIError, match=r"ix_users_legacy is not the index this "
                       r"revision creates on users: CREATE INDEX ix_users_legacy ON "
                       r"public\.users USING btree \(legacy_idx\)"):
        alembic(fixed, fixed_url, "upgrade", "head")
    assert_same(before, catalog(fixed_url), "the old index is kept, nothing else made")


@pytest.mark.postgres
def test_postgres_type_change_guard_names_each_dependent_once(pg_url: str) -> None:
    from alembic.operations import Operations, ops
    from alembic.runtime.migration import MigrationContext

    from sluice.recipes import RecipeContext, apply_recipes
    from sluice.recipes.steps import autogen_context, render_lines

    naive = ops.AlterColumnOp("orders", "qty", existing_type=sa.Integer(),
                              modify_type=sa.BigInteger())
    expand = apply_recipes([naive], RecipeContext("postgresql")).ops[0]
    code = "\n".join(render_lines(autogen_context("postgresql"), expand))
    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("CREATE TABLE orders (id int PRIMARY KEY, qty int "
                                 "CONSTRAINT ck_orders_qty CHECK (qty > -1 AND qty < 10000))")
            conn.commit()
            mc = MigrationContext.configure(conn)
            with pytest.raises(sa.exc.DBAPIError) as raised, Operations.context(mc), \
                    mc.begin_transaction():
                exec(code, {"op": Operations(mc), "sa": sa})  # noqa: S102 - rendered recipe
            conn.rollback()
    finally:
        engine.dispose()
    message = str(raised.value.orig)
    assert message.count("constraint ck_orders_qty on table orders") == 1, message
    assert "constraint ck_orders_qty on table orders depend on column qty" in message


MARIADB_BASE = revision("0001", None, "import sqlalchemy as sa\nfrom alembic import op\n", '''\
    op.create_table("users", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("email", sa.String(100)))
    op.execute("INSERT INTO users (id, email) VALUES (1, 'a@x.org'), (2, 'b@x.org')")
    ''', 'op.drop_table("users")\n')

MARIADB_CHANGE = revision("0002", "0001", "import sqlalchemy as sa\nfrom alembic import op\n",
                          '''\
    op.add_column("users", sa.Column("period", sa.String(10), server_default="%Y-%m",
                                     nullable=True, comment="50% weight"))
    ''', 'op.drop_column("users", "period")\n')


@pytest.mark.mysql
@pytest.mark.parametrize("two_databases", ["mysql"], indirect=True)
def test_mariadb_percent_in_a_default_and_a_comment_is_written_once(
        tmp_path: Path, two_databases: tuple[str, str]) -> None:
    naive_url, fixed_url = two_databases
    naive = project(tmp_path / "naive", naive_url, {
        "0001_base.py": MARIADB_BASE, "0002_change.py": MARIADB_CHANGE},
        toml='[tool.sluice.lint]\ntarget_mysql_version = "mariadb-10.11"\n')
    fixed = fixed_copy(naive, naive_url, fixed_url, "mysql")
    after = (fixed / "migrations" / "versions" / "0002_change.py").read_text(encoding="utf-8")
    assert "ALGORITHM=" in after and "%%" not in after
    alembic(naive, naive_url, "upgrade", "head")
    alembic(fixed, fixed_url, "upgrade", "head")
    want = catalog(naive_url)
    assert ("users.period", "'%Y-%m' / 50% weight") in want["catalog"]
    assert_same(want, catalog(fixed_url), after)


PG_KEPT_BASE = revision("0001", None, "import sqlalchemy as sa\nfrom alembic import op\n", '''\
    op.create_table("orders", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("qty", sa.Integer()),
                    sa.Column("placed", sa.DateTime(), server_default=sa.text("now()")))
    op.execute("INSERT INTO orders SELECT g, g, now() FROM generate_series(1, 200) AS g")
    ''', 'op.drop_table("orders")\n')

#: A type change on a column the revision constrains (left as written, by the second
#: run too, and in the downgrade, where the check still stands); ``existing_server_default``
#: as SQL text, as autogenerate writes it.
PG_KEPT = revision("0002", "0001", "import sqlalchemy as sa\nfrom alembic import op\n", '''\
    op.create_check_constraint("ck_orders_qty", "orders", "qty >= 0")
    op.alter_column("orders", "qty", existing_type=sa.Integer(), type_=sa.BigInteger())
    op.alter_column("orders", "placed", existing_type=sa.DateTime(), nullable=False,
                    existing_server_default=sa.text("now()"))
    ''', '''\
    op.alter_column("orders", "placed", existing_type=sa.DateTime(), nullable=True,
                    existing_server_default=sa.text("now()"))
    op.alter_column("orders", "qty", existing_type=sa.BigInteger(), type_=sa.Integer())
    op.drop_constraint("ck_orders_qty", "orders", type_="check")
    ''')


@pytest.mark.postgres
@pytest.mark.parametrize("two_databases", ["postgresql"], indirect=True)
def test_postgres_a_type_change_beside_a_constraint_stays_runnable_both_ways(
        tmp_path: Path, two_databases: tuple[str, str]) -> None:
    naive_url, fixed_url = two_databases
    naive = project(tmp_path / "naive", naive_url, {"0001_base.py": PG_KEPT_BASE,
                                                    "0002_kept.py": PG_KEPT})
    fixed = fixed_copy(naive, naive_url, fixed_url, "postgresql")  # a second run: no change
    after = (fixed / "migrations" / "versions" / "0002_kept.py").read_text(encoding="utf-8")
    assert "existing_server_default=sa.text('now()')" in after
    assert after.count('op.alter_column("orders", "qty"') == 2, after
    alembic(naive, naive_url, "upgrade", "0001")
    start = catalog(naive_url)
    alembic(naive, naive_url, "upgrade", "head")
    alembic(fixed, fixed_url, "upgrade", "head")
    assert_same(catalog(naive_url), catalog(fixed_url), after)
    alembic(fixed, fixed_url, "downgrade", "0001")  # the expand and contract stopped here
    assert_same(start, catalog(fixed_url), after)


MARIADB_CHECKED = revision("0002", "0001", "import sqlalchemy as sa\nfrom alembic import op\n",
                           '''\
    op.add_column("users", sa.Column("active", sa.Boolean(create_constraint=True),
                                     server_default=sa.text("1"), nullable=False))
    op.add_column("users", sa.Column("kind", sa.Enum("a", "b", name="user_kind",
                                                     native_enum=False, create_constraint=True),
                                     nullable=True))
    op.add_column("users", sa.Column("note", sa.String(20), nullable=True))
    ''', 'op.drop_column("users", "note")\nop.drop_column("users", "kind")\n'
         'op.drop_column("users", "active")\n')


@pytest.mark.mysql
@pytest.mark.parametrize("two_databases", ["mysql"], indirect=True)
def test_mariadb_a_column_keeps_the_check_its_type_makes(
        tmp_path: Path, two_databases: tuple[str, str]) -> None:
    naive_url, fixed_url = two_databases
    naive = project(tmp_path / "naive", naive_url, {
        "0001_base.py": MARIADB_BASE, "0002_checked.py": MARIADB_CHECKED},
        toml='[tool.sluice.lint]\ntarget_mysql_version = "mariadb-10.11"\n')
    fixed = fixed_copy(naive, naive_url, fixed_url, "mysql")
    after = (fixed / "migrations" / "versions" / "0002_checked.py").read_text(encoding="utf-8")
    assert "ADD COLUMN IF NOT EXISTS note" in after  # the plain column is still rewritten
    alembic(naive, naive_url, "upgrade", "head")
    alembic(fixed, fixed_url, "upgrade", "head")

    def checks(url: str) -> list[tuple[str, str]]:
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT constraint_name, check_clause FROM information_schema.check_constraints "
                "WHERE constraint_schema = database() ORDER BY 1").all()
        engine.dispose()
        return [tuple(r) for r in rows]

    assert len(checks(naive_url)) == 2
    assert checks(fixed_url) == checks(naive_url), after
    assert_same(catalog(naive_url), catalog(fixed_url), after)


PG_NO_KEY_BASE = revision("0001", None, "import sqlalchemy as sa\nfrom alembic import op\n", '''\
    op.create_table("roles", sa.Column("user_id", sa.Integer()), sa.Column("role", sa.String(20)))
    op.execute("INSERT INTO roles SELECT g, 'r' FROM generate_series(1, 50) AS g")
    ''', 'op.drop_table("roles")\n')

PG_NO_KEY = revision("0002", "0001", "import sqlalchemy as sa\nfrom alembic import op\n", '''\
    op.add_column("roles", sa.Column("token", sa.String(36), nullable=False,
                                     server_default=sa.text("gen_random_uuid()::text")))
    ''', 'op.drop_column("roles", "token")\n')


@pytest.mark.postgres
@pytest.mark.parametrize("two_databases", ["postgresql"], indirect=True)
def test_postgres_a_backfill_without_a_key_to_walk_stops_before_adding_anything(
        tmp_path: Path, two_databases: tuple[str, str]) -> None:
    """The batched backfill walks the primary key: on a table without one, the fixed
    revision stops before the column is added (not after, with the column committed
    and every rerun stopping at the backfill)."""
    naive_url, fixed_url = two_databases
    naive = project(tmp_path / "naive", naive_url, {"0001_base.py": PG_NO_KEY_BASE,
                                                    "0002_no_key.py": PG_NO_KEY})
    fixed = fixed_copy(naive, naive_url, fixed_url, "postgresql")
    alembic(fixed, fixed_url, "upgrade", "0001")
    before = catalog(fixed_url)
    for _ in range(2):
        with pytest.raises(sa.exc.DBAPIError, match=r"table roles has no primary key for "
                           r"the batched backfill to walk"):
            alembic(fixed, fixed_url, "upgrade", "head")
        assert_same(before, catalog(fixed_url), "nothing added")


PG_QUALIFIED_BASE = revision("0001", None, "import sqlalchemy as sa\nfrom alembic import op\n", '''\
    op.create_table("user", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("name", sa.Text()), sa.Column("fullname", sa.Text()))
    op.execute("""INSERT INTO "user" SELECT g, 'n' || g, 'f' || g FROM generate_series(1, 50) AS g""")
    ''', 'op.drop_table("user")\n')

#: Expressions naming their table, as hand-written ones do (ckan's ``"user".fullname``).
PG_QUALIFIED = revision("0002", "0001", "import sqlalchemy as sa\nfrom alembic import op\n", '''\
    op.create_index("idx_user_name_index", "user", [sa.text(
        '(CASE WHEN ("user".fullname IS NULL OR "user".fullname = \\'\\') '
        'THEN "user".name ELSE "user".fullname END)')])
    op.create_index("ix_user_named", "user", ["name"],
                    postgresql_where=sa.text('"user".fullname IS NOT NULL'))
    ''', '''\
    op.drop_index("ix_user_named", table_name="user")
    op.drop_index("idx_user_name_index", table_name="user")
    ''')


@pytest.mark.postgres
@pytest.mark.parametrize("two_databases", ["postgresql"], indirect=True)
def test_postgres_a_rerun_keeps_an_index_whose_expression_names_its_table(
        tmp_path: Path, two_databases: tuple[str, str]) -> None:
    """A rerun compares the index in place with the one built on an empty copy of the
    table: the copy has the table's name, so that ``"user".fullname`` means its column."""
    naive_url, fixed_url = two_databases
    naive = project(tmp_path / "naive", naive_url, {"0001_base.py": PG_QUALIFIED_BASE,
                                                    "0002_qualified.py": PG_QUALIFIED})
    fixed = fixed_copy(naive, naive_url, fixed_url, "postgresql")
    alembic(naive, naive_url, "upgrade", "head")
    want = catalog(naive_url)
    alembic(fixed, fixed_url, "upgrade", "head")
    alembic(fixed, fixed_url, "stamp", "0001")  # killed before Alembic recorded it
    alembic(fixed, fixed_url, "upgrade", "head")
    assert_same(want, catalog(fixed_url), "the indexes kept")
