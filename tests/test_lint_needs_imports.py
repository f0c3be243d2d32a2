"""An import renders a revision only where rendering adds (issue 17): a name never used, or
used only as the type or Python-side default of ``sa.Column(...)`` in ``add_column`` /
``create_table``, leaves the revision to the static layer, with the same findings as
rendering it; every other use of imported code still renders it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from sluice.lint.engine import LintResult, lint_project
from sluice.lint.needs import NEED_IMPORTS, render_needs
from sluice.lint.static import analyze_source
from tests.support.lint import helper_project

HEADER = """
import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = None
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return helper_project(tmp_path, "projtypes", textwrap.dedent("""
        import sqlalchemy as sa
        from alembic import op

        TABLE = "orders"
        NULLABLE = False
        ZERO = 0


        def today():
            return "2024-01-01"


        class Money(sa.types.TypeDecorator):
            impl = sa.Numeric
            cache_ok = True


        def drop_legacy():
            op.drop_column("orders", "legacy")
        """))


def write(project: Path, rev: str, body: str) -> None:
    text = HEADER.format(rev=rev) + textwrap.dedent(body)
    (project / "migrations" / "versions" / f"{rev}.py").write_text(text)


def lint(project: Path, **kw: object) -> LintResult:
    return lint_project(project / "alembic.ini", use_cache=False, **kw)  # type: ignore[arg-type]


def findings(result: LintResult) -> list[tuple[str, int | None, str]]:
    return sorted((f.rule, f.line, f.message) for f in result.findings if f.rule != "SL903")


#: Imported names rendering adds nothing for: the revision is read statically.
STATIC = {
    "column type in add_column": """
        from projtypes import Money

        def upgrade():
            op.add_column("orders", sa.Column("total", Money(12, 2), nullable=False))
        """,
    "column type in create_table and a batch": """
        import projtypes
        from projtypes import Money as M

        def upgrade():
            op.create_table("refunds", sa.Column("id", sa.Integer(), primary_key=True),
                            sa.Column("amount", projtypes.Money(), nullable=True),
                            sa.Column("fee", sa.ARRAY(M()), nullable=True))
            with op.batch_alter_table("orders") as batch:
                batch.add_column(sa.Column("tip", type_=M(), nullable=False))
        """,
    "column assigned first": """
        from projtypes import Money

        def upgrade():
            col = sa.Column("total", Money(), nullable=False)
            op.add_column("orders", col)
        """,
    "python-side defaults": """
        import projtypes

        def upgrade():
            op.add_column("orders", sa.Column("total", sa.Integer(), nullable=False,
                                              default=projtypes.ZERO))
            op.create_table("notes", sa.Column("id", sa.Integer(), primary_key=True),
                            sa.Column("at", sa.String(10), default=projtypes.today,
                                      onupdate=projtypes.today()))
        """,
    "never used": """
        import projtypes  # noqa: F401

        def upgrade():
            op.drop_column("orders", "coupon")
        """,
}

#: Imported names rendering may read differently than the source says: still rendered.
RENDERED = {
    "called": """
        from projtypes import drop_legacy

        def upgrade():
            drop_legacy()
        """,
    "a table name": """
        from projtypes import TABLE

        def upgrade():
            op.add_column(TABLE, sa.Column("total", sa.Integer(), nullable=False))
        """,
    "a column option": """
        from projtypes import NULLABLE

        def upgrade():
            op.add_column("orders", sa.Column("total", sa.Integer(), nullable=NULLABLE))
        """,
    "a server default": """
        from projtypes import ZERO

        def upgrade():
            op.add_column("orders", sa.Column("total", sa.Integer(), server_default=ZERO))
        """,
    "alter_column existing_type": """
        from projtypes import Money

        def upgrade():
            op.alter_column("orders", "total", nullable=False, existing_type=Money())
        """,
    "a default outside a column": """
        from projtypes import ZERO

        def upgrade():
            op.bulk_insert(sa.table("orders", sa.column("total")), [{"total": ZERO}])
        """,
    "alter_column type_": """
        from projtypes import Money

        def upgrade():
            op.alter_column("orders", "total", type_=Money(), existing_type=sa.Integer())
        """,
    "a type outside a column": """
        from projtypes import Money

        def upgrade():
            op.execute(sa.table("orders", sa.column("total", Money())).delete())
        """,
    "in a loop": """
        from projtypes import TABLE

        def upgrade():
            for name in [TABLE]:
                op.drop_column(name, "coupon")
        """,
    "module-level code": """
        from projtypes import Money

        TOTAL = Money()

        def upgrade():
            op.add_column("orders", sa.Column("total", TOTAL, nullable=True))
        """,
    "a decorator": """
        import projtypes

        @projtypes.register
        def upgrade():
            op.drop_column("orders", "coupon")
        """,
    "rebound": """
        from projtypes import Money

        def upgrade():
            Money = sa.Integer
            op.add_column("orders", sa.Column("total", Money(), nullable=True))
        """,
    "a star import": """
        from projtypes import *  # noqa: F403

        def upgrade():
            op.add_column("orders", sa.Column("total", Money(), nullable=True))  # noqa: F405
        """,
    "a column without a literal name": """
        from projtypes import Money

        def upgrade():
            op.add_column("orders", sa.Column(Money(), nullable=True))
        """,
}


@pytest.mark.parametrize("body", STATIC.values(), ids=STATIC.keys())
def test_an_import_used_only_as_a_column_value_is_read_statically(project: Path,
                                                                 body: str) -> None:
    write(project, "s1", body)
    result = lint(project)
    (rep,) = result.revisions
    assert (rep.status, rep.render_needs) == ("static", [])
    assert result.render_processes == 0
    # what rendering it anyway finds is the same
    rendered = lint(project, render_all=True)
    assert rendered.revisions[0].status == "rendered"
    assert findings(result) == findings(rendered)


@pytest.mark.parametrize("body", RENDERED.values(), ids=RENDERED.keys())
def test_any_other_use_of_imported_code_renders(project: Path, body: str) -> None:
    write(project, "r1", body)
    (rep,) = lint(project).revisions
    assert NEED_IMPORTS in rep.render_needs


def test_a_helper_called_from_a_revision_is_found_by_rendering(project: Path) -> None:
    write(project, "r1", RENDERED["called"])
    assert "SL002" in {f.rule for f in lint(project).findings}


@pytest.mark.parametrize(("body", "uses"), [
    (STATIC["column type in add_column"], ["values"]),
    (STATIC["never used"], ["none"]),
    (STATIC["column type in create_table and a batch"], ["values", "values"]),
    (STATIC["python-side defaults"], ["values"]),
    (RENDERED["a column option"], ["code"]),
    (RENDERED["a star import"], ["code"]),
])
def test_each_import_fact_says_how_its_names_are_used(body: str, uses: list[str]) -> None:
    source = HEADER.format(rev="u1") + textwrap.dedent(body)
    result = analyze_source(source, "u1.py")
    facts = [o for o in result.ops if o.kind == "script.import"]
    assert [o.args["uses"] for o in facts] == uses
    assert (NEED_IMPORTS in render_needs(result.ops, source)) == ("code" in uses)


def test_the_same_name_used_as_a_type_and_called_renders() -> None:
    source = HEADER.format(rev="u2") + textwrap.dedent("""
        from projtypes import Money

        def upgrade():
            op.add_column("orders", sa.Column("total", Money(), nullable=True))
            Money.register()
        """)
    result = analyze_source(source, "u2.py")
    assert render_needs(result.ops, source) == [NEED_IMPORTS]
