"""Autogenerate noise: server defaults per dialect, and PostgreSQL enum values."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate.api import AutogenContext
from alembic.migration import MigrationContext
from alembic.operations import ops as alembic_ops
from alembic.util import CommandError

from sluice.policy import enums
from sluice.policy.defaults import canonical_default, normalize_default
from tests.support.multiservice import ms_autogenerate, ms_downgrade, ms_upgrade, upgrade_all
from tests.support.project import autogenerate, edit, upgrade

# --------------------------------------------------------------------------- canonical form


@pytest.mark.parametrize(("kind", "a", "b"), [
    ("number", "'0'", "0"),
    ("number", "'0'::integer", "0"),
    ("number", "(0)::numeric(10,2)", "0.00"),
    ("number", "'-1'::integer", "-1"),
    ("number", "((0))", "0"),
    ("number", "1.50", "'1.5'"),
    ("number", "1e3", "1000"),
    ("number", "-0", "0"),
    ("number", "'9007199254740993'::bigint", "9007199254740993.000"),
    ("datetime", "now()", "CURRENT_TIMESTAMP"),
    ("datetime", "current_timestamp()", "now()"),
    ("datetime", "current_timestamp(6)", "CURRENT_TIMESTAMP"),
    ("datetime", "(CURRENT_TIMESTAMP)", "transaction_timestamp()"),
    ("datetime", "datetime('now')", "CURRENT_TIMESTAMP"),
    ("boolean", "true", "1"),
    ("boolean", "false", "'0'"),
    ("boolean", "'f'", "0"),
    ("boolean", "b'1'", "TRUE"),
    ("string", "'draft'::character varying", "'draft'"),
    ("string", "'draft'::invoice_status", "'draft'"),
    ("string", "'draft'::public.invoice_status", "'draft'"),
    ("string", "''::character varying", "''"),
    ("string", "'it''s'", "'it\\'s'"),
    ("string", "0", "'0'"),
    (None, "'{}'::jsonb", "'{}'"),
    (None, "NULL", None),
])
def test_equal_defaults(kind: str | None, a: str, b: str | None) -> None:
    assert canonical_default(a, kind) == canonical_default(b, kind)


@pytest.mark.parametrize(("kind", "a", "b"), [
    ("number", "0", "1"),
    ("number", "'1.5'", "'1.50001'"),
    ("string", "'1.50'", "'1.5'"),  # strings are compared as strings
    ("string", "'t'", "'1'"),  # booleans only fold in boolean columns
    ("string", "'Draft'", "'draft'"),
    ("boolean", "true", "false"),
    ("datetime", "now()", "clock_timestamp()"),
    ("datetime", "now()", "statement_timestamp()"),
    ("datetime", "now()", "'2020-01-01 00:00:00'"),
    (None, "'a' || 'b'", "'ab'"),
    # numbers are compared exactly, not as floats (2**53 + 1 and 2**53 are one float)
    ("number", "9007199254740993", "9007199254740992"),
    ("number", "'9007199254740993'::bigint", "'9007199254740992'"),
    ("number", "12345678901234567890123", "12345678901234567890124"),
    ("number", "1234567890123456789012345678901234567.1", "1234567890123456789012345678901234567.2"),
    ("number", "0.1", "0.10000000000000001"),
    (None, "9007199254740993", "9007199254740992"),
])
def test_different_defaults(kind: str | None, a: str, b: str) -> None:
    assert canonical_default(a, kind) != canonical_default(b, kind)


def test_normalize_default_spelling() -> None:
    assert normalize_default("'draft'::character varying") == "'draft'"
    assert normalize_default("now()") == "current_timestamp"
    assert normalize_default(None) is None
    assert normalize_default("9007199254740993") == "9007199254740993"
    assert normalize_default("(0.50)::numeric(10,2)") == "0.5"


@pytest.mark.parametrize(("reflected", "model", "same"), [
    ("'9007199254740993'::bigint", "9007199254740992", False),
    ("9007199254740993", "9007199254740993", True),
    ("'12345678901234567890.5'::numeric", "12345678901234567890.50", True),
    ("'12345678901234567890.5'::numeric", "12345678901234567890.4", False),
])
def test_compare_server_default_is_exact_for_large_numbers(reflected: str, model: str,
                                                           same: bool) -> None:
    """The autogenerate hook: False means "the same default"; None lets Alembic decide."""
    from sluice.policy.defaults import compare_server_default

    for type_ in (sa.BigInteger(), sa.Numeric(30, 2)):
        column = sa.Column("n", type_, server_default=model)
        verdict = compare_server_default(None, None, column, reflected, column.server_default,
                                         f"'{model}'")
        assert verdict is (False if same else None), (type_, reflected, model)


# --------------------------------------------------------------------------- no false drift

DEFAULTS_MODEL = '''

class Setting(Base):
    __tablename__ = "settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    counter: Mapped[int] = mapped_column(server_default="0")
    delta: Mapped[int] = mapped_column(server_default="-1")
    ratio: Mapped[float] = mapped_column(Numeric(10, 2), server_default="0")
    created: Mapped[datetime] = mapped_column(server_default=func.now())
    updated: Mapped[datetime] = mapped_column(server_default=text("CURRENT_TIMESTAMP"))
    flag: Mapped[bool] = mapped_column(server_default=true())
    off: Mapped[bool] = mapped_column(server_default=false())
    status: Mapped[str] = mapped_column(String(20), server_default="draft")
    label: Mapped[str] = mapped_column(String(20), server_default="")
    code: Mapped[str] = mapped_column(String(20), server_default="0")
'''

# The same defaults, spelled the other way round in the revision that created the table.
DEFAULTS_REVISION = '''"""settings

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("counter", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("delta", sa.Integer(), server_default=sa.text("-1"), nullable=False),
        sa.Column("ratio", sa.Numeric(10, 2), server_default=sa.text("0.00"), nullable=False),
        sa.Column("created", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"),
                  nullable=False),
        sa.Column("updated", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.Column("flag", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("off", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("status", sa.String(20), server_default=sa.text("'draft'"), nullable=False),
        sa.Column("label", sa.String(20), server_default="", nullable=False),
        sa.Column("code", sa.String(20), server_default=sa.text("'0'"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade():
    op.drop_table("settings")
'''


def add_settings(project: Path) -> None:
    models = project / "shopapp" / "models.py"
    edit(models, "from sqlalchemy import ForeignKey, Index, Numeric, String, func",
         "from sqlalchemy import ForeignKey, Index, Numeric, String, false, func, text, true")
    models.write_text(models.read_text() + DEFAULTS_MODEL)
    (project / "migrations" / "versions" / "0003_settings.py").write_text(DEFAULTS_REVISION)


def test_equal_defaults_spelled_differently_are_no_drift(shop: Path, db_url: str) -> None:
    add_settings(shop)
    upgrade(shop, db_url)
    with pytest.raises(CommandError, match="no schema changes detected"):
        autogenerate(shop, db_url)


def test_a_real_default_change_is_still_detected(shop: Path, db_url: str) -> None:
    add_settings(shop)
    upgrade(shop, db_url)
    edit(shop / "shopapp" / "models.py", 'counter: Mapped[int] = mapped_column(server_default="0")',
         'counter: Mapped[int] = mapped_column(server_default="1")')
    edit(shop / "shopapp" / "models.py", "flag: Mapped[bool] = mapped_column(server_default=true())",
         "flag: Mapped[bool] = mapped_column(server_default=false())")
    (path,) = autogenerate(shop, db_url)
    text = path.read_text()
    changed = set(re.findall(r"alter_column\((?:'settings', )?'(\w+)'", text))
    assert changed == {"counter", "flag"}


BIG_MODEL = '''

class Counter(Base):
    __tablename__ = "counters"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticks: Mapped[int] = mapped_column(BigInteger, server_default="9007199254740992")
    total: Mapped[float] = mapped_column(Numeric(38, 0),
                                         server_default="12345678901234567890123456789012345678")
'''

BIG_REVISION = '''"""counters

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "counters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticks", sa.BigInteger(), server_default="9007199254740993", nullable=False),
        sa.Column("total", sa.Numeric(38, 0),
                  server_default="12345678901234567890123456789012345679", nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade():
    op.drop_table("counters")
'''


def add_counters(project: Path) -> None:
    """Models and migration disagree on two large defaults, by one in the last digit."""
    models = project / "shopapp" / "models.py"
    edit(models, "from sqlalchemy import ForeignKey, Index, Numeric, String, func",
         "from sqlalchemy import BigInteger, ForeignKey, Index, Numeric, String, func")
    models.write_text(models.read_text() + BIG_MODEL)
    (project / "migrations" / "versions" / "0003_counters.py").write_text(BIG_REVISION)


def test_large_number_default_change_is_drift(shop: Path, db_url: str) -> None:
    from tests.support.check import run

    add_counters(shop)
    drift = run(shop, "upgrade", "drift", url=db_url).result("drift")
    assert drift.status == "fail"
    kinds = sorted((d["kind"], d["message"].split(":")[0]) for d in drift.data["differences"])
    assert kinds == [("modify_default", "column counters.ticks"),
                     ("modify_default", "column counters.total")], drift.data["differences"]


def test_large_number_default_change_is_autogenerated(shop: Path, db_url: str) -> None:
    add_counters(shop)
    upgrade(shop, db_url)
    (path,) = autogenerate(shop, db_url)
    text = path.read_text()
    assert set(re.findall(r"alter_column\((?:'counters', )?'(\w+)'", text)) == {"ticks", "total"}
    assert "9007199254740992" in text


# --------------------------------------------------------------------------- PostgreSQL enums

MODELS = Path("msapp") / "models.py"


def enum_rows(url: str, sql: str) -> list[Any]:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(sql))
            return [tuple(r) for r in result] if result.returns_rows else []
    finally:
        engine.dispose()


def test_enum_values_added_on_postgresql(multiservice: Path, pg_url: str) -> None:
    upgrade_all(multiservice, pg_url)
    edit(multiservice / MODELS, '    sent = "sent"\n', '    pending = "pending"\n    sent = "sent"\n')
    edit(multiservice / MODELS, '    paid = "paid"\n', '    paid = "paid"\n    void = "void"\n')
    (path,) = ms_autogenerate(multiservice, pg_url, "service=billing")
    text = path.read_text()
    assert "    with op.get_context().autocommit_block():\n" in text
    assert ("op.execute(\"ALTER TYPE invoice_status ADD VALUE IF NOT EXISTS 'pending' "
            "AFTER 'draft'\")") in text
    assert "op.execute(\"ALTER TYPE invoice_status ADD VALUE IF NOT EXISTS 'void'\")" in text
    assert "add enum values invoice_status: pending, void (outside the transaction)" in text
    assert "Sluice review: 1 operation (" in text  # the enum change counts
    ms_upgrade(multiservice, pg_url, "billing@head")
    assert enum_rows(pg_url, "SELECT unnest(enum_range(NULL::invoice_status))::text") == [
        ("draft",), ("pending",), ("sent",), ("paid",), ("void",)]
    with pytest.raises(CommandError, match="no schema changes detected"):
        ms_autogenerate(multiservice, pg_url)
    # The downgrade swaps the type back; the data and the default survive.
    enum_rows(pg_url, "INSERT INTO users (id, email, full_name) VALUES (1, 'a@x', 'A')")
    enum_rows(pg_url, "INSERT INTO invoices (id, user_id) VALUES (1, 1)")
    ms_downgrade(multiservice, pg_url, "billing@-1")
    assert enum_rows(pg_url, "SELECT unnest(enum_range(NULL::invoice_status))::text") == [
        ("draft",), ("sent",), ("paid",)]
    assert enum_rows(pg_url, "SELECT status::text FROM invoices") == [("draft",)]
    enum_rows(pg_url, "INSERT INTO invoices (id, user_id) VALUES (2, 1)")


def test_enum_downgrade_refuses_to_lose_rows(multiservice: Path, pg_url: str) -> None:
    upgrade_all(multiservice, pg_url)
    edit(multiservice / MODELS, '    paid = "paid"\n', '    paid = "paid"\n    void = "void"\n')
    ms_autogenerate(multiservice, pg_url, "service=billing")
    ms_upgrade(multiservice, pg_url)
    enum_rows(pg_url, "INSERT INTO users (id, email, full_name) VALUES (1, 'a@x', 'A')")
    enum_rows(pg_url, "INSERT INTO invoices (id, user_id, status) VALUES (1, 1, 'void')")
    with pytest.raises(sa.exc.DataError, match="invalid input value for enum"):
        ms_downgrade(multiservice, pg_url, "billing@-1")
    assert enum_rows(pg_url, "SELECT status::text FROM invoices") == [("void",)]


def test_enum_value_removed_is_warned_with_the_steps(
    multiservice: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    upgrade_all(multiservice, pg_url)
    edit(multiservice / MODELS, '    sent = "sent"\n', "")
    with pytest.raises(CommandError, match="no schema changes detected"):
        ms_autogenerate(multiservice, pg_url)
    err = capsys.readouterr().err
    assert ("sluice: warning: enum invoice_status: 'sent' removed from the model but still in "
            "the database type (used by invoices.status)") in err
    assert "CREATE TYPE invoice_status AS ENUM ('draft', 'paid');" in err
    assert ("ALTER TABLE invoices ALTER COLUMN status TYPE invoice_status USING "
            "status::text::invoice_status;") in err
    assert "ALTER TABLE invoices ALTER COLUMN status SET DEFAULT 'draft'::invoice_status;" in err


def _autogen_context(conn: sa.Connection, metadata: sa.MetaData,
                     sluice: bool) -> AutogenContext:
    opts: dict[str, Any] = {"target_metadata": metadata}
    if sluice:
        opts["sluice_config"] = object()
    return AutogenContext(MigrationContext.configure(conn, opts=opts), metadata)


def test_enum_comparator_runs_once_and_only_under_sluice(pg_url: str) -> None:
    engine = sa.create_engine(pg_url)
    old, new = sa.MetaData(), sa.MetaData()
    sa.Table("t", old, sa.Column("s", sa.Enum("a", "b", name="mood")))
    sa.Table("t", new, sa.Column("s", sa.Enum("a", "b", "c", name="mood")))
    old.create_all(engine)
    try:
        with engine.connect() as conn:
            plain = alembic_ops.UpgradeOps([])
            enums.compare_enums(_autogen_context(conn, new, False), plain, {None})
            assert plain.ops == []
            ctx = _autogen_context(conn, new, True)
            wired = alembic_ops.UpgradeOps([])
            enums.compare_enums(ctx, wired, {None})
            enums.compare_enums(ctx, wired, {None})  # registered twice: still one op
            (op,) = wired.ops
            assert op.statements() == ["ALTER TYPE mood ADD VALUE IF NOT EXISTS 'c'"]
    finally:
        old.drop_all(engine)
        engine.dispose()


def test_plugin_setup_registers_the_comparator() -> None:
    calls: list[tuple[Any, ...]] = []

    class FakePlugin:
        def add_autogenerate_comparator(self, fn: Any, target: str, *a: Any) -> None:
            calls.append((fn, target))

    enums.setup(FakePlugin())
    assert calls == [(enums.compare_enums, "schema")]
