"""The drift check on computed and identity columns, its failures, and its sentences.

Alembic 1.18+ sends every column to a callable ``compare_server_default`` first, reading
``.arg`` of a Computed or Identity default: drift must compare the way ``alembic check``
does (the ``sluice`` plugin with ``compare_server_default=True``), and say "fails the same
way" only when Alembic's own comparison does fail.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from sluice.check import drift
from sluice.check.drift_text import describe_diff
from tests.support.check import run
from tests.support.project import edit

GAUGES = """

class Gauge(Base):
    __tablename__ = "gauges"

    id: Mapped[int] = mapped_column({id_type}primary_key=True)
    a: Mapped[int] = mapped_column()
    doubled: Mapped[int] = mapped_column(Computed("a * 2"))
"""

REVISION = '''"""gauges

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
        "gauges",
        sa.Column("id", {id_col}, primary_key=True),
        sa.Column("a", sa.Integer(), nullable=False),
        sa.Column("doubled", sa.Integer(), sa.Computed("a * 2")),
    )


def downgrade() -> None:
    op.drop_table("gauges")
'''


def add_gauges(project: Path, *, identity: bool = False) -> None:
    """A table with a computed column (and an identity key): models and a revision."""
    models = project / "shopapp" / "models.py"
    edit(models, "from sqlalchemy import ForeignKey,",
         "from sqlalchemy import BigInteger, Computed, Identity, ForeignKey,")
    with models.open("a", encoding="utf-8") as fh:
        fh.write(GAUGES.format(id_type="BigInteger, Identity(), " if identity else ""))
    id_col = "sa.BigInteger(), sa.Identity()" if identity else "sa.Integer()"
    (project / "migrations" / "versions" / "0003_gauges.py").write_text(
        REVISION.format(id_col=id_col), encoding="utf-8")


def test_computed_column_is_no_drift(shop: Path, db_url: str) -> None:
    add_gauges(shop)
    report = run(shop, "upgrade", "drift", url=db_url)
    result = report.result("drift")
    assert result.status == "pass", [p.message + " / " + (p.fix or "") for p in result.problems]
    assert report.exit_code == 0


def test_identity_column_is_no_drift_on_postgresql(shop: Path, pg_url: str) -> None:
    add_gauges(shop, identity=True)
    report = run(shop, "upgrade", "drift", url=pg_url)
    result = report.result("drift")
    assert result.status == "pass", [p.message + " / " + (p.fix or "") for p in result.problems]


def test_computed_column_change_is_still_drift(shop: Path) -> None:
    """Comparing as Alembic does still finds a real difference next to a computed column."""
    add_gauges(shop)
    edit(shop / "shopapp" / "models.py", "    a: Mapped[int] = mapped_column()\n",
         "    a: Mapped[int] = mapped_column()\n    b: Mapped[int | None] = mapped_column()\n")
    result = run(shop, "upgrade", "drift").result("drift")
    assert result.status == "fail"
    assert "- column gauges.b: in the models (INTEGER, NULL), missing from the database" \
        in (result.problems[0].details or "")


def test_a_failure_of_sluices_own_additions_is_not_blamed_on_alembic_check(
        shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(config: Any, user: Any) -> Any:
        def include_object(*args: Any) -> bool:
            raise RuntimeError("filter exploded")
        return include_object

    monkeypatch.setattr(drift, "make_include_object", broken)
    report = run(shop, "upgrade", "drift")
    [problem] = report.result("drift").problems
    assert report.exit_code == 2
    assert problem.message.startswith(
        "comparing models and database failed: RuntimeError: filter exploded (raised in ")
    assert "test_check_drift_generated.py:" in problem.message
    assert "fails the same way" not in (problem.fix or "")
    assert "`alembic check` runs) passes on this database" in (problem.fix or "")


def test_a_failure_alembic_shares_says_so(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def produce_migrations(context: Any, metadata: Any) -> Any:
        raise ValueError("comparison exploded")

    monkeypatch.setattr(drift, "produce_migrations", produce_migrations)
    [problem] = run(shop, "upgrade", "drift").result("drift").problems
    assert "ValueError: comparison exploded" in problem.message
    assert (problem.fix or "").startswith(
        "Alembic's own comparison (what `alembic check` runs) fails the same way")


def test_enum_value_drift_is_a_sentence_on_postgresql(shop: Path, pg_url: str) -> None:
    models = shop / "shopapp" / "models.py"
    edit(models, "from sqlalchemy import ForeignKey,", "from sqlalchemy import Enum, ForeignKey,")
    with models.open("a", encoding="utf-8") as fh:
        fh.write(textwrap.dedent('''

            class Plan(Base):
                __tablename__ = "plans"

                id: Mapped[int] = mapped_column(primary_key=True)
                tier: Mapped[str] = mapped_column(Enum("free", "pro", "enterprise", name="tier"))
            '''))
    (shop / "migrations" / "versions" / "0003_plans.py").write_text(textwrap.dedent('''\
        """plans

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
            op.create_table("plans", sa.Column("id", sa.Integer(), primary_key=True),
                            sa.Column("tier", sa.Enum("free", "pro", name="tier"),
                                      nullable=False))


        def downgrade() -> None:
            op.drop_table("plans")
            sa.Enum(name="tier").drop(op.get_bind())
        '''), encoding="utf-8")
    result = run(shop, "upgrade", "drift", url=pg_url).result("drift")
    assert result.status == "fail"
    details = result.problems[0].details or ""
    assert "- enum tier: value 'enterprise' in the models, missing from the database" \
        in details.splitlines(), details
    assert "add_enum_values" not in details


def _table(comment: str | None = None) -> sa.Table:
    return sa.Table("users", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                    schema="app", comment=comment)


@pytest.mark.parametrize(("diff", "expected"), [
    (("add_enum_values", None, "tier", ("enterprise",)),
     "enum tier: value 'enterprise' in the models, missing from the database"),
    (("remove_enum_values", "billing", "tier", ("a", "b")),
     "enum billing.tier: values 'a', 'b' in the database, not in the models"),
    (("add_table_comment", _table("people"), None),
     "table app.users: comment None in the database, 'people' in the models"),
    (("remove_table_comment", _table()),
     "table app.users: comment in the database, none in the models"),
    (("modify_default", None, "t", "b", {}, None, sa.Computed("a * 2")),
     "column t.b: no default in the database, computed a * 2 in the models"),
    (("modify_default", None, "t", "id", {}, sa.Identity(), None),
     "column t.id: identity in the database, no default in the models"),
    (("rename_table", "people", "users"), "table people: named users in the models"),
    (("execute", sa.text("ANALYZE users")), "SQL to run: ANALYZE users"),
    (("add_partition", _table(), ("p2024", 3)),
     "add partition: table app.users; 'p2024', 3"),
])
def test_every_kind_is_a_sentence(diff: tuple[Any, ...], expected: str) -> None:
    line = describe_diff(diff, None)
    assert line == expected
    assert "(" not in line.split(":")[0] and "None tier" not in line
