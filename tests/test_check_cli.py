"""`sluice check` and `sluice lock` on the command line: formats, exit codes, one-line errors."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.support.check import overlay
from tests.support.cli import SLUICE, Result, run_cli, run_process
from tests.support.modules import forget_modules
from tests.support.project import edit
from tests.support.servers import server_url


def sluice(project: Path, *args: str) -> Result:
    forget_modules(project)
    return run_cli([args[0], "-c", str(project / "alembic.ini"), *args[1:]])


@pytest.fixture
def project(shop: Path) -> Path:
    assert sluice(shop, "lock").exit_code == 0
    return shop


def add_drift(project: Path) -> None:
    edit(project / "shopapp" / "models.py",
         "    legacy_field: Mapped[str | None] = mapped_column(String(50))\n",
         "    legacy_field: Mapped[str | None] = mapped_column(String(50))\n"
         "    nickname: Mapped[str | None] = mapped_column(String(50))\n")


def test_text_report_all_pass(project: Path) -> None:
    result = sluice(project, "check")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"sluice check {project / 'alembic.ini'} on a temporary SQLite database"
    assert [line.split()[:2] for line in lines[1:6]] == [
        ["✓", "graph"], ["✓", "upgrade"], ["✓", "drift"], ["✓", "roundtrip"],
        ["✓", "checksums"]]
    assert lines[-1] == "All 5 checks passed."
    assert "\x1b[" not in result.stdout  # no colour when piped


def test_text_report_failure_exit_1(project: Path) -> None:
    add_drift(project)
    result = sluice(project, "check", "--only", "graph,drift")
    assert result.exit_code == 1
    assert "✗ drift" in result.stdout
    assert "- column users.nickname: in the models (VARCHAR(50), NULL), missing from the " \
           "database" in result.stdout
    assert "fix: If the models are right" in result.stdout
    assert result.stdout.splitlines()[-1] == "1 of 2 checks did not pass: drift (FAILED)"


def test_json_is_the_only_thing_on_stdout(project: Path) -> None:
    add_drift(project)
    edit(project / "migrations" / "versions" / "0001_users_and_products.py",
         "def upgrade() -> None:\n", "def upgrade() -> None:\n    print('creating users')\n")
    result = sluice(project, "check", "--format", "json", "--only", "upgrade", "--only", "drift")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert "creating users" in result.stderr
    assert data["exit_code"] == 1 and data["passed"] is False
    assert [c["name"] for c in data["checks"]] == ["upgrade", "drift"]
    [problem] = data["checks"][1]["problems"]
    assert set(problem) >= {"rule", "name", "severity", "message", "fix", "path", "line",
                            "revision"}
    assert (problem["rule"], problem["name"], problem["severity"]) == (
        "check.drift", "drift", "error")
    assert data["checks"][1]["data"]["differences"][0]["kind"] == "add_column"


def test_junit(project: Path) -> None:
    add_drift(project)
    result = sluice(project, "check", "--format", "junit")
    assert result.exit_code == 1
    root = ET.fromstring(result.stdout)
    assert root.get("tests") == "5" and root.get("failures") == "1"
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert list(cases) == ["graph", "upgrade", "drift", "roundtrip", "checksums"]
    failure = cases["drift"].find("failure")
    assert failure is not None and "users.nickname" in (failure.text or "")
    assert cases["graph"].find("failure") is None


def test_github_annotations(project: Path) -> None:
    overlay(project, "missing_parent")
    result = sluice(project, "check", "--format", "github", "--only", "graph")
    assert result.exit_code == 2  # a broken graph: the gate fails closed
    first, last = result.stdout.splitlines()
    assert first.startswith("::error file=migrations/versions/0003_orphan.py,line=10,"
                            "title=check.graph missing-parent::down_revision '0099'")
    assert "%0A%0AFix:%0APoint down_revision at" in first
    assert last == "::notice title=sluice check::1 of 1 check did not pass (graph)"


def test_unknown_check_is_exit_2_one_line(project: Path) -> None:
    result = sluice(project, "check", "--only", "graph,drfit")
    assert result.exit_code == 2
    assert result.stderr == ("sluice: error: --only: unknown check 'drfit'; did you mean "
                             "'drift'? (valid: graph, upgrade, drift, roundtrip, checksums)\n")
    assert result.stdout == ""


def test_scratch_needs_url(project: Path) -> None:
    result = sluice(project, "check", "--scratch")
    assert result.exit_code == 2
    assert result.stderr == (
        "sluice: error: --scratch needs --url naming a PostgreSQL or MySQL/MariaDB server "
        "(or SLUICE_CHECK_URL, or check.url in sluice.toml)\n")


def test_scratch_takes_its_server_from_check_url(project: Path, tmp_path: Path) -> None:
    """docs/check.md: `--url` or `[check] url` or SLUICE_CHECK_URL names the server."""
    url = f"sqlite:///{tmp_path / 'server.db'}"  # SQLite: --scratch means a temporary file
    (project / "sluice.toml").write_text(f'[check]\nurl = "{url}"\n')
    result = sluice(project, "check", "--scratch", "--only", "upgrade")
    assert result.exit_code == 0, result.output
    assert "on a temporary SQLite database" in result.stdout


@pytest.mark.postgres
def test_scratch_on_the_postgresql_server_of_check_url(project: Path) -> None:
    (project / "sluice.toml").write_text(f'[check]\nurl = "{server_url("postgresql")}"\n')
    result = sluice(project, "check", "--scratch", "--only", "upgrade")
    assert result.exit_code == 0, result.output
    assert "on scratch databases on postgresql" in result.stdout.splitlines()[0]


def test_non_empty_url_is_exit_2_in_one_line(project: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dev.db'}"
    assert sluice(project, "check", "--url", url, "--only", "upgrade").exit_code == 0
    result = sluice(project, "check", "--url", url, "--only", "upgrade")
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"sluice: error: {url}: database is not empty (4 tables: ")
    assert line.endswith("never drops what it did not create: pass --scratch to let Sluice "
                         "create (and drop) a throwaway database on that server, or point "
                         "--url at an empty database")


def _check_url(project: Path, url: str) -> None:
    (project / "sluice.toml").write_text(f'exclude_tables = []\n\n[check]\nurl = "{url}"\n')


POSTGRES_ALIAS = ("postgres://postgres@127.0.0.1/postgres: SQLAlchemy has no dialect "
                  "'postgres'; write postgresql:// (postgresql://postgres@127.0.0.1/postgres)")
NOT_A_URL = ("'notaurl' is not a database URL SQLAlchemy can read; write one like "
             "postgresql://user@host:5432/dbname, mysql+pymysql://user@host/dbname, "
             "sqlite:///path/to/file.db")


@pytest.mark.parametrize("url, message", [
    ("postgres://postgres@127.0.0.1/postgres", POSTGRES_ALIAS), ("notaurl", NOT_A_URL)])
@pytest.mark.parametrize("origin", ["--url", "SLUICE_CHECK_URL", "check.url"])
def test_an_unusable_url_is_exit_2_naming_where_it_came_from(
        project: Path, monkeypatch: pytest.MonkeyPatch, url: str, message: str,
        origin: str) -> None:
    """Not a failed upgrade check (exit 1, "fix env.py") nor SQLAlchemy's words alone."""
    args = ["check", "--only", "upgrade"]
    where = origin
    if origin == "--url":
        args += ["--url", url]
    elif origin == "SLUICE_CHECK_URL":
        monkeypatch.setenv("SLUICE_CHECK_URL", url)
    else:
        _check_url(project, url)
        where = f"{project / 'sluice.toml'}:4: check.url"
    result = sluice(project, *args)
    assert (result.exit_code, result.stderr) == (2, f"sluice: error: {where}: {message}\n")
    assert result.stdout == ""


def test_unset_variable_in_check_url_names_key_and_line(project: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI_DB", raising=False)
    _check_url(project, "${CI_DB}")
    result = sluice(project, "check")
    assert (result.exit_code, result.stderr) == (
        2, f"sluice: error: {project / 'sluice.toml'}:4: check.url: environment variable "
           "CI_DB is not set\n")
    # sluice lock uses no database: the check's URL is not its business
    assert sluice(project, "lock").exit_code == 0


def test_unknown_check_in_config_names_key_and_line(project: Path) -> None:
    (project / "sluice.toml").write_text('[check]\nchecks = ["graph", "drfit"]\n')
    result = sluice(project, "check")
    assert (result.exit_code, result.stderr) == (
        2, f"sluice: error: {project / 'sluice.toml'}:2: check.checks: unknown check 'drfit'; "
           "did you mean 'drift'? (valid: graph, upgrade, drift, roundtrip, checksums)\n")


@pytest.mark.parametrize("value", ["-1", "0"])
def test_roundtrip_last_from_config_is_refused_like_last(project: Path, value: str) -> None:
    """`--last -1` is refused; `roundtrip_last = -1` ran "1 of 1 revision (latest -1)"."""
    (project / "sluice.toml").write_text(f"[check]\nroundtrip_last = {value}\n")
    result = sluice(project, "check", "--only", "roundtrip")
    assert (result.exit_code, result.stderr) == (
        2, f"sluice: error: {project / 'sluice.toml'}:2: check.roundtrip_last: must be 1 or "
           f"more (the latest N revisions; leave it out for all), got {value}\n")


def test_url_from_environment_variable(project: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLUICE_CHECK_URL", f"sqlite:///{tmp_path / 'ci.db'}")
    result = sluice(project, "check", "--only", "upgrade")
    assert result.exit_code == 0
    assert (tmp_path / "ci.db").exists()


def test_broken_config_is_exit_2(project: Path) -> None:
    (project / "sluice.toml").write_text('[check]\nroundtrip_lats = 3\n')
    result = sluice(project, "check")
    assert result.exit_code == 2
    assert "sluice.toml:2: check.roundtrip_lats: unknown key; did you mean 'roundtrip_last'?" \
        in result.stderr


def test_lock_command_reports_what_changed(project: Path) -> None:
    result = sluice(project, "lock")
    assert result.stdout == "sluice.sum is up to date (2 revision files; heads: 0002)\n"
    overlay(project, "merged")
    result = sluice(project, "lock")
    assert result.stdout.splitlines() == [
        f"wrote {project / 'sluice.sum'} (5 revision files; heads: 0005)",
        "  added: migrations/versions/0003_add_tags.py",
        "  added: migrations/versions/0004_add_coupons.py",
        "  added: migrations/versions/0005_merge.py",
    ]


def test_last_option(project: Path) -> None:
    result = sluice(project, "check", "--only", "roundtrip", "--last", "1", "--format", "json")
    data = json.loads(result.stdout)
    assert [r["revision"] for r in data["checks"][0]["data"]["revisions"]] == ["0002"]


def test_every_check_is_documented() -> None:
    from sluice.check import CHECKS

    page = (Path(__file__).resolve().parent.parent / "docs" / "check.md").read_text()
    for check in CHECKS:
        assert f"### `{check.name}`: {check.title}" in page
        assert len(check.doc) > 100, f"{check.name}: its function's docstring is its documentation"
    assert "[docs/check.md](docs/check.md)" in (
        Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_env_reaches_env_py(project: Path) -> None:
    result = sluice(project, "check", "--only", "upgrade", "--env", "prod")
    assert result.exit_code == 0
    assert "step seed_demo_products skipped in environment 'prod'" in result.stderr
    result = sluice(project, "check", "--only", "upgrade", "--env", "nope")
    assert result.exit_code == 2
    assert result.stderr.startswith("sluice: error: unknown environment 'nope' (from --env)")


def alembic_logs_at_info(project: Path) -> None:
    """alembic.ini as `alembic init` writes it: the alembic logger at INFO."""
    edit(project / "alembic.ini", "[logger_alembic]\nlevel = WARNING\n",
         "[logger_alembic]\nlevel = INFO\n")


def test_alembic_info_lines_stay_out_of_the_report(project: Path) -> None:
    import logging

    alembic_logs_at_info(project)
    before = logging.root.manager.disable
    result = sluice(project, "check")
    assert result.exit_code == 0, result.output
    assert "INFO  [alembic" not in result.stdout
    assert "INFO  [alembic" not in result.stderr
    assert logging.root.manager.disable == before


def test_verbose_shows_alembic_log_lines(project: Path) -> None:
    # A process of its own, as a user runs it: logging.config.fileConfig never re-enables
    # a child logger ("alembic.runtime.migration") that an earlier fileConfig in the same
    # process disabled, so an in-process run would depend on which tests ran before.
    alembic_logs_at_info(project)
    result = run_process([SLUICE, "check", "-c", project / "alembic.ini", "--only", "upgrade",
                          "-v"], timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "INFO  [alembic.runtime.migration] Running upgrade  -> 0001" in result.stderr
    assert "INFO  [alembic" not in result.stdout


def test_an_env_py_that_does_not_parse_is_named_with_its_line(project: Path) -> None:
    env = project / "migrations" / "env.py"
    env.write_text(env.read_text().replace("from alembic import context\n",
                                           "from alembic import context(\n", 1))
    result = sluice(project, "check", "--only", "graph,upgrade")
    assert result.exit_code == 1, result.output
    assert "migrations/env.py:5: env.py failed before any migration ran: SyntaxError: " \
           "invalid syntax" in result.stdout
