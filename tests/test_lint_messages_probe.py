"""Messages the CTFd (MySQL) and redash (PostgreSQL) probes found wrong: each test pins what
the finding must now say (and no longer say)."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from sluice.config import SluiceConfig, parse_config
from sluice.lint.engine import lint_project
from sluice.lint.model import Finding
from sluice.lint.registry import all_rules, run_rules
from sluice.lint.render import failures
from sluice.lint.static import analyze_source
from tests.support.lint import project as lint_tmp_project

RULES = all_rules()


def lint(body: str, rule: str, dialect: str, config: SluiceConfig | None = None,
         head: str = "") -> list[Finding]:
    src = (f"import sqlalchemy as sa\nfrom alembic import op\n{head}revision = 'x'\n"
           "down_revision = None\n\n\ndef upgrade():\n" + textwrap.indent(
               textwrap.dedent(body), "    ") + "\n\ndef downgrade():\n    pass\n")
    ops = analyze_source(src, "x.py").ops
    return run_rules(ops, config or SluiceConfig(), dialect=dialect, rules=[RULES[rule]])


def test_sl502_quotes_and_fixes_in_the_linted_dialect() -> None:
    (f,) = lint('''op.execute("""UPDATE alerts SET options = jsonb_set(options, '{selector}',
    '"first"') WHERE options->>'selector' IS NULL""")''', "SL502", "postgresql")
    for text in (f.message, f.fix):
        assert "JSON_EXTRACT_SCALAR" not in text
    assert "`WHERE options ->> 'selector' IS NULL`" in f.message
    assert "where=sa.text('options ->> :v1 IS NULL').bindparams(v1='selector')" in f.fix


def test_sl501_names_an_always_true_where_and_the_ddl_sl402_would_report() -> None:
    body = '''
    op.alter_column("users", "details", type_=sa.Text(), existing_type=sa.String(20))
    op.execute("update users set details = details || 'x' where 1=1")
    op.execute("UPDATE dashboards SET is_draft = false")
    '''
    first, second = lint(body, "SL501", "postgresql")
    assert "without WHERE" not in first.message
    assert "with a WHERE that matches every row (`WHERE 1 = 1`)" in first.message
    assert "Replace `WHERE 1 = 1`" in first.fix
    assert "UPDATE dashboards without WHERE" in second.message
    for f in (first, second):
        assert "after alter_column on users.details (line 9)" in f.message
    assert lint(body, "SL402", "postgresql") == []  # one finding per statement


def test_sl303_sits_on_the_first_ddl_and_offers_if_not_exists_only_where_it_works() -> None:
    body = '''
    op.create_table("audiences", sa.Column("id", sa.Integer(), primary_key=True))
    op.add_column("challenges", sa.Column("aud", sa.Integer(), nullable=True))
    op.create_foreign_key(None, "challenges", "audiences", ["aud"], ["id"])
    '''
    (mysql,) = lint(body, "SL303", "mysql")
    assert mysql.line == 9 and "starting here" in mysql.message
    assert "line 10 alters a table" in mysql.message
    assert "if_not_exists" not in mysql.fix and "if_exists" not in mysql.fix
    assert "assumed" not in mysql.message
    maria = parse_config({"lint": {"target_mysql_version": "mariadb-10.11"}})
    (f,) = lint(body, "SL303", "mysql", maria)
    assert "add_column(..., if_not_exists=True)" in f.fix
    assert "create_foreign_key cannot be made re-runnable" in f.fix


def test_sl101_to_jsonb_fails_on_invalid_json_and_does_not_repeat_sl208() -> None:
    body = '''op.alter_column("queries", "options", existing_type=sa.Text(),
    type_=sa.dialects.postgresql.JSONB(), postgresql_using="options::jsonb")'''
    (f,) = lint(body, "SL101", "postgresql")
    assert "or are truncated" not in f.message
    assert "fails on the first value that is not valid JSON" in f.message
    assert "IS NOT JSON" in f.fix
    (rewrite,) = lint(body, "SL208", "postgresql")
    assert "valid JSON" not in rewrite.message and "rewrites" not in f.message


@pytest.mark.parametrize(("dialect", "said", "not_said"), [
    ("postgresql", "PostgreSQL refuses it", "MySQL"),
    ("sqlite", "SQLite refuses it", "MySQL"),
    ("mysql", "MySQL silently fills", "PostgreSQL"),
])
def test_sl106_says_what_happens_on_the_linted_dialect(dialect: str, said: str,
                                                       not_said: str) -> None:
    (f,) = lint('op.add_column("favorites", sa.Column("org_id", sa.Integer(), '
                'nullable=False))', "SL106", dialect)
    assert said in f.message and not_said not in f.message


def test_sl304_with_names_from_variables_prints_no_placeholder() -> None:
    body = '''for table_name, column_name in rows:
    op.alter_column(table_name=table_name, column_name=column_name, type_=sa.DateTime())'''
    (f,) = lint(body, "SL304", "mysql", head="rows = []\n")
    assert "?" not in f.message and "None" not in f.fix
    assert "a column named at run time" in f.message
    assert "definition of each column it changes" in f.fix


def test_sl903_names_the_exception_once_and_the_removed_sqlalchemy_1x_api() -> None:
    class Run:
        reads: list[object] = []
        offline_checks = False

    try:
        raise TypeError("MetaData.__init__() got an unexpected keyword argument 'bind'")
    except TypeError as exc:
        got = failures.classify(exc, Run(), "x.py", [])  # type: ignore[arg-type]
    assert got.reason == "SQLAlchemy 1.x API"
    assert got.detail is not None and "TypeError" not in got.detail
    assert "uses MetaData(bind=...), which the installed SQLAlchemy 2 removed" in got.detail
    try:
        raise TypeError("'<=' not supported between instances of 'Stub' and 'int'")
    except TypeError as exc:
        plain = failures.classify(exc, Run(), "x.py", [])  # type: ignore[arg-type]
    assert plain.reason == "TypeError" and not (plain.detail or "").startswith("TypeError")


def test_a_missing_library_is_installed_not_stubbed_and_never_the_projects_code(
        tmp_path: Path) -> None:
    hint = failures._stub_hint("sqlalchemy_searchable_missing")
    assert "third-party library" in hint and "install it" in hint
    body = "pass\n"
    head = "from sqlalchemy_searchable_missing import sync_trigger\n"
    cfg = parse_config({"lint": {"stub_modules": ["sqlalchemy_searchable_missing"]}})
    assert lint(body, "SL603", "postgresql", cfg, head=head) == []


def test_the_assumed_mysql_version_is_one_note_not_in_every_finding(tmp_path: Path) -> None:
    ini = lint_tmp_project(tmp_path)
    ini.write_text(ini.read_text().replace("postgresql://app@db/app", "mysql://app@db/app"))
    (tmp_path / "migrations" / "versions" / "a002.py").write_text(textwrap.dedent('''\
        import sqlalchemy as sa
        from alembic import op

        revision = "a002"
        down_revision = "a001"
        branch_labels = None
        depends_on = None


        def upgrade():
            op.add_column("accounts", sa.Column("bio", sa.Text(), nullable=True))
            op.add_column("accounts", sa.Column("nick", sa.Text(), nullable=True))


        def downgrade():
            pass
        '''))
    result = lint_project(ini, use_cache=False)
    mysql = [f for f in result.findings if f.rule == "SL303"]
    assert mysql and all("assumed" not in f.message for f in result.findings)
    assert sum("assume MySQL 8.0" in n for n in result.notes) == 1, result.notes
    sys.modules.pop("a002", None)
