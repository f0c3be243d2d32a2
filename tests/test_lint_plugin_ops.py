"""Plugin operations read statically (issue 17): ``op.sync_enum_values`` of
alembic-postgresql-enum becomes the statements the plugin runs, so its revision is not
rendered (no import of Alembic, SQLAlchemy or the plugin), and the findings are those of
the plugin's own SQL.

Each modelled call is checked against the installed plugin: ``alembic upgrade head --sql``
prints what it runs, those statements are linted as plain ``op.execute`` calls, and the
findings must be the same as those of the call read statically.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from importlib.util import find_spec
from pathlib import Path

import pytest

from sluice.core.sql import split_sql
from sluice.lint.engine import LintResult, lint_project
from sluice.lint.static import analyze_source

# not imported here: importing the plugin registers its operations and autogenerate
# comparators for the rest of the process
pytestmark = pytest.mark.skipif(find_spec("alembic_postgresql_enum") is None,
                                reason="alembic-postgresql-enum is in the test extras")

INI = """\
[alembic]
script_location = %(here)s/migrations
sqlalchemy.url = postgresql://app@db/app
"""

ENV = """\
import alembic_postgresql_enum  # noqa: F401  (registers op.sync_enum_values)
from alembic import context

context.configure(url=context.config.get_main_option("sqlalchemy.url"),
                  literal_binds=True, transaction_per_migration=False)
with context.begin_transaction():
    context.run_migrations()
"""

REVISION = '''\
from alembic import op
{imports}

revision = "r1"
down_revision = None


def upgrade():
{body}


def downgrade():
    pass
'''

PLUGIN = "from alembic_postgresql_enum import ColumnType, TableReference"

#: Calls whose SQL the plugin prints offline (each is linted both ways).
CALLS = {
    "warehouse": """
op.sync_enum_values(
    enum_schema="public",
    enum_name="unverifyreasons",
    new_values=["spam complaint", "hard bounce", "domain status invalid"],
    affected_columns=[
        TableReference(table_schema="public", table_name="user_emails",
                       column_name="unverify_reason")
    ],
    enum_values_to_rename=[],
)
""",
    "positional, no schema on the column": """
op.sync_enum_values("app", "mood", ["sad", "happy"],
                    [TableReference(table_name="people", column_name="mood")])
""",
    "array column, renames, a default": """
op.sync_enum_values(
    enum_schema="public",
    enum_name="status",
    new_values=["active", "gone", "on hold"],
    affected_columns=[
        TableReference(table_schema="public", table_name="users", column_name="status",
                       existing_server_default="'active'::status"),
        TableReference("tags", "kinds", "public", ColumnType.ARRAY),
    ],
    enum_values_to_rename=[("old", "gone")],
)
""",
    "add a value": """
op.add_enum_value(enum_schema="public", enum_name="status", new_value="suspended")
""",
    "add a value next to another": """
op.add_enum_value("public", "status", "pending", before_value="sent")
""",
    "explicitly no schema, two calls": """
op.sync_enum_values("public", "a", ["x"],
                    [TableReference(table_name="t", column_name="c", table_schema=None)])
op.sync_enum_values("public", "b", ["y", "z"], [], enum_values_to_rename=[("w", "z")])
""",
}


def make(root: Path, body: str, imports: str = PLUGIN) -> Path:
    (root / "migrations" / "versions").mkdir(parents=True)
    (root / "migrations" / "env.py").write_text(ENV)
    (root / "alembic.ini").write_text(INI)
    text = REVISION.format(imports=imports, body=textwrap.indent(body.strip(), "    "))
    (root / "migrations" / "versions" / "r1.py").write_text(text)
    return root / "alembic.ini"


def lint(ini: Path, **kw: object) -> LintResult:
    return lint_project(ini, use_cache=False, **kw)  # type: ignore[arg-type]


def plugin_sql(ini: Path) -> list[str]:
    """The statements the installed plugin runs for the project's revision, offline."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-m", "alembic", "-c", str(ini), "upgrade", "head",
                          "--sql"], capture_output=True, text=True, env=env, check=True,
                         cwd=ini.parent).stdout
    out = re.sub(r"(?m)^--.*$", "", out)
    return [s.strip() for s in split_sql(out, "postgresql")
            if "alembic_version" not in s and s.strip().upper() not in ("BEGIN", "COMMIT")]


def findings(result: LintResult) -> set[tuple[str, str]]:
    return {(f.rule, re.sub(r"\s+", " ", f.message)) for f in result.findings}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_modelled_call_finds_what_the_plugins_own_sql_finds(tmp_path: Path,
                                                              name: str) -> None:
    ini = make(tmp_path / "model", CALLS[name])
    modelled = lint(ini)
    (report,) = modelled.revisions
    assert report.status == "static" and report.render_needs == []
    statements = plugin_sql(ini)
    assert statements
    body = "\n".join(f"op.execute({s!r})" for s in statements)
    plain = lint(make(tmp_path / "plain", body, imports=""))
    assert findings(modelled) == findings(plain)
    assert any(f.rule == "SL208" for f in modelled.findings) == any(
        "USING" in s for s in statements)


def test_the_model_writes_the_statements_in_the_plugins_order(tmp_path: Path) -> None:
    ini = make(tmp_path / "p", CALLS["array column, renames, a default"])
    statements = plugin_sql(ini)
    ops = analyze_source((tmp_path / "p/migrations/versions/r1.py").read_text(), "r1.py").ops
    modelled = [o.sql for o in ops if o.kind == "execute"]

    def words(sql: str | None) -> list[str]:
        return re.findall(r"[A-Za-z_]+", sql or "")[:6]

    assert [words(s) for s in modelled] == [words(s) for s in statements]


def test_the_old_tuple_style_is_read_statically(tmp_path: Path) -> None:
    """``[("table", "column")]``: the plugin reads the column's default from the database,
    which fails offline; the model reads it as a column without one."""
    tuple_style = lint(make(tmp_path / "t", """
op.sync_enum_values("public", "disablereason", ["compromised", "frozen"],
                    [("users", "disabled_for")], enum_values_to_rename=[])
""", imports=""))
    reference = lint(make(tmp_path / "r", """
op.sync_enum_values("public", "disablereason", ["compromised", "frozen"],
                    [TableReference(table_name="users", column_name="disabled_for")])
"""))
    assert tuple_style.revisions[0].status == "static"
    assert tuple_style.revisions[0].render_needs == []
    assert findings(tuple_style) == findings(reference)
    assert any(f.rule == "SL208" and "users.disabled_for" in f.message
               for f in tuple_style.findings)


@pytest.mark.parametrize("body,imports", [
    # a value built at run time
    ("values = load()\nop.sync_enum_values('public', 'e', values, [('t', 'c')])", ""),
    # indexes to recreate are not modelled
    ("op.sync_enum_values('public', 'e', ['a'], [('t', 'c')],\n"
     "                    indexes_to_recreate=[TableIndex('ix', 'CREATE INDEX ix ON t (c)')])",
     "from alembic_postgresql_enum.sql_commands.indexes import TableIndex"),
    # a TableReference that is not the plugin's
    ("op.sync_enum_values('public', 'e', ['a'], [TableReference('t', 'c')])",
     "from myapp.enums import TableReference"),
    # a parameter the plugin does not have
    ("op.sync_enum_values('public', 'e', ['a'], [('t', 'c')], cascade=True)", ""),
])
def test_a_call_the_model_cannot_read_is_rendered(tmp_path: Path, body: str,
                                                  imports: str) -> None:
    result = lint(make(tmp_path / "p", body, imports=imports), render=False)
    assert "custom operation" in result.revisions[0].render_needs


def test_other_dialects_see_nothing_of_a_postgresql_plugin(tmp_path: Path) -> None:
    ini = make(tmp_path / "p", CALLS["warehouse"])
    mysql = lint(ini, dialects=["mysql"])
    assert not [f for f in mysql.findings if f.rule != "SL601"]
    both = lint(ini, dialects=["postgresql", "mysql"])
    type_change = [f for f in both.findings if f.rule == "SL208"]
    assert type_change and all(f.dialect == "postgresql" for f in type_change)


def test_a_rendered_revision_keeps_the_plugins_sql_to_postgresql(tmp_path: Path) -> None:
    """A revision rendered for another need: each dialect's render is merged with the
    static operations of that dialect only (the plugin does nothing on MySQL)."""
    body = CALLS["warehouse"] + ('\nif op.get_bind().dialect.name == "mysql":\n'
                                 '    op.drop_column("flags", "legacy")\n')
    ini = make(tmp_path / "p", body)
    # in a process of its own: rendering imports the plugin, which registers its
    # autogenerate comparators for the rest of the process
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-m", "sluice", "lint", "--format", "json",
                           "--no-cache", "--dialect", "postgresql", "--dialect", "mysql"],
                          cwd=ini.parent, env=env, capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)
    (report,) = result["revisions"]
    assert report["status"] == "rendered" and report["render_needs"] == ["dialect branch"]
    type_change = [f for f in result["findings"] if f["rule"] in ("SL105", "SL208")]
    assert type_change and all(f["dialect"] == "postgresql" for f in type_change), type_change


def test_the_text_report_shows_no_sql_the_plugin_writes(tmp_path: Path) -> None:
    """Drawing the fix diffs evaluates each call with a recording ``op``; the plugin's
    operation runs its SQL on the offline bind instead, which wrote it to standard output
    above the report."""
    ini = make(tmp_path / "p", CALLS["warehouse"])
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-m", "sluice", "lint", "--no-cache"],
                          cwd=ini.parent, env=env, capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith("migrations/versions/r1.py:"), done.stdout[:300]
    assert "RENAME TO" not in done.stdout + done.stderr


@pytest.mark.parametrize("body,imports", [
    (CALLS["warehouse"], PLUGIN),
    ('op.execute("ALTER TYPE status RENAME TO status_old")\n'
     "op.execute(\"CREATE TYPE status AS ENUM ('active', 'closed')\")\n"
     'op.execute("ALTER TABLE accounts ALTER COLUMN status TYPE status '
     'USING status::text::status")\n'
     'op.execute("DROP TYPE status_old")', ""),
], ids=["plugin", "by hand"])
def test_an_enum_type_swap_says_what_is_safe_for_an_enum(tmp_path: Path, body: str,
                                                          imports: str) -> None:
    """SL208 on a column changed to an enum type the revision creates: the enum way out
    (add values without a rewrite; move rows off removed values first), not a new column."""
    result = lint(make(tmp_path / "p", body, imports=imports))
    (hit,) = [f for f in result.findings if f.rule == "SL208"]
    assert "enum type swap" in hit.message and "op.add_enum_value" in hit.fix
    assert "Add a new column" not in hit.fix
