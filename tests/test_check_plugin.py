"""The pytest plugin, exercised with pytester on a copy of examples/shop."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

# pytester puts sys.modules back after each in-process run, so a package first imported by
# an inner run would be dropped and imported again by a later test, re-running its import-
# time registrations into modules that stayed loaded (SQLAlchemy 2.0 then fails with "Type
# <class 'object'> is already registered"). Load what the inner runs use before pytester
# takes its snapshot.
import pytest
import sqlalchemy.orm  # noqa: F401

import sluice.check  # noqa: F401
import sluice.lint.engine  # noqa: F401
from sluice.integrations.pytest_plugin import enabled
from tests.support.check import overlay
from tests.support.paths import EXAMPLE, REPO

pytest_plugins = ["pytester"]

ALL = ["test_sluice_graph", "test_sluice_upgrade", "test_sluice_drift",
       "test_sluice_roundtrip", "test_sluice_checksums", "test_sluice_lint"]


@pytest.fixture
def project(pytester: pytest.Pytester) -> Iterator[Path]:
    """examples/shop as the pytester rootdir, with one ordinary test in tests/."""
    root = pytester.path
    for item in EXAMPLE.iterdir():
        if item.name in ("__pycache__",) or item.suffix == ".db":
            continue
        if item.is_dir():
            shutil.copytree(item, root / item.name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.db"))
        else:
            shutil.copy2(item, root / item.name)
    (root / "tests").mkdir()
    (root / "tests" / "test_app.py").write_text("def test_app():\n    assert True\n")
    (root / "pytest.ini").write_text("[pytest]\ntestpaths = tests\n")
    yield root
    for name in list(sys.modules):
        if name == "shopapp" or name.startswith("shopapp."):
            del sys.modules[name]


def enable(project: Path) -> None:
    with (project / "sluice.toml").open("a") as fh:
        fh.write("\n[check]\npytest = true\n")


def collected(result: pytest.RunResult) -> list[str]:
    return [line.split("::")[-1] for line in result.outlines if "::" in line]


def test_this_test_suite_did_not_enable_it(request: pytest.FixtureRequest) -> None:
    assert not enabled(request.config)
    assert request.config.pluginmanager.get_plugin("sluice-tests") is None


def test_does_nothing_unless_enabled(pytester: pytest.Pytester, project: Path) -> None:
    result = pytester.runpytest("--co", "-q")
    assert collected(result) == ["test_app"]
    fixtures = pytester.runpytest("--fixtures")
    assert "sluice_alembic_ini" not in fixtures.stdout.str()


@pytest.mark.parametrize("how", ["config", "flag", "ini", "-p"])
def test_enabled_per_project(pytester: pytest.Pytester, project: Path, how: str) -> None:
    args = ["--co", "-q"]
    if how == "config":
        enable(project)
    elif how == "flag":
        args.append("--sluice")
    elif how == "ini":
        (project / "pytest.ini").write_text("[pytest]\ntestpaths = tests\nsluice = true\n")
    else:
        args += ["-p", "sluice"]
    result = pytester.runpytest(*args)
    assert collected(result) == ["test_app", *ALL]
    assert "tests/sluice::test_sluice_graph" in result.stdout.str()


def test_not_added_when_running_one_file(pytester: pytest.Pytester, project: Path) -> None:
    enable(project)
    result = pytester.runpytest("--co", "-q", "tests/test_app.py")
    assert collected(result) == ["test_app"]
    result = pytester.runpytest("--co", "-q", "-k", "sluice_graph")
    assert collected(result) == ["test_sluice_graph"]


def test_all_pass_on_a_healthy_project(pytester: pytest.Pytester, project: Path) -> None:
    enable(project)
    from sluice.check import lock

    lock(project / "alembic.ini")
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=7)


def test_roundtrip_passes_with_a_data_migration(pytester: pytest.Pytester,
                                                project: Path) -> None:
    """The checkpoint table sluice.data leaves behind is Sluice's, not the project's."""
    enable(project)
    overlay(project, "data_step")
    result = pytester.runpytest("-v", "-k", "sluice_roundtrip or sluice_drift")
    result.assert_outcomes(passed=2, deselected=5)


def test_failures_read_like_the_cli(pytester: pytest.Pytester, project: Path) -> None:
    enable(project)
    overlay(project, "db_only_column")
    result = pytester.runpytest("-k", "sluice and (drift or checksums or graph)")
    result.assert_outcomes(passed=1, failed=2)
    out = result.stdout.str()
    assert "column users.middle_name: in the database (VARCHAR(100), NULL), not in the models" \
        in out
    assert "fix: Run `sluice lock` and commit sluice.sum with the new revision." in out
    assert "Traceback" not in out and "def test(" not in out
    assert "_ sluice: test_sluice_drift _" in out
    result = pytester.runpytest("--co", "-q")
    assert "7 tests collected" in result.stdout.str()


def test_skip_when_the_graph_does_not_load(pytester: pytest.Pytester, project: Path) -> None:
    enable(project)
    overlay(project, "cycle")
    result = pytester.runpytest("-k", "sluice_graph or sluice_upgrade", "-rs")
    result.assert_outcomes(failed=1, skipped=1)
    assert "revision cycle 0003 -> 0005 -> 0004 -> 0003" in result.stdout.str()


def test_fixtures_can_be_overridden(pytester: pytest.Pytester, project: Path,
                                    tmp_path: Path) -> None:
    enable(project)
    moved = project / "db"
    moved.mkdir()
    for name in ("alembic.ini", "migrations", "sluice.toml"):
        shutil.move(str(project / name), moved / name)
    (moved / "alembic.ini").write_text((moved / "alembic.ini").read_text()
                                       .replace("prepend_sys_path = %(here)s",
                                                "prepend_sys_path = %(here)s/.."))
    (project / "sluice.toml").write_text("[check]\npytest = true\n")
    given = tmp_path / "given.db"
    (project / "tests" / "conftest.py").write_text(
        "import pytest\n\n"
        "@pytest.fixture\n"
        "def sluice_alembic_ini(pytestconfig):\n"
        "    return pytestconfig.rootpath / 'db' / 'alembic.ini'\n\n"
        "@pytest.fixture\n"
        "def sluice_database_url():\n"
        f"    return 'sqlite:///{given}'\n")
    result = pytester.runpytest("-k", "sluice_upgrade")
    result.assert_outcomes(passed=1)
    assert given.exists()  # the given URL was used (not a temporary file)
    result = pytester.runpytest("-k", "sluice_upgrade")
    result.assert_outcomes(failed=1)
    assert "database is not empty" in result.stdout.str()


def test_server_url_gets_a_scratch_database_per_test(pytester: pytest.Pytester, project: Path,
                                                     pg_url: str) -> None:
    enable(project)
    (project / "tests" / "conftest.py").write_text(
        "import pytest\n\n@pytest.fixture\ndef sluice_database_url():\n"
        f"    return {pg_url!r}\n")
    result = pytester.runpytest("-k", "sluice_upgrade or sluice_drift or sluice_roundtrip")
    result.assert_outcomes(passed=3)


@pytest.mark.parametrize("layout", ["package", "rootdir"])
def test_other_layouts(pytester: pytest.Pytester, project: Path, layout: str) -> None:
    enable(project)
    if layout == "package":  # (not named "tests": that package is this test suite)
        (project / "tests").rename(project / "app_tests")
        (project / "app_tests" / "__init__.py").write_text("")
        (project / "pytest.ini").write_text("[pytest]\ntestpaths = app_tests\n")
        expected = "app_tests/sluice::test_sluice_graph"
    else:
        (project / "pytest.ini").write_text("[pytest]\n")
        expected = "sluice::test_sluice_graph"
    result = pytester.runpytest("--co", "-q")
    assert expected in result.stdout.str().splitlines()
    assert "7 tests collected" in result.stdout.str()


def test_lint_test_fails_on_an_error_finding(pytester: pytest.Pytester, project: Path) -> None:
    enable(project)
    result = pytester.runpytest("-k", "sluice_lint")
    result.assert_outcomes(passed=1)
    overlay(project, "irreversible")  # 0003 drops users.legacy_field
    result = pytester.runpytest("-k", "sluice_lint")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "migrations/versions/0003_drop_legacy_field.py" in out
    assert "SL002" in out and "drop-column" in out


def test_inner_runs_leave_installed_packages_loaded(pytester: pytest.Pytester,
                                                   project: Path) -> None:
    """pytester puts sys.modules back after an in-process run. SQLAlchemy's ORM, first
    imported by the inner run (the shop's models), must not be dropped: importing it again
    later re-runs its registrations (SQLAlchemy 2.0: "Type <class 'object'> is already
    registered", in whichever test of this process imports it next)."""
    enable(project)
    result = pytester.runpytest("-q", "-k", "sluice_drift")
    result.assert_outcomes(passed=1, deselected=6)
    assert "sqlalchemy.orm" in sys.modules


def test_an_unset_variable_in_check_url_is_one_line(pytester: pytest.Pytester,
                                                    project: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """As `sluice check` prints it: no traceback from the sluice_database_url fixture."""
    monkeypatch.delenv("SLUICE_TEST_UNSET_ADMIN_URL", raising=False)
    enable(project)
    with (project / "sluice.toml").open("a") as fh:
        fh.write('url = "${SLUICE_TEST_UNSET_ADMIN_URL}"\n')
    result = pytester.runpytest("-k", "sluice_drift")
    result.assert_outcomes(errors=1)
    out = result.stdout.str()
    assert ("check.url: environment variable SLUICE_TEST_UNSET_ADMIN_URL is not set"
            in out), out
    assert "Traceback" not in out and "ConfigError" not in out and "raise " not in out, out
    assert "During handling" not in out, out


def test_drift_passes_with_a_computed_column(pytester: pytest.Pytester,
                                             project: Path) -> None:
    """The pytest plugin's drift test compares as `alembic check` does (Alembic 1.18+
    would fail a callable comparator on a Computed default)."""
    enable(project)
    models = project / "shopapp" / "models.py"
    models.write_text(models.read_text().replace(
        "from sqlalchemy import ForeignKey,", "from sqlalchemy import Computed, ForeignKey,")
        + "\n\nclass Gauge(Base):\n    __tablename__ = 'gauges'\n\n"
          "    id: Mapped[int] = mapped_column(primary_key=True)\n"
          "    a: Mapped[int] = mapped_column()\n"
          "    doubled: Mapped[int] = mapped_column(Computed('a * 2'))\n")
    (project / "migrations" / "versions" / "0003_gauges.py").write_text(
        '"""gauges"""\nimport sqlalchemy as sa\nfrom alembic import op\n\n'
        'revision = "0003"\ndown_revision = "0002"\nbranch_labels = None\n'
        'depends_on = None\n\n\ndef upgrade() -> None:\n'
        '    op.create_table("gauges", sa.Column("id", sa.Integer(), primary_key=True),\n'
        '                    sa.Column("a", sa.Integer(), nullable=False),\n'
        '                    sa.Column("doubled", sa.Integer(), sa.Computed("a * 2")))\n\n\n'
        'def downgrade() -> None:\n    op.drop_table("gauges")\n')
    result = pytester.runpytest("-k", "sluice_drift")
    result.assert_outcomes(passed=1)


def test_integrations_page_points_at_the_plugin() -> None:
    text = (REPO / "docs" / "integrations.md").read_text(encoding="utf-8")
    assert "## pytest: the checks as tests" in text
    assert "(check.md#pytest-plugin)" in text
    assert "## pytest plugin" in (REPO / "docs" / "check.md").read_text(encoding="utf-8")
