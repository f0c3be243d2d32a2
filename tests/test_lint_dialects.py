"""Lint judges the dialects the project runs on, and skips reviewed history (issue 14).

Dialects: ``lint.dialects`` when set, else the dialect of the URL Alembic would use; a
version location named after a dialect is linted for that dialect; all three only when
nothing names one (with a note). Baseline: revisions recorded in ``sluice.sum`` are not
linted by ``sluice lint`` without a scope; ``--all`` lints them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sluice.config import parse_config
from sluice.lint.engine import lint_project
from sluice.lint.registry import all_rules
from tests.support.cli import Result, run_cli

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "realworld"
RULES = all_rules()

#: Creates an index on a live table (SL201, PostgreSQL) and copies a table on MySQL (SL301).
REVISION = '''
"""index and type change"""
import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = {down}


def upgrade():
    op.create_index("ix_users_email", "users", ["email"])
    op.alter_column("users", "zip", type_=sa.String(length=20),
                    existing_type=sa.Integer(), existing_nullable=True)


def downgrade():
    op.alter_column("users", "zip", type_=sa.Integer(),
                    existing_type=sa.String(length=20), existing_nullable=True)
    op.drop_index("ix_users_email", table_name="users")
'''


def make_project(root: Path, url: str | None, *, revisions: int = 1,
                 folder: str = "versions", pyproject: str = "") -> Path:
    versions = root / "migrations" / folder
    versions.mkdir(parents=True)
    ini = "[alembic]\nscript_location = %(here)s/migrations\npath_separator = os\n"
    if folder != "versions":
        ini += f"version_locations = %(here)s/migrations/{folder}\n"
    if url is not None:
        ini += f"sqlalchemy.url = {url}\n"
    (root / "alembic.ini").write_text(ini)
    if pyproject:
        (root / "pyproject.toml").write_text(pyproject)
    down = None
    for i in range(1, revisions + 1):
        rev = f"r{i}"
        (versions / f"{rev}_change.py").write_text(
            REVISION.format(rev=rev, down=repr(down)).lstrip())
        down = rev
    return root / "alembic.ini"


def families(findings: list) -> set[str]:  # type: ignore[type-arg]
    """The dialects of the dialect-specific rules that fired."""
    out: set[str] = set()
    for f in findings:
        rule = RULES[f.rule]
        if len(rule.dialects) < 3:
            out.update(rule.dialects)
    return out


def run(*args: str) -> Result:
    result = run_cli(list(args))
    assert "Traceback" not in result.output, result.output
    return result


# --------------------------------------------------------------------------- dialects


@pytest.mark.parametrize(("url", "expected"), [
    ("postgresql+psycopg://app@db/app", {"postgresql"}),
    ("postgres://app@db/app", {"postgresql"}),
    ("mysql+pymysql://root@db/app", {"mysql"}),
    ("mariadb+mariadbconnector://root@db/app", {"mysql"}),
    ("sqlite:///app.db", {"sqlite"}),  # SL608: alter_column outside batch mode fails there
])
def test_url_names_the_only_dialect_linted(tmp_path: Path, url: str,
                                           expected: set[str]) -> None:
    res = lint_project(make_project(tmp_path, url), use_cache=False)
    assert families(res.findings) == expected, [f.rule for f in res.findings]
    (dialect,) = res.dialects
    assert dialect in (expected or {"sqlite"})
    assert res.coverage.line().endswith(f"; linted for {dialect} (sqlalchemy.url)")
    # (MySQL findings assume a server version when none is named: one note says so)
    assert res.notes == (["note: the MySQL findings assume MySQL 8.0 (lint.target_mysql_version"
                          " is unset); name your server in pyproject.toml: [tool.sluice.lint] "
                          'target_mysql_version = "8.0.36" (or "mariadb-10.11")']
                         if dialect == "mysql" else [])


@pytest.mark.parametrize("url", [None, "driver://user:pass@localhost/dbname", ""])
def test_no_dialect_named_lints_all_three_with_a_note(tmp_path: Path,
                                                      url: str | None) -> None:
    res = lint_project(make_project(tmp_path, url), use_cache=False)
    assert families(res.findings) == {"postgresql", "mysql"}
    assert res.dialects == ["postgresql", "mysql", "sqlite"]
    assert res.coverage.line().endswith(
        "; linted for postgresql, mysql, sqlite (no dialect named)")
    (note,) = res.notes
    assert '[tool.sluice.lint] dialects = ["postgresql"]' in note and "\n" not in note


def test_lint_dialects_setting_wins_over_the_url(tmp_path: Path) -> None:
    ini = make_project(tmp_path, "postgresql://app@db/app",
                       pyproject='[tool.sluice.lint]\ndialects = ["mysql"]\n')
    res = lint_project(ini, use_cache=False)
    assert families(res.findings) == {"mysql"} and res.dialects == ["mysql"]
    assert res.coverage.line().endswith("; linted for mysql (lint.dialects)")


def test_x_url_wins_over_sqlalchemy_url(tmp_path: Path) -> None:
    ini = make_project(tmp_path, "sqlite:///app.db")
    res = lint_project(ini, use_cache=False, x_args=["url=postgresql://app@db/app"])
    assert families(res.findings) == {"postgresql"}
    assert res.coverage.line().endswith("; linted for postgresql (-x url)")


def test_url_env_py_reads_from_the_environment(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    ini = make_project(tmp_path, "sqlite:///dev.db")  # a local default env.py replaces
    (tmp_path / "migrations" / "env.py").write_text(
        "import os\nfrom alembic import context\n\nconfig = context.config\n"
        "config.set_main_option('sqlalchemy.url', os.environ['DATABASE_URL'])\n")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    res = lint_project(ini, use_cache=False, render=False)
    assert res.dialects == ["postgresql", "mysql", "sqlite"] and res.notes
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://app@db/app")
    res = lint_project(ini, use_cache=False, render=False)
    assert families(res.findings) == {"postgresql"}
    assert res.coverage.line().endswith("; linted for postgresql ($DATABASE_URL read by env.py)")


def test_dialect_named_folder_is_linted_for_that_dialect(tmp_path: Path) -> None:
    res = lint_project(make_project(tmp_path, None, folder="pg"), use_cache=False)
    assert families(res.findings) == {"postgresql"}
    assert res.notes == []  # every revision's dialect is named by its folder
    assert res.coverage.line().endswith("; linted for postgresql in migrations/pg (folder name)")


def test_per_dialect_trees_get_their_own_dialect(tmp_path: Path) -> None:
    proj = tmp_path / "per_dialect"
    shutil.copytree(FIXTURE / "per_dialect", proj)
    rendered = lint_project(proj / "alembic.ini", use_cache=False, render_all=True)
    by_file = {Path(r.path).stem: r.dialects for r in rendered.revisions}
    assert by_file["pg2_index"] == ["postgresql"] and by_file["sq2_batch"] == ["sqlite"]
    res = lint_project(proj / "alembic.ini", use_cache=False)  # sqlalchemy.url: sqlite
    pg = [f for f in res.findings if f.rule == "SL201"]
    assert [(Path(f.path or "").stem, f.line) for f in pg] == [("pg2_index", 17)]
    sq = [f for f in res.findings if "sq" in Path(f.path or "").stem]
    assert sq and not families(sq)
    assert res.dialects == ["sqlite", "postgresql"]


def test_explicit_dialect_argument_applies_everywhere(tmp_path: Path) -> None:
    ini = make_project(tmp_path, "postgresql://app@db/app", folder="pg")
    res = lint_project(ini, use_cache=False, dialects=["mysql"])
    assert families(res.findings) == {"mysql"}


def test_dialect_override_in_config_is_validated(tmp_path: Path) -> None:
    cfg = parse_config({"lint": {"dialects": ["oracle"]}})
    from sluice.errors import SluiceError

    with pytest.raises(SluiceError, match="unknown dialect 'oracle'"):
        lint_project(make_project(tmp_path, None), cfg, use_cache=False)


# --------------------------------------------------------------------------- baseline


def test_without_sum_file_lint_says_how_to_grandfather_history(tmp_path: Path) -> None:
    ini = make_project(tmp_path, "postgresql://app@db/app", revisions=2)
    result = run("lint", "-c", str(ini))
    assert result.exit_code == 1
    lines = result.stdout.strip().splitlines()
    assert lines[-2].startswith("2 revisions: 2 read statically")
    assert lines[-1].startswith("note: no sluice.sum: every revision was linted")
    assert f"`sluice lock -c {ini}`" in lines[-1]
    assert "r1_change.py" in result.stdout and "r2_change.py" in result.stdout


def test_revisions_in_sum_file_are_reviewed_history(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    make_project(tmp_path, "postgresql://app@db/app", revisions=2)
    monkeypatch.chdir(tmp_path)
    assert run("lock").exit_code == 0
    assert (tmp_path / "sluice.sum").is_file()
    result = run("lint")
    assert result.exit_code == 0, result.stdout
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "no findings"
    assert lines[1].startswith("0 revisions")
    assert lines[-1] == ("2 revisions recorded in sluice.sum not linted (reviewed history; "
                         "--all lints them too)")
    # a new revision is linted; the old ones are not
    versions = tmp_path / "migrations" / "versions"
    (versions / "r3_change.py").write_text(REVISION.format(rev="r3", down="'r2'").lstrip())
    result = run("lint")
    assert result.exit_code == 1
    assert "r3_change.py" in result.stdout and "r1_change.py" not in result.stdout
    assert result.stdout.strip().splitlines()[-2].startswith("1 revision: 1 read statically")
    # --all lints everything, and says nothing of revisions left unlinted (it may say
    # that `sluice fix` leaves the recorded ones alone)
    result = run("lint", "--all")
    assert "r1_change.py" in result.stdout and "r3_change.py" in result.stdout
    assert "not linted" not in result.stdout
    # an explicit scope lints what it names, recorded or not
    assert "r1_change.py" in run("lint", "--revision", "r1").stdout


@pytest.mark.parametrize(("broken", "said"), [
    ("<<<<<<< HEAD\n", "unresolved merge conflict"),
    ("garbage line\n", "not a checksum line: 'garbage line'"),
])
def test_a_broken_sum_file_stops_lint_and_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              broken: str, said: str) -> None:
    """Which revisions a sum file in conflict vouches for is unknown: lint and fix stop
    (naming its line) instead of skipping what it seems to record."""
    make_project(tmp_path, "postgresql://app@db/app", revisions=2)
    monkeypatch.chdir(tmp_path)
    assert run("lock").exit_code == 0
    text = (tmp_path / "sluice.sum").read_text().splitlines(keepends=True)
    line = len(text)
    (tmp_path / "sluice.sum").write_text("".join(text[:-1]) + broken + text[-1])
    for command in ("lint", "fix"):
        result = run(command)
        assert result.exit_code == 2, result.output
        assert result.stderr.splitlines()[0] == (
            f"sluice: error: sluice.sum:{line}: {said}; Sluice cannot tell reviewed history "
            "from new revisions")
    assert run("lint", "--all").exit_code == 1  # every revision, the sum file unread


def test_edited_reviewed_revision_is_linted_again(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    make_project(tmp_path, "postgresql://app@db/app", revisions=2)
    monkeypatch.chdir(tmp_path)
    assert run("lock").exit_code == 0
    first = tmp_path / "migrations" / "versions" / "r1_change.py"
    first.write_text(first.read_text() + "\n# edited after review\n")
    result = run("lint", "--format", "json")
    data = json.loads(result.stdout)
    assert {Path(r["path"]).stem for r in data["revisions"]} == {"r1_change"}
    assert data["notes"] == ["1 revision recorded in sluice.sum not linted (reviewed history; "
                             "--all lints them too)"]


def test_library_default_lints_everything(tmp_path: Path) -> None:
    ini = make_project(tmp_path, "postgresql://app@db/app", revisions=2)
    (tmp_path / "sluice.sum").write_text("heads: r2\n")
    res = lint_project(ini, use_cache=False)
    assert len(res.revisions) == 2 and res.baseline is None and res.notes == []
    res = lint_project(ini, use_cache=False, baseline=True)
    assert len(res.revisions) == 2 and res.baseline == 0



# --------------------------------------------------------------------------- graph


def test_duplicate_revision_ids_are_a_finding(tmp_path: Path) -> None:
    ini = make_project(tmp_path, "sqlite:///app.db", revisions=2)
    versions = tmp_path / "migrations" / "versions"
    copy = versions / "r3_copy.py"
    copy.write_text((versions / "r2_change.py").read_text())  # copied to start a new one
    res = lint_project(ini, use_cache=False)
    dupes = sorted((Path(f.path or "").name, f.line) for f in res.findings if f.rule == "SL905")
    assert dupes == [("r2_change.py", 5), ("r3_copy.py", 5)]
    (first, *_) = [f for f in res.findings if f.rule == "SL905"]
    assert first.severity == "error" and "revision id r2 is also declared by" in first.message
    assert "migrations/versions/r" in first.message
    scoped = lint_project(ini, use_cache=False, revisions=["r1"])
    assert not [f for f in scoped.findings if f.rule == "SL905"]


@pytest.mark.parametrize(("dialect", "risk"), [("postgresql", "HIGH"), ("sqlite", "low"),
                                               ("mysql", "low")])
def test_review_header_judges_the_dialect_autogenerate_compares_against(
        dialect: str, risk: str) -> None:
    import types

    from alembic.operations import ops

    from sluice.config import SluiceConfig
    from sluice.policy.base import PolicyContext
    from sluice.policy.review import header_lines

    script = ops.MigrationScript(
        rev_id="r9", upgrade_ops=ops.UpgradeOps([ops.CreateIndexOp(
            "ix_users_email", "users", ["email"])]), downgrade_ops=ops.DowngradeOps([]))
    ctx = PolicyContext(config=SluiceConfig(), environment="dev", migration_context=types.
                        SimpleNamespace(dialect=types.SimpleNamespace(name=dialect)))
    (_, line) = header_lines(ctx, script)
    assert line.startswith(f"  [{risk:<6}] create_index users (ix_users_email)"), line


def test_review_header_judges_lint_dialects_when_set() -> None:
    """Autogenerate may compare against a local SQLite stand-in; lint.dialects names
    production's database."""
    import types

    from alembic.operations import ops

    from sluice.policy.base import PolicyContext
    from sluice.policy.review import header_lines

    script = ops.MigrationScript(
        rev_id="r9", upgrade_ops=ops.UpgradeOps([ops.CreateIndexOp(
            "ix_users_email", "users", ["email"])]), downgrade_ops=ops.DowngradeOps([]))
    sqlite = types.SimpleNamespace(dialect=types.SimpleNamespace(name="sqlite"))
    ctx = PolicyContext(config=parse_config({"lint": {"dialects": ["sqlite", "postgresql"]}}),
                        environment="dev", migration_context=sqlite)
    (_, line) = header_lines(ctx, script)
    assert line.startswith("  [HIGH  ] create_index users (ix_users_email)"), line
