"""Rendering only where static analysis cannot decide (issue 17).

A revision whose source says everything is read statically and not rendered; each kind of
code the static layer cannot follow gets the revision rendered, and the coverage line and
the JSON report say which. Rendering in a process pool gives the same result as rendering
in this process.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from sluice.lint import pool
from sluice.lint.engine import LintResult, lint_project
from sluice.lint.needs import offline_failure
from sluice.lint.static import analyze_source
from tests.support.lint import helper_project

HEADER = """
import sqlalchemy as sa
from alembic import context, op

revision = "{rev}"
down_revision = {down}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return helper_project(tmp_path, "projhelpers",
        "from alembic import op\n\n\ndef drop_legacy():\n"
        "    op.drop_column('orders', 'legacy')\n")


def write(project: Path, rev: str, body: str, down: str | None = None) -> None:
    text = HEADER.format(rev=rev, down=repr(down)) + textwrap.dedent(body)
    (project / "migrations" / "versions" / f"{rev}.py").write_text(text)


def lint(project: Path, **kw: object) -> LintResult:
    return lint_project(project / "alembic.ini", use_cache=False, **kw)  # type: ignore[arg-type]


PLAIN = """
def upgrade():
    op.add_column("orders", sa.Column("note", sa.String(40), nullable=True))
    op.execute("UPDATE orders SET note = 'x' WHERE id = 1")
    op.drop_column("orders", "coupon")


def downgrade():
    op.drop_column("orders", "note")
"""


def test_a_plain_op_only_revision_is_read_statically(project: Path) -> None:
    write(project, "a1", PLAIN)
    result = lint(project)
    (rep,) = result.revisions
    assert (rep.status, rep.reason, rep.render_needs) == ("static", None, [])
    assert rep.as_dict()["render_needs"] == [] and rep.dialects == []
    assert result.render_processes == 0
    assert result.coverage.line() == (
        "1 revision: 1 read statically, 0 rendered offline; linted for postgresql "
        "(lint.dialects)")
    assert [f.rule for f in result.findings if f.rule == "SL002"] == ["SL002"]


#: One revision per thing static analysis cannot decide: (need, upgrade body, a rule only
#: rendering finds, or None when the static layer already reports it).
CASES = [
    ("SQL built at run time", """
        def _sql():
            return "DELETE FROM orders"

        def upgrade():
            op.execute(_sql())
        """, "SL008"),
    ("imported code", """
        from projhelpers import drop_legacy

        def upgrade():
            drop_legacy()
        """, "SL002"),
    ("dialect branch", """
        def upgrade():
            if op.get_bind().dialect.name == "postgresql":
                op.drop_column("orders", "pg_only")
        """, None),
    ("dialect branch", """
        def upgrade():
            if context.get_context().dialect.name != "sqlite":
                op.drop_column("orders", "not_on_sqlite")
        """, None),
    ("run-time settings", """
        def upgrade():
            if context.get_x_argument(as_dictionary=True).get("data") == "yes":
                op.execute("DELETE FROM orders")
        """, None),
    ("custom operation", """
        def upgrade():
            op.create_sequence("order_numbers")
        """, None),
    ("names built at run time", """
        def _table():
            return "orders"

        def upgrade():
            with op.batch_alter_table(_table()) as batch:
                batch.drop_column("coupon")
        """, None),
    ("no upgrade() found", """
        def _up():
            op.drop_column("orders", "coupon")

        upgrade = _up
        """, "SL002"),
]


@pytest.mark.parametrize(("need", "body", "rule"), CASES,
                         ids=[f"{i}-{c[0]}" for i, c in enumerate(CASES)])
def test_what_static_analysis_cannot_decide_is_rendered(project: Path, need: str, body: str,
                                                        rule: str | None) -> None:
    write(project, "b1", body)
    result = lint(project)
    (rep,) = result.revisions
    assert rep.render_needs[0] == need
    # rendered, or tried: a render that fails says why (a custom operation without the
    # plugin that registers it, reads that are empty offline)
    assert rep.status == "rendered" or rep.reason, rep
    assert result.render_processes == 1
    assert result.coverage.read_statically == 0
    if rep.status == "rendered":
        assert f"1 rendered offline ({need}: 1)" in result.coverage.line()
    if rule is not None:
        assert rule in {f.rule for f in result.findings}
        static_only = lint(project, render=False)
        assert rule not in {f.rule for f in static_only.findings}  # only rendering finds it
        assert static_only.revisions[0].reason == "rendering disabled"


READS_ONLY = """
def upgrade():
    conn = op.get_bind()
    if conn.execute(sa.text("SELECT count(*) FROM orders")).scalar():
        op.drop_column("orders", "coupon")
    total = next(iter(conn.execute(sa.text("SELECT count(*) FROM orders"))))[0]
    op.execute("UPDATE orders SET note = 'x' WHERE id < 10")


def downgrade():
    pass
"""


def test_a_read_alone_is_not_rendered(project: Path) -> None:
    """Offline a read returns no rows: rendering could only run fewer of the operations
    the static layer read, so a revision whose only need is a read is read statically
    (its findings are those of the static layer, SL606 names the read, and no SL903 says
    it was analysed statically only)."""
    write(project, "r1", READS_ONLY)
    result = lint(project)
    (rep,) = result.revisions
    assert rep.status == "static" and rep.render_needs == [] and rep.reason is None
    assert result.render_processes == 0
    assert result.coverage.read_statically == 1
    rules = {f.rule for f in result.findings}
    assert {"SL002", "SL606"} <= rules and "SL903" not in rules
    static_only = lint(project, render=False)
    assert sorted((f.rule, f.line) for f in static_only.findings) == sorted(
        (f.rule, f.line) for f in result.findings)


def test_a_read_with_another_need_is_rendered_and_listed(project: Path) -> None:
    write(project, "r2", READS_ONLY.replace(
        "op.execute(\"UPDATE orders SET note = 'x' WHERE id < 10\")",
        "op.execute(f\"UPDATE orders SET note = 'x' WHERE id < {total}\")"))
    result = lint(project)
    (rep,) = result.revisions
    assert rep.render_needs == ["SQL built at run time", "reads the database"]
    assert rep.status == "static" and rep.reason == "get_bind reads"  # tried: reads fail
    assert result.render_processes == 1


ABSENT_NAMES = """
def upgrade():
    op.drop_index("ix_orders_note")
    op.create_check_constraint("ck_orders_total", "orders", "total >= 0")


def downgrade():
    op.drop_constraint("ck_orders_total")
"""


def test_a_name_not_passed_at_all_is_not_rendered(project: Path) -> None:
    """A name the call does not pass (``drop_index`` without its optional table, a
    ``drop_constraint`` that forgot its table) is not built at run time: rendering cannot
    supply it either, so the revision is read statically."""
    write(project, "n1", ABSENT_NAMES)
    result = lint(project)
    (rep,) = result.revisions
    assert rep.render_needs == [] and rep.status == "static" and rep.reason is None
    assert result.render_processes == 0
    write(project, "n1", ABSENT_NAMES.replace('op.drop_index("ix_orders_note")',
                                              'op.drop_index("ix_orders_note", TABLE)'))
    (rep,) = lint(project).revisions  # a name that is passed but not spelled out: rendered
    assert rep.render_needs == ["names built at run time"]


def test_rendering_names_the_table_the_source_does_not(project: Path) -> None:
    write(project, "c1", CASES[6][1])
    (rendered,) = [f for f in lint(project).findings if f.rule == "SL002"]
    (static,) = [f for f in lint(project, render=False).findings if f.rule == "SL002"]
    assert "orders.coupon" in rendered.message and "orders" not in static.message


def test_a_pool_renders_what_this_process_renders(project: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool, "POOL_THRESHOLD", 8)  # not the default's hundreds of files
    down = None
    n = pool.POOL_THRESHOLD + 2
    for i in range(n):
        rev = f"p{i:02d}"
        write(project, rev, f"""
            def _table():
                return "orders_{i}"

            def upgrade():
                op.execute(f"DELETE FROM {{_table()}}")
                op.drop_column(_table(), "coupon")
                op.add_column("orders", sa.Column("n{i}", sa.Integer(), nullable=False))
            """, down)
        down = rev
    write(project, "plain", PLAIN, down)
    monkeypatch.setattr(pool, "usable_cpus", lambda: 2)
    in_pool = lint(project)
    assert in_pool.render_processes == 2
    assert in_pool.coverage.line().startswith(
        f"{n + 1} revisions: 1 read statically, {n} rendered offline (SQL built at run "
        f"time: {n})")
    monkeypatch.setattr(pool, "POOL_THRESHOLD", 10**6)
    here = lint(project)
    assert here.render_processes == 1
    assert in_pool.as_dict() == here.as_dict()
    rules = {(f.rule, Path(f.path or "").stem) for f in in_pool.findings}
    assert {("SL008", "p00"), ("SL002", f"p{n - 1:02d}"), ("SL106", "p03")} <= rules


LOOP_OVER_READ = """
from projhelpers import canonical

releases = sa.table("releases", sa.column("version"), sa.column("canonical"))


def upgrade():
    conn = op.get_bind()
    for row in conn.execute(sa.select(releases.c.version).distinct()):
        conn.execute(releases.update().where(releases.c.version == row.version)
                     .values(canonical=canonical(row.version)))
    op.alter_column("releases", "canonical", nullable=False)


def downgrade():
    op.alter_column("releases", "canonical", nullable=True)
"""


def test_what_only_a_loop_over_a_read_does_is_not_rendered(project: Path) -> None:
    """Offline the loop runs no time: its run-time SQL and imported helper cannot be
    rendered, so they need nothing; the static layer still reports the update."""
    with (project / "projhelpers" / "__init__.py").open("a") as helpers:
        helpers.write("\n\ndef canonical(version):\n    return version\n")
    write(project, "l1", LOOP_OVER_READ)
    result = lint(project)
    (rep,) = result.revisions
    assert rep.render_needs == [] and rep.status == "static" and rep.reason is None
    rendered = lint(project, render_all=True)
    assert rendered.revisions[0].status == "rendered"

    def seen(r: LintResult) -> set[tuple[str, int | None, str]]:
        return {(f.rule, f.line, f.message) for f in r.findings}

    assert seen(result) == seen(rendered)
    assert ("SL606", 15) in {(f.rule, f.line) for f in result.findings}  # the read


def test_the_same_code_outside_the_loop_is_rendered(project: Path) -> None:
    body = LOOP_OVER_READ.replace(
        "    for row in conn.execute(sa.select(releases.c.version).distinct()):\n"
        "        conn.execute(", "    rows = conn.execute(sa.select(releases.c.version))\n"
        "    if rows:\n        conn.execute(").replace("row.version", "'1.0'")
    write(project, "l2", body)
    (rep,) = lint(project, render=False).revisions
    assert rep.render_needs == ["SQL built at run time", "imported code"]


NEEDS_A_ROW = """
import contextlib
import os


def _remaining(conn):
    return conn.execute(sa.text("SELECT count(*) FROM logins WHERE ip_id IS NULL")).scalar_one()


def upgrade():
    bind = op.get_bind()
    salt = os.environ.get("SALT")
{loop}
    op.alter_column("logins", "ip_id", nullable=False)


def downgrade():
    op.alter_column("logins", "ip_id", nullable=True)
"""

LOOP = """\
    while _remaining(bind) > 0:
        bind.execute(sa.text(f"UPDATE logins SET hash = md5(ip || '{salt}') WHERE id < 9"))"""


def test_a_read_that_needs_a_row_stops_the_render_before_it_starts(project: Path) -> None:
    """``.scalar_one()`` reached whenever upgrade() runs raises offline (no rows): the
    revision is analysed statically without trying a render, and SL903 says why."""
    write(project, "n1", NEEDS_A_ROW.format(loop=LOOP))
    result = lint(project)
    (rep,) = result.revisions
    assert rep.render_needs == ["SQL built at run time", "run-time settings",
                                "reads the database"]
    assert rep.status == "static" and rep.reason == "get_bind reads"
    assert rep.detail == ("a read through op.get_bind() (.scalar_one() at line 13) needs a "
                          "row, and offline a read returns none")
    assert result.render_processes == 0
    (sl903,) = [f for f in result.findings if f.rule == "SL903"]
    assert sl903.line == 13 and "get_bind reads" in sl903.message
    assert "static only (reasons: get_bind reads 1)" in result.coverage.line()


@pytest.mark.parametrize("loop", [
    # in a branch
    "    if salt:\n" + textwrap.indent(LOOP, "    "),
    # its exception may be caught
    "    try:\n" + textwrap.indent(LOOP, "    ") + "\n    except Exception:\n        pass",
    # after an early exit
    "    if salt is None:\n        return\n" + LOOP,
    # in the body of another loop
    "    for _ in range(3):\n" + textwrap.indent(LOOP, "    "),
    # its exception may be swallowed
    "    with contextlib.suppress(Exception):\n" + textwrap.indent(LOOP, "    "),
    # in a part of an expression that may not be evaluated
    "    left = salt and _remaining(bind)",
    "    left = _remaining(bind) if salt else 0",
    "    left = [_remaining(bind) for _ in os.environ]",
], ids=["branch", "try", "after-return", "loop", "suppress", "and", "if-else", "listcomp"])
def test_a_read_that_may_not_run_does_not_stop_the_render(project: Path, loop: str) -> None:
    write(project, "n2", NEEDS_A_ROW.format(loop=loop))
    source = (project / "migrations" / "versions" / "n2.py").read_text()
    assert offline_failure(analyze_source(source, "n2.py").ops) is None
    certain = HEADER.format(rev="n3", down=None) + textwrap.dedent(
        NEEDS_A_ROW.format(loop=LOOP))
    assert offline_failure(analyze_source(certain, "n3.py").ops) is not None


def test_a_select_executed_on_the_bind_is_a_read(project: Path) -> None:
    write(project, "s1", """
users = sa.table("users", sa.column("id"))


def upgrade():
    ids = [r.id for r in op.get_bind().execute(sa.select(users.c.id))]
    op.drop_column("users", "legacy")


def downgrade():
    pass
""")
    (rep,) = lint(project).revisions
    assert rep.render_needs == [] and rep.status == "static" and rep.reason is None
