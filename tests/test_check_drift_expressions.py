"""The drift check compares partial indexes' predicates and generated columns' expressions,
which Alembic's comparison does not (it warns about a computed column at most): a database
whose index lacks the models' WHERE, or whose generated column has another expression or
is a plain column, is drift on SQLite, PostgreSQL and MariaDB (no partial indexes there).
The same expressions spelled another way (each database gives them back its own way:
casts, parentheses, ``= ANY (ARRAY[...])``, backticks, ``lcase``) are no drift, nor is a
generated column the models declare with ``server_default=FetchedValue()``."""

from __future__ import annotations

from pathlib import Path

import pytest

from sluice.check.sqlexpr import canonical, same
from tests.support.check import run
from tests.support.project import edit

MODEL = '''

class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_open", "status",
              postgresql_where=column("status").in_(["open", "held"]),
              sqlite_where=column("status").in_(["open", "held"])),
        Index("ix_tickets_live", "a", unique=True,
              postgresql_where=text("deleted_at IS NULL"),
              sqlite_where=text("deleted_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    a: Mapped[int] = mapped_column()
    deleted_at: Mapped[datetime | None] = mapped_column()
    doubled: Mapped[int | None] = mapped_column(Computed("a * 2 + 1"))
    label: Mapped[str | None] = mapped_column(String(20), Computed("lower(status)"))
    note: Mapped[str | None] = mapped_column(String(20))
    shout: Mapped[str | None] = mapped_column(String(20), server_default=FetchedValue())
'''

#: The revision, spelled unlike the models: other whitespace, case and parentheses.
HEALTHY = {
    "open_where": "sa.text(\"status in ('open','held')\")",
    "live_where": "sa.text('(deleted_at is null)')",
    "doubled": "sa.Computed('(a*2)+1')",
    "label": "sa.Computed('LOWER(status)')",
    "note": "nullable=True",
}

REVISION = '''"""tickets

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("a", sa.Integer(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("doubled", sa.Integer(), {doubled}),
        sa.Column("label", sa.String(20), {label}),
        sa.Column("note", sa.String(20), {note}),
        sa.Column("shout", sa.String(20), sa.Computed("upper(status)")),
    )
    op.create_index("ix_tickets_open", "tickets", ["status"],
                    postgresql_where={open_where}, sqlite_where={open_where})
    op.create_index("ix_tickets_live", "tickets", ["a"], unique=True,
                    postgresql_where={live_where}, sqlite_where={live_where})


def downgrade() -> None:
    op.drop_table("tickets")
'''


def add_tickets(project: Path, **broken: str) -> None:
    models = project / "shopapp" / "models.py"
    edit(models, "from sqlalchemy import ForeignKey, Index, Numeric, String, func",
         "from sqlalchemy import Computed, FetchedValue, ForeignKey, Index, Numeric, String, "
         "column, func, text")
    with models.open("a", encoding="utf-8") as fh:
        fh.write(MODEL)
    (project / "migrations" / "versions" / "0003_tickets.py").write_text(
        REVISION.format(**{**HEALTHY, **broken}), encoding="utf-8")


def details(project: Path, url: str) -> tuple[str, str]:
    result = run(project, "upgrade", "drift", url=url).result("drift")
    assert result.status in ("pass", "fail"), [p.message for p in result.problems]
    if result.status == "pass":
        return "pass", "\n".join(result.notes)
    return "fail", result.problems[0].details or ""


def test_the_same_expressions_spelled_otherwise_are_no_drift(shop: Path, db_url: str) -> None:
    add_tickets(shop)
    status, text = details(shop, db_url)
    assert status == "pass", text
    assert "cannot be modified" not in text, text


BROKEN = {
    "index without its where": (
        {"open_where": "None"}, ("index ix_tickets_open on tickets: no WHERE in the database, "
                                 "WHERE ", "in the models")),
    "index with another where": (
        {"live_where": "sa.text('deleted_at IS NOT NULL')"},
        ("index ix_tickets_live on tickets: WHERE ", "NOT NULL", "in the database, WHERE ",
         "in the models")),
    "computed with another expression": (
        {"doubled": "sa.Computed('a * 3 + 1')"},
        ("column tickets.doubled: computed ", "3", "in the database, computed ", "2",
         "in the models")),
    "computed as a plain column": (
        {"label": "nullable=True"},
        ("column tickets.label: not computed in the database, computed ", "in the models")),
    "a plain column computed": (
        {"note": "sa.Computed('upper(status)')"},
        ("column tickets.note: computed ", "in the database, not computed in the models")),
}


@pytest.mark.parametrize(("case", "db_url"), [
    (case, backend) for case in BROKEN for backend in ("sqlite", "postgresql", "mysql")
    if not ("index" in case and backend == "mysql")],  # MariaDB has no partial indexes
    indirect=["db_url"])
def test_a_database_that_differs_is_drift(shop: Path, db_url: str, case: str) -> None:
    broken, reported = BROKEN[case]
    add_tickets(shop, **broken)
    status, text = details(shop, db_url)
    assert status == "fail", text
    [line] = [x for x in text.splitlines() if x.startswith("- ") and reported[0] in x]
    at = 0
    for part in reported:  # in this order, each database spelling the expressions its way
        found = line.find(part, at)
        assert found >= 0, (part, line)
        at = found + len(part)
    assert "Autogenerate would write:" in text


@pytest.mark.parametrize(("models", "database"), [
    ("a > 5 AND s = 'x'", "((a > 5) AND ((s)::text = 'x'::text))"),
    ("s IN ('x', 'y')", "((s)::text = ANY ((ARRAY['x'::character varying, "
                        "'y'::character varying])::text[]))"),
    ("lower(s) NOT IN ('x', 'y')", "(lower((s)::text) <> ALL (ARRAY['x'::text, 'y'::text]))"),
    ("s IN ('x')", "((s)::text = 'x'::text)"),
    ("a BETWEEN 1 AND 5", "((a >= 1) AND (a <= 5))"),
    ("s LIKE 'a%'", "((s)::text ~~ 'a%'::text)"),
    ("s NOT LIKE 'a%'", "((s)::text !~~ 'a%'::text)"),
    ("(a + 1) * 3", "((`a` + 1) * 3)"),
    ("lower(s)", "(lcase(`s`))"),
    ("concat(a, 'x')", "concat(`a`,_utf8mb4'x')"),
    ("CAST(a AS TEXT) || 'x'", "((a)::text || 'x'::text)"),
    ("CASE WHEN a > 1 THEN 'big' ELSE 'small' END",
     "CASE WHEN (a > 1) THEN 'big'::text ELSE 'small'::text END"),
    ("a != 1", "(a <> 1)"),
    ("a IS NOT NULL", "a NOTNULL"),
])
def test_spellings_of_one_expression_are_the_same(models: str, database: str) -> None:
    assert canonical(models) is not None and canonical(database) is not None
    assert same(models, database)


@pytest.mark.parametrize(("models", "database"), [
    ("a > 5", "(a > 6)"),
    ("(a + 1) * 3", "(a + (1 * 3))"),
    ("a - (b - c)", "((a - b) - c)"),
    ("s IN ('x', 'y')", "((s)::text = ANY ((ARRAY['x'::text, 'z'::text])::text[]))"),
    ("s IN ('x', 'y')", "((s)::text <> ALL ((ARRAY['x'::text, 'y'::text])::text[]))"),
    ("a > 5", "((a > 5) AND (b IS NULL))"),
    ("s = 'X'", "((s)::text = 'x'::text)"),
    ("lower(s)", "upper(s)"),
    ("a IS NULL", "a IS NOT NULL"),
])
def test_different_expressions_are_not(models: str, database: str) -> None:
    assert not same(models, database)


def test_what_cannot_be_read_is_compared_by_its_spelling() -> None:
    assert canonical("a @@ to_tsquery('x')") is None
    assert same("a @@ to_tsquery('x')", "(a @@ to_tsquery('x'::text))")
    assert not same("a @@ to_tsquery('x')", "(a @@ to_tsquery('y'::text))")


def test_expressions_are_read_in_the_databases_dialect() -> None:
    """MariaDB reads ``"-"`` as a string (and gives it back as ``'-'``), PostgreSQL as a
    column."""
    assert same('concat(a, "-")', "concat(`a`,'-')", "mysql")
    assert not same('concat(a, "-")', "concat(a, '-')", "postgresql")
    assert same("s = ANY (ARRAY['x', 'y'])", "s IN ('x', 'y')", "postgresql")
