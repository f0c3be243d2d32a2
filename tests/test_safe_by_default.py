"""``safe_by_default``: the real ``alembic revision --autogenerate`` writes the safe recipe of
a dangerous operation instead of refusing it, on PostgreSQL and MariaDB; the written
revisions lint clean, upgrade and downgrade on the server, and ``sluice fix`` finds
nothing left to rewrite in them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.util import CommandError

from sluice.recipes import RecipeContext, fix_file
from tests.support.cli import run_cli
from tests.support.project import autogenerate, cfg, edit, upgrade
from tests.support.safe_by_default import (
    FULL_NAME,
    INDEXED,
    MODELS,
    NICKNAME,
    TOKEN,
    change_models,
    columns,
    configure,
)


def lint_findings(shop: Path, dialect: str) -> list[dict[str, object]]:
    result = run_cli(["lint", "-c", str(shop / "alembic.ini"), "--dialect",
                      dialect, "--no-cache", "--format", "json",
                      "--fail-on", "error"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    findings: list[dict[str, object]] = data["findings"] if isinstance(data, dict) else data
    return findings


def assert_fixed_point(paths: list[Path], ctx: RecipeContext) -> None:
    """``sluice fix`` has nothing to rewrite in what safe_by_default wrote."""
    for path in paths:
        fix = fix_file(path, ctx)
        assert not fix.changed, fix.diff()


def indexes(url: str, table: str) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        return {str(i["name"]) for i in sa.inspect(engine).get_indexes(table)}
    finally:
        engine.dispose()


# ------------------------------------------------------------------------- PostgreSQL


@pytest.mark.postgres
def test_postgres_index_and_backfilled_column_are_written_safe(shop: Path, pg_url: str) -> None:
    configure(shop)
    upgrade(shop, pg_url)
    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO users (id, email, full_name) SELECT g, "
                             "'u' || g || '@x.org', 'n' || g FROM generate_series(100, 400) g")
    engine.dispose()
    change_models(shop, INDEXED, TOKEN)

    expand, contract = sorted(autogenerate(shop, pg_url), key=lambda p: "contract" in p.name)
    first, second = expand.read_text(), contract.read_text()
    # the index: concurrently, in an autocommit block, an INVALID leftover dropped first
    assert "with op.get_context().autocommit_block():" in first
    assert "postgresql_concurrently=True, if_not_exists=True" in first
    assert "AND NOT indisvalid" in first
    # the column: added empty, default set, backfilled in batches; NOT NULL in the contract
    assert "nullable=True), if_not_exists=True" in first
    assert "batched_update('users', {'token':" in first
    assert "nullable=False" not in first.split("def downgrade")[0]
    assert 'sluice_phase = "expand"' in first and 'sluice_phase = "contract"' in second
    assert f"down_revision: Union[str, Sequence[str], None] = '{expand.name[:12]}'" in second
    assert "VALIDATE CONSTRAINT ck_users_token_not_null" in second
    assert "nullable=False" in second.split("def downgrade")[0]
    assert "nullable=True" in second.split("def downgrade")[1]
    # the downgrade drops the index concurrently too
    assert "op.drop_index(op.f('ix_users_full_name'), table_name='users', " \
           "postgresql_concurrently=True, if_exists=True)" in first
    # the review header names each rewritten op, the rule and the recipe
    assert ("#   [recipe] create_index users (ix_users_full_name)  SL201 error -> "
            "pg-create-index-concurrently") in first
    assert "#   [recipe] add_column users.token" in first
    assert "SL207 error -> pg-add-column-backfill\n" in first
    assert "SL207 error -> pg-add-column-backfill (steps after the backfill)" in second
    assert ("sluice: safe_by_default: create_index users (ix_users_full_name) [SL201 "
            "create-index-non-concurrently] written as recipe pg-create-index-concurrently"
            in first)

    findings = lint_findings(shop, "postgresql")
    mine = [f for f in findings if str(f["path"]).endswith((expand.name, contract.name))]
    assert not [f for f in mine if f["severity"] in ("error", "warning")], mine
    # no suppression where lint does not read (the downgrades): none unused (SL902)
    assert not [f for f in mine if f["rule"] == "SL902"], mine
    assert "sluice: ignore" not in first.split("def downgrade")[1]
    assert "sluice: ignore" not in second.split("def downgrade")[1]
    assert_fixed_point([expand, contract], RecipeContext("postgresql"))

    upgrade(shop, pg_url)
    assert columns(pg_url, "users")["token"] is False
    assert "ix_users_full_name" in indexes(pg_url, "users")
    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM users WHERE token IS NULL").scalar() == 0
        assert conn.exec_driver_sql("SELECT count(*) FROM pg_constraint WHERE conname = "
                                    "'ck_users_token_not_null'").scalar() == 0
    engine.dispose()
    command.downgrade(cfg(shop, pg_url), "0002")
    assert "token" not in columns(pg_url, "users")
    assert "ix_users_full_name" not in indexes(pg_url, "users")
    upgrade(shop, pg_url)  # and up again
    assert columns(pg_url, "users")["token"] is False


@pytest.mark.postgres
def test_postgres_off_refuses_as_before(shop: Path, pg_url: str) -> None:
    upgrade(shop, pg_url)
    change_models(shop, INDEXED)
    with pytest.raises(CommandError, match=r"create_index .*\[SL201 create-index-non-concurrently\]"):
        autogenerate(shop, pg_url)
    assert len(list((shop / "migrations" / "versions").glob("*.py"))) == 2


@pytest.mark.postgres
def test_postgres_per_environment(shop: Path, pg_url: str) -> None:
    text = (shop / "sluice.toml").read_text(encoding="utf-8")
    (shop / "sluice.toml").write_text(
        text.replace("[environments.staging]\n",
                     "[environments.staging]\nsafe_by_default = true\n"), encoding="utf-8")
    upgrade(shop, pg_url)
    change_models(shop, INDEXED)
    with pytest.raises(CommandError, match=r"SL201"):
        autogenerate(shop, pg_url)  # default environment: dev, safe_by_default off
    (path,) = autogenerate(shop, pg_url, "env=staging")
    assert "postgresql_concurrently=True" in path.read_text()


@pytest.mark.postgres
def test_postgres_op_without_recipe_is_still_refused(shop: Path, pg_url: str) -> None:
    """SET NOT NULL has a recipe (SL206) but nothing says what the NULL rows should hold
    (SL102): refused, naming only the rule no recipe answers."""
    configure(shop)
    upgrade(shop, pg_url)
    edit(shop.joinpath(*MODELS), "legacy_field: Mapped[str | None] = mapped_column(String(50))",
         "legacy_field: Mapped[str] = mapped_column(String(50))")
    with pytest.raises(CommandError) as err:
        autogenerate(shop, pg_url)
    msg = str(err.value)
    assert "refused 1 dangerous operation" in msg
    assert "SL102 set-not-null-without-default" in msg
    assert "SL206" not in msg


@pytest.mark.postgres
def test_postgres_lossy_type_change_is_refused_not_written_as_a_recipe(shop: Path,
                                                                       pg_url: str) -> None:
    """A narrowing SL101 reports: SL208's expand and contract cannot make it safe (values
    that do not fit still fail), and written, its SQL would hide SL101 from lint and the
    production guard. Refused with SL101's explanation (and SL208's), as without
    safe_by_default; with dangerous_ops = "warn", written as generated, where lint sees
    it."""
    configure(shop)
    upgrade(shop, pg_url)
    edit(shop.joinpath(*MODELS), "    name: Mapped[str] = mapped_column(String(200))",
         "    name: Mapped[str] = mapped_column(String(50))")
    with pytest.raises(CommandError) as err:
        autogenerate(shop, pg_url)
    msg = str(err.value)
    assert "alter_column products.name [SL101 lossy-type-change]: changes the type of " \
           "products.name: length shrinks from 200 to 50" in msg
    assert "Add a new nullable column next to name with the new type." in msg
    assert "alter_column products.name [SL208 type-change-rewrites-table]" in msg
    assert len(list((shop / "migrations" / "versions").glob("*.py"))) == 2

    toml = shop / "sluice.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'dangerous_ops = "error"', 'dangerous_ops = "warn"'), encoding="utf-8")
    (path,) = autogenerate(shop, pg_url)
    up = path.read_text(encoding="utf-8").split("def downgrade")[0]
    assert "op.alter_column('products', 'name'" in up and "autocommit_block" not in up
    result = run_cli(["lint", "-c", str(shop / "alembic.ini"), "--dialect", "postgresql",
                      "--no-cache", "--format", "json", str(path)])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    rules = {f["rule"] for f in (data["findings"] if isinstance(data, dict) else data)}
    assert {"SL101", "SL208"} <= rules


@pytest.mark.postgres
def test_postgres_allowed_op_is_written_as_generated(shop: Path, pg_url: str) -> None:
    configure(shop)
    upgrade(shop, pg_url)
    change_models(shop, INDEXED)
    (path,) = autogenerate(shop, pg_url, "allow=create_index:users.ix_users_full_name")
    text = path.read_text()
    assert "postgresql_concurrently" not in text.split("def downgrade")[0]
    assert "# sluice: allowed create_index:users.ix_users_full_name" in text


@pytest.mark.postgres
def test_postgres_split_none_keeps_one_revision(shop: Path, pg_url: str) -> None:
    configure(shop)
    upgrade(shop, pg_url)
    change_models(shop, FULL_NAME, TOKEN)
    (path,) = autogenerate(shop, pg_url, "split=none")
    text = path.read_text()
    assert "batched_update(" in text and "VALIDATE CONSTRAINT" in text
    assert "sluice_phase" not in text
    upgrade(shop, pg_url)
    assert columns(pg_url, "users")["token"] is False


@pytest.mark.postgres
def test_postgres_recipe_steps_join_the_expand_contract_split(shop: Path, pg_url: str) -> None:
    """With expand_contract on, the drop goes to the contract revision and the recipe's
    late steps join it there: two revisions, not three."""
    configure(shop, top="safe_by_default = true\nexpand_contract = true\n")
    upgrade(shop, pg_url)
    change_models(shop, FULL_NAME, TOKEN)
    edit(shop.joinpath(*MODELS),
         "    legacy_field: Mapped[str | None] = mapped_column(String(50))\n", "")
    paths = autogenerate(shop, pg_url, "allow=drop_column:users.legacy_field")
    assert len(paths) == 2, [p.name for p in paths]
    expand, contract = sorted(paths, key=lambda p: "contract" in p.name)
    second = contract.read_text()
    assert "op.drop_column('users', 'legacy_field')" in second
    assert "VALIDATE CONSTRAINT ck_users_token_not_null" in second
    assert "batched_update(" in expand.read_text()
    upgrade(shop, pg_url)
    assert columns(pg_url, "users")["token"] is False
    command.downgrade(cfg(shop, pg_url), "0002")
    assert "token" not in columns(pg_url, "users")
    assert "legacy_field" in columns(pg_url, "users")


# ---------------------------------------------------------------------------- MariaDB


@pytest.mark.mysql
def test_mariadb_index_and_column_state_their_algorithm(shop: Path, mysql_url: str) -> None:
    configure(shop, '\n[lint]\ntarget_mysql_version = "mariadb-10.11"\n')
    upgrade(shop, mysql_url)
    change_models(shop, INDEXED, NICKNAME)
    (path,) = autogenerate(shop, mysql_url)
    text = path.read_text()
    up = text.split("def downgrade")[0]
    assert "ALGORITHM=NOCOPY, LOCK=NONE" in up
    assert "ADD INDEX IF NOT EXISTS ix_users_full_name (full_name)" in up
    assert "ADD COLUMN IF NOT EXISTS nickname VARCHAR(30)" in up
    assert "ALGORITHM=INSTANT" in up
    assert "SET SESSION lock_wait_timeout" in up
    assert "#   [recipe] create_index users (ix_users_full_name)  mysql-create-index-inplace" in text
    findings = lint_findings(shop, "mysql")
    mine = [f for f in findings if str(f["path"]).endswith(path.name)]
    assert not [f for f in mine if f["severity"] == "error"], mine
    assert_fixed_point([path], RecipeContext("mysql", target_mysql_version="mariadb-10.11"))

    upgrade(shop, mysql_url)
    assert "nickname" in columns(mysql_url, "users")
    assert "ix_users_full_name" in indexes(mysql_url, "users")
    command.downgrade(cfg(shop, mysql_url), "0002")
    assert "nickname" not in columns(mysql_url, "users")
    assert "ix_users_full_name" not in indexes(mysql_url, "users")


@pytest.mark.mysql
def test_mariadb_drop_without_recipe_is_refused(shop: Path, mysql_url: str) -> None:
    configure(shop, '\n[lint]\ntarget_mysql_version = "mariadb-10.11"\n')
    upgrade(shop, mysql_url)
    edit(shop.joinpath(*MODELS),
         "    legacy_field: Mapped[str | None] = mapped_column(String(50))\n", "")
    with pytest.raises(CommandError, match=r"drop_column users.legacy_field \[SL002"):
        autogenerate(shop, mysql_url)


@pytest.mark.postgres
def test_postgres_several_dialects_judge_as_without_it(
        shop: Path, pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A recipe written for PostgreSQL would break the revision on SQLite: with both in
    lint.dialects the policy warns and refuses as before."""
    configure(shop, '\n[lint]\ndialects = ["postgresql", "sqlite"]\n')
    upgrade(shop, pg_url)
    change_models(shop, INDEXED)
    with pytest.raises(CommandError, match=r"SL201"):
        autogenerate(shop, pg_url)
    assert "safe_by_default writes recipes for one dialect" in capsys.readouterr().err


def test_sqlite_has_no_recipes_and_writes_as_before(shop: Path) -> None:
    """No recipe is written for SQLite: a new index there blocks nothing worth a recipe,
    and the revision is the one Alembic generates."""
    url = f"sqlite:///{shop / 'dev.db'}"
    configure(shop)
    upgrade(shop, url)
    change_models(shop, INDEXED)
    (path,) = autogenerate(shop, url)
    text = path.read_text()
    assert "batch_op.create_index(batch_op.f('ix_users_full_name'), ['full_name']" in text
    assert "[recipe]" not in text and "autocommit_block" not in text


def column_types(url: str, table: str) -> dict[str, str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        return {c["name"]: str(c["type"]) for c in sa.inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_type_change_is_split_into_expand_and_contract(shop: Path,
                                                                 pg_url: str) -> None:
    """INTEGER to BIGINT on a NOT NULL column: the new column, its trigger and the backfill
    in the expand revision, the swap in the contract revision; both directions run, and
    downgrading an expand revision whose contract never ran restores the old column."""
    configure(shop)
    upgrade(shop, pg_url)
    models = shop.joinpath(*MODELS)
    edit(models, "from sqlalchemy import ForeignKey,", "from sqlalchemy import BigInteger, ForeignKey,")
    edit(models, "quantity: Mapped[int] = mapped_column(default=1)",
         "quantity: Mapped[int] = mapped_column(BigInteger, default=1)")
    expand, contract = sorted(autogenerate(shop, pg_url), key=lambda p: "contract" in p.name)
    first, second = expand.read_text(), contract.read_text()
    up1, up2 = first.split("def downgrade")[0], second.split("def downgrade")[0]
    assert "ADD COLUMN quantity__new BIGINT" in up1 and "batched_update('orders'" in up1
    assert "RENAME COLUMN quantity__new TO quantity" not in up1
    assert "RENAME COLUMN quantity__new TO quantity" in up2
    assert "VALIDATE CONSTRAINT ck_orders_quantity_not_null" in up2
    assert "SL208 error -> pg-alter-type-expand-contract" in first
    findings = lint_findings(shop, "postgresql")
    mine = [f for f in findings if str(f["path"]).endswith((expand.name, contract.name))]
    assert not [f for f in mine if f["severity"] in ("error", "warning")], mine
    assert not [f for f in mine if f["rule"] == "SL902"], mine  # no unused suppression
    assert "sluice: ignore" not in first.split("def downgrade")[1]
    assert "sluice: ignore" not in second.split("def downgrade")[1]
    assert_fixed_point([expand, contract], RecipeContext("postgresql"))

    # the expand revision alone, then its downgrade: the half-done change is undone
    upgrade(shop, pg_url, rev=expand.name[:12])
    assert column_types(pg_url, "orders")["quantity__new"] == "BIGINT"
    command.downgrade(cfg(shop, pg_url), "0002")
    types = column_types(pg_url, "orders")
    assert types["quantity"] == "INTEGER" and "quantity__new" not in types
    # the whole change, then back
    upgrade(shop, pg_url)
    types = column_types(pg_url, "orders")
    assert types["quantity"] == "BIGINT" and "quantity__new" not in types
    assert columns(pg_url, "orders")["quantity"] is False
    command.downgrade(cfg(shop, pg_url), "0002")
    types = column_types(pg_url, "orders")
    assert types["quantity"] == "INTEGER" and "quantity__new" not in types
    assert columns(pg_url, "orders")["quantity"] is False
    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        leftovers = conn.exec_driver_sql(
            "SELECT (SELECT count(*) FROM pg_trigger WHERE tgname = 'quantity__sync') + "
            "(SELECT count(*) FROM pg_proc WHERE proname = 'orders_quantity__sync')").scalar()
        nulls = conn.exec_driver_sql("SELECT count(*) FROM orders WHERE quantity IS NULL").scalar()
    engine.dispose()
    assert (leftovers, nulls) == (0, 0)


def test_rewrite_ops_tells_schemas_apart_and_keeps_a_column_something_depends_on() -> None:
    """As `sluice fix`: a table created in another schema is not the existing one of the
    same name, and a type change of a column the revision indexes or constrains first is
    not rebuilt beside it (the expand and contract would drop what depends on it)."""
    from alembic.operations import ops

    from sluice.policy.safe import Rewrite, rewrite_ops

    created = ops.CreateTableOp("plain", [sa.Column("id", sa.Integer, primary_key=True)],
                                schema="archive")
    index = ops.CreateIndexOp("ix_plain_n", "plain", ["n"])
    check = ops.CreateCheckConstraintOp("ck_orders_qty", "orders", "qty >= 0")
    qty, total = (ops.AlterColumnOp("orders", c, existing_type=sa.Integer(),
                                    modify_type=sa.BigInteger()) for c in ("qty", "total"))
    done = rewrite_ops([created, index, check, qty, total], RecipeContext("postgresql"),
                       lambda o: False, make=lambda o, applied: Rewrite(o, applied),
                       phase="upgrade", contract=None)
    assert [r.model for r in done] == [index, check, total]


def test_postgres_integer_narrowing_is_refused_not_written_as_a_recipe(shop: Path,
                                                                       pg_url: str) -> None:
    """INTEGER to SMALLINT rejects every value past 32767: the expand and contract
    recipe would fail in its backfill with the sync trigger installed, so it is refused
    as SL101 like any other lossy change."""
    configure(shop)
    upgrade(shop, pg_url)
    models = shop.joinpath(*MODELS)
    edit(models, "from sqlalchemy import ForeignKey,", "from sqlalchemy import SmallInteger, ForeignKey,")
    edit(models, "    quantity: Mapped[int] = mapped_column(default=1)",
         "    quantity: Mapped[int] = mapped_column(SmallInteger, default=1)")
    with pytest.raises(CommandError) as err:
        autogenerate(shop, pg_url)
    msg = str(err.value)
    assert "alter_column orders.quantity [SL101 lossy-type-change]" in msg
    assert "values outside -32768 to 32767 fail" in msg
    assert len(list((shop / "migrations" / "versions").glob("*.py"))) == 2
