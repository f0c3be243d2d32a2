"""Recipes under a naming convention: env.py's ``target_metadata`` carries one, plain
Alembic applies it to the names its ops are given when the revision runs, and the revision
``sluice fix`` rewrote creates the same names (the SQL steps ask
:func:`sluice.recipes.naming.conventional_name` at run time), downgrades with the
revision's own ``drop_constraint``, reruns, and renders offline."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.operations import Operations, ops
from alembic.runtime.migration import MigrationContext

from sluice.check.snapshot import Snapshot, diff_snapshots, take_snapshot
from sluice.core.project import alembic_config
from sluice.recipes import RecipeContext, apply_recipes, fix_source
from sluice.recipes.naming import conventional_name
from sluice.recipes.steps import autogen_context, render_lines
from tests.support.cli import run_cli
from tests.support.databases import DatabasePool
from tests.support.modules import forget_modules
from tests.support.revisions import revision_source

ALEMBIC = str(Path(sys.executable).with_name("alembic"))

#: The convention SQLAlchemy's documentation recommends.
RECOMMENDED = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
#: One that changes the explicit name of every kind it can (its template names it; a
#: primary key's cannot: every table Alembic builds has an unnamed one, which such a
#: template refuses).
EVERY_KIND = {
    "ix": "ix_%(constraint_name)s",
    "uq": "uq_%(table_name)s_%(constraint_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(constraint_name)s",
    "pk": "pk_%(table_name)s",
}

ENV_PY = '''\
import sqlalchemy as sa
from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
target_metadata = sa.MetaData(naming_convention={convention!r})

if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"),
                      target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = engine_from_config(config.get_section(config.config_ini_section),
                                prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
'''

BASE = '''\
op.create_table("users", sa.Column("id", sa.Integer(), primary_key=True),
                sa.Column("email", sa.String(100)))
op.create_table("orders", sa.Column("id", sa.Integer(), primary_key=True),
                sa.Column("user_id", sa.Integer()), sa.Column("total", sa.Integer()))
op.create_table("events", sa.Column("id", sa.Integer(), nullable=False))
op.create_table("items", sa.Column("id", sa.Integer(), primary_key=True),
                sa.Column("price", sa.Integer()))
op.execute("INSERT INTO users SELECT g, 'u' || g || '@x.org' FROM generate_series(1, 200) g")
op.execute("INSERT INTO orders SELECT g, g % 200 + 1, g FROM generate_series(1, 300) g")
op.execute("INSERT INTO events SELECT g FROM generate_series(1, 200) g")
op.execute("INSERT INTO items SELECT g, g FROM generate_series(1, 200) g")
'''
BASE_DOWN = '''\
op.drop_table("items")
op.drop_table("events")
op.drop_table("orders")
op.drop_table("users")
'''


def _project(root: Path, url: str, convention: dict[str, str], upgrade: str,
             downgrade: str) -> Path:
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    ini = root / "alembic.ini"
    ini.write_text(f"[alembic]\nscript_location = %(here)s/migrations\nsqlalchemy.url = {url}\n",
                   encoding="utf-8")
    (root / "migrations" / "env.py").write_text(ENV_PY.format(convention=convention),
                                                encoding="utf-8")
    (root / "migrations" / "script.py.mako").write_text("", encoding="utf-8")
    (versions / "0001_base.py").write_text(revision_source("0001", None, BASE, BASE_DOWN),
                                           encoding="utf-8")
    (versions / "0002_change.py").write_text(
        revision_source("0002", "0001", upgrade + "\n", downgrade + "\n"), encoding="utf-8")
    return ini


def _alembic(ini: Path, url: str, fn: str, rev: str) -> None:
    forget_modules(ini.parent)
    getattr(command, fn)(alembic_config(ini, url=url, stdout=io.StringIO()), rev)


def _fix(ini: Path) -> str:
    result = run_cli(["fix", "-c", str(ini), "--dialect", "postgresql"])
    assert result.exit_code == 0, result.output
    assert "rewrote" in result.stderr, result.output
    return (ini.parent / "migrations" / "versions" / "0002_change.py").read_text(encoding="utf-8")


def _snapshot(url: str) -> Snapshot:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return take_snapshot(conn, schemas=[None], skip={"alembic_version"})
    finally:
        engine.dispose()


def _names(url: str) -> set[str]:
    """Every constraint and index name of the tables, with validity: ``name`` when
    valid, ``name (invalid)`` when not."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT conname, convalidated FROM pg_constraint c JOIN pg_class t "
                "ON t.oid = c.conrelid WHERE t.relname IN ('users', 'orders', 'events', "
                "'items') UNION ALL SELECT i.relname, x.indisvalid FROM pg_index x "
                "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t "
                "ON t.oid = x.indrelid WHERE t.relname IN ('users', 'orders', 'events', "
                "'items')").all()
    finally:
        engine.dispose()
    return {name if ok else f"{name} (invalid)" for name, ok in rows}


def _offline(ini: Path) -> str:
    done = subprocess.run([ALEMBIC, "-c", str(ini), "upgrade", "0001:0002", "--sql"],
                          capture_output=True, text=True, cwd=ini.parent, check=False,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture
def two_urls(pg_databases: DatabasePool) -> Iterator[tuple[str, str]]:
    """Two fresh PostgreSQL databases (the conftest's, made ahead)."""
    with pg_databases.fresh() as a, pg_databases.fresh() as b:
        yield a, b


# ------------------------------------------------------------ the reported revision


@pytest.mark.postgres
def test_check_constraint_under_the_recommended_convention_round_trips(
        tmp_path: Path, pg_url: str) -> None:
    """The probe's revision: `sluice fix` rewrote `create_check_constraint` into SQL that
    named the constraint `price_positive`, while the revision's `drop_constraint` drops
    what plain Alembic names it, `ck_items_price_positive`: the downgrade failed."""
    ini = _project(tmp_path, pg_url, RECOMMENDED,
                   'op.create_check_constraint("price_positive", "items", "price >= 0")',
                   'op.drop_constraint("price_positive", "items", type_="check")')
    after = _fix(ini)
    assert "price_positive" in after
    _alembic(ini, pg_url, "upgrade", "0001")
    before = _names(pg_url)
    _alembic(ini, pg_url, "upgrade", "head")
    assert _names(pg_url) - before == {"ck_items_price_positive"}, after
    # a rerun after every step ran (no version row written) finds the constraint there
    _alembic(ini, pg_url, "stamp", "0001")
    _alembic(ini, pg_url, "upgrade", "head")
    assert _names(pg_url) - before == {"ck_items_price_positive"}
    _alembic(ini, pg_url, "downgrade", "0001")
    assert _names(pg_url) == before
    _alembic(ini, pg_url, "upgrade", "head")
    assert _names(pg_url) - before == {"ck_items_price_positive"}

    sql = _offline(ini)  # alembic upgrade --sql: the same name, nothing read
    assert "ADD CONSTRAINT ck_items_price_positive CHECK (price >= 0) NOT VALID" in sql
    assert "VALIDATE CONSTRAINT ck_items_price_positive" in sql
    # the fixed revision lints clean, rendered offline, and is a fixed point
    lint = run_cli(["lint", "-c", str(ini), "--dialect", "postgresql", "--all",
                    "--no-cache", "--fail-on", "info"])
    assert lint.exit_code == 0, lint.output
    again = run_cli(["fix", "-c", str(ini), "--dialect", "postgresql", "--diff"])
    assert again.exit_code == 0 and again.stdout == "", again.output


# ---------------------------------------------------------- every recipe with a name


CASES = {
    "unique": ('op.create_unique_constraint("email", "users", ["email"])',
               'op.drop_constraint("email", "users", type_="unique")'),
    "unnamed-unique": ('op.create_unique_constraint(None, "users", ["email"])',
                       'op.drop_constraint("uq_users_email", "users", type_="unique")'),
    "unnamed-primary-key": ('op.create_primary_key(None, "events", ["id"])',
                            'op.drop_constraint("pk_events", "events", type_="primary")'),
    "foreign-key": ('op.create_foreign_key("user", "orders", "users", ["user_id"], ["id"])',
                    'op.drop_constraint("user", "orders", type_="foreignkey")'),
    "check": ('op.create_check_constraint("total", "orders", "total >= 0")',
              'op.drop_constraint("total", "orders", type_="check")'),
    "index": ('op.create_index("orders_total", "orders", ["total"])',
              'op.drop_index("orders_total", table_name="orders")'),
}
#: The name each gets under its convention (what plain Alembic creates).
EXPECTED = {"unique": "uq_users_email", "unnamed-unique": "uq_users_email",
            "unnamed-primary-key": "pk_events", "foreign-key": "fk_orders_user",
            "check": "ck_orders_total", "index": "ix_orders_total"}


@pytest.mark.postgres
@pytest.mark.parametrize("case", list(CASES))
def test_every_named_recipe_creates_the_name_plain_alembic_creates(
        tmp_path: Path, two_urls: tuple[str, str], case: str) -> None:
    """Under a convention that changes explicit names (and, for an unnamed constraint,
    the recommended one, which names it), the naive revision and the fixed one end in the
    same schema, the same names; the fixed one reruns and downgrades with the revision's
    own drop."""
    convention = RECOMMENDED if case.startswith("unnamed") else EVERY_KIND
    naive_url, url = two_urls
    upgrade, downgrade = CASES[case]
    naive = _project(tmp_path / "naive", naive_url, convention, upgrade, downgrade)
    ini = _project(tmp_path / "fixed", url, convention, upgrade, downgrade)
    after = _fix(ini)

    _alembic(naive, naive_url, "upgrade", "0001")
    start = _names(naive_url)
    _alembic(naive, naive_url, "upgrade", "head")
    assert _names(naive_url) - start == {EXPECTED[case]}  # plain Alembic's name
    _alembic(ini, url, "upgrade", "head")
    assert _names(url) - start == {EXPECTED[case]}, after
    assert diff_snapshots(_snapshot(naive_url), _snapshot(url)) == [], after
    _alembic(ini, url, "stamp", "0001")
    _alembic(ini, url, "upgrade", "head")
    assert _names(url) - start == {EXPECTED[case]}
    _alembic(ini, url, "downgrade", "0001")
    assert _names(url) == start
    assert EXPECTED[case] in _offline(ini)


@pytest.mark.postgres
def test_an_invalid_index_left_under_the_conventions_name_is_rebuilt(
        tmp_path: Path, pg_url: str) -> None:
    """A concurrent build killed half-way leaves an INVALID index under the name the
    convention gives it; the rerun drops that one (IF NOT EXISTS alone would keep it)."""
    ini = _project(tmp_path, pg_url, EVERY_KIND, *CASES["index"])
    _fix(ini)
    _alembic(ini, pg_url, "upgrade", "head")
    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE pg_index SET indisvalid = false "
                                 "WHERE indexrelid = 'ix_orders_total'::regclass")
    finally:
        engine.dispose()
    assert "ix_orders_total (invalid)" in _names(pg_url)
    _alembic(ini, pg_url, "stamp", "0001")
    _alembic(ini, pg_url, "upgrade", "head")
    assert "ix_orders_total" in _names(pg_url)


@pytest.mark.postgres
def test_without_a_convention_the_names_are_the_ops_own(tmp_path: Path, pg_url: str) -> None:
    ini = _project(tmp_path, pg_url, {}, *CASES["check"])
    (ini.parent / "migrations" / "env.py").write_text(
        ENV_PY.replace("sa.MetaData(naming_convention={convention!r})", "None"),
        encoding="utf-8")
    _fix(ini)
    _alembic(ini, pg_url, "upgrade", "0001")
    start = _names(pg_url)
    _alembic(ini, pg_url, "upgrade", "head")
    assert _names(pg_url) - start == {"total"}
    _alembic(ini, pg_url, "downgrade", "0001")
    assert _names(pg_url) == start


# ----------------------------------------------------------------- without a server


def _context(convention: dict[str, str] | None, dialect: str = "postgresql") -> MigrationContext:
    opts: dict[str, Any] = {"as_sql": True}
    if convention is not None:
        opts["target_metadata"] = sa.MetaData(naming_convention=convention)
    return MigrationContext.configure(dialect_name=dialect, opts=opts)


def test_conventional_name_applies_the_convention_as_alembic_does() -> None:
    every, recommended, plain = _context(EVERY_KIND), _context(RECOMMENDED), _context(None)
    assert conventional_name(every, "check", "total", "orders") == "ck_orders_total"
    assert conventional_name(plain, "check", "total", "orders") == "total"
    # a template without %(constraint_name)s leaves an explicit name alone
    assert conventional_name(recommended, "unique", "email", "users", ["email"]) == "email"
    assert conventional_name(recommended, "unique", None, "users", ["email"],
                             default="users_email_key") == "uq_users_email"
    assert conventional_name(plain, "unique", None, "users", ["email"],
                             default="users_email_key") == "users_email_key"
    assert conventional_name(recommended, "foreignkey", None, "orders", ["user_id"],
                             referent="users", referent_columns=["id"],
                             default="x") == "fk_orders_user_id_users"
    assert conventional_name(every, "index", "Orders_Total", "orders", ["total"],
                             schema="S").sql("DROP INDEX {qualified}; {literal}") == \
        "DROP INDEX \"S\".\"ix_Orders_Total\"; 'ix_Orders_Total'"
    # too long for PostgreSQL: truncated as SQLAlchemy truncates it for Alembic's DDL
    long = conventional_name(every, "check", "x" * 60, "orders")
    assert len(long) <= 63 and long.startswith("ck_orders_xxx") and long != "ck_orders_" + "x" * 60
    # an op.f() name is final, and MySQL quotes its own way
    assert conventional_name(every, "check", sa.sql.elements.conv("Total"), "t") == "Total"
    assert conventional_name(_context(EVERY_KIND, "mysql"), "index", "a b", "t", ["c"]) \
        .sql("{name}") == "`ix_a b`"
    with pytest.raises(ValueError, match="no name"):
        conventional_name(plain, "unique", None, "users", ["email"])


def test_an_op_f_name_is_written_out_and_any_other_is_asked_at_run_time() -> None:
    """`op.f()` (what autogenerate writes for a name a convention made) is final: the SQL
    spells it, as before. Any other name is the running migration's."""
    actx = autogen_context("postgresql")
    final = ops.CreateCheckConstraintOp(sa.sql.elements.conv("ck_t_a"), "t", "a > 0")
    text = "\n".join(line for o in apply_recipes([final], RecipeContext("postgresql")).ops
                     for line in render_lines(actx, o))
    assert "ADD CONSTRAINT ck_t_a CHECK (a > 0) NOT VALID" in text
    assert "conventional_name" not in text and not actx.imports
    named = ops.CreateCheckConstraintOp("a", "t", "a <> '{}'")
    text = "\n".join(line for o in apply_recipes([named], RecipeContext("postgresql")).ops
                     for line in render_lines(actx, o))
    assert "ck_name = conventional_name(op, 'check', 'a', 't')" in text
    assert "ADD CONSTRAINT {name} CHECK (a <> '{{}}') NOT VALID" in text.replace("\\'", "'")
    assert actx.imports == {"from sluice.recipes.naming import conventional_name"}


def test_fix_adds_the_import_and_the_rewrite_is_a_fixed_point() -> None:
    source = revision_source("0002", "0001",
                       'op.create_unique_constraint("uq_users_email", "users", ["email"])\n',
                       "pass\n")
    first = fix_source(source, RecipeContext("postgresql"))
    assert "from sluice.recipes.naming import conventional_name\n" in first.after
    assert "op.create_index(op.f(uq_name), 'users', ['email'], unique=True" in first.after
    compile(first.after, "rev.py", "exec")
    assert not fix_source(first.after, RecipeContext("postgresql")).changed


@pytest.mark.parametrize(("dialect", "call", "want"), [
    ("postgresql", 'op.create_unique_constraint("email", "users", ["email"])',
     "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS uq_users_email ON users (email);\n\n"
     "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = "
     "'uq_users_email' AND conrelid = to_regclass('users')) THEN ALTER TABLE users ADD "
     "CONSTRAINT uq_users_email UNIQUE USING INDEX uq_users_email; END IF; END $$;"),
    ("postgresql", 'op.create_index("orders_total", "orders", ["total"])',
     "to_regclass('ix_orders_total') AND NOT indisvalid) THEN DROP INDEX ix_orders_total;"),
    ("mysql", 'op.create_index("orders_total", "orders", ["total"])',
     "ALTER TABLE orders ADD INDEX ix_orders_total (total), ALGORITHM=INPLACE, LOCK=NONE;"),
])
def test_the_fixed_revision_renders_offline_under_the_convention(
        dialect: str, call: str, want: str) -> None:
    """What `alembic upgrade --sql` prints: the names the convention gives, nothing read
    (MySQL's recipe writes the index as SQL too)."""
    source = "import sqlalchemy as sa\nfrom alembic import op\n\n\ndef upgrade() -> None:\n" \
             f"    {call}\n"
    fixed = fix_source(source, RecipeContext(dialect))
    assert fixed.changed
    out = io.StringIO()
    context = MigrationContext.configure(dialect_name=dialect, opts={
        "as_sql": True, "output_buffer": out,
        "target_metadata": sa.MetaData(naming_convention=EVERY_KIND)})
    namespace: dict[str, Any] = {}
    exec(compile(fixed.after, "rev.py", "exec"), namespace)  # noqa: S102 - the fixed revision
    with Operations.context(context):
        namespace["upgrade"]()
    assert want in out.getvalue(), out.getvalue()
