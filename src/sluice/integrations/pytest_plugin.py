"""pytest plugin: Sluice's migration checks as tests in your own test run.

Installed with Sluice (entry point ``pytest11``), but it does nothing until a project
enables it, in any one of these ways::

    # pyproject.toml
    [tool.sluice.check]
    pytest = true

    [tool.pytest.ini_options]     # or pytest.ini / setup.cfg / tox.ini
    sluice = true                 # or: addopts = "-p sluice"

    pytest --sluice               # one run

Enabled, the run gains six tests, one per check: ``test_sluice_graph``,
``test_sluice_upgrade``, ``test_sluice_drift``, ``test_sluice_roundtrip``,
``test_sluice_checksums`` and ``test_sluice_lint``. Each fails with the same readable
report as ``sluice check`` (or ``sluice lint``). They belong to the first ``testpaths``
folder (ini ``sluice_tests_path`` to change it; without ``testpaths``, the first folder
the run is given, else the rootdir), e.g. ``tests/sluice::test_sluice_drift``, so
fixtures in its ``conftest.py`` apply; they are collected with that folder
(``pytest tests/test_x.py`` does not get them; ``-k sluice`` selects them).

Fixtures to override in ``conftest.py``:

- ``sluice_alembic_ini``: path of alembic.ini (default: ini ``sluice_alembic_ini``,
  ``alembic.ini`` in the rootdir).
- ``sluice_database_url``: database server for upgrade/drift/roundtrip (default:
  ``[tool.sluice.check] url``, else a temporary SQLite file per test).
- ``sluice_scratch``: create a scratch database per test on that server (default: True
  for PostgreSQL/MySQL URLs; set False when the URL is already a fresh, empty database).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any, NoReturn

import pytest

CHECK_TESTS = ("graph", "upgrade", "drift", "roundtrip", "checksums")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sluice", "Sluice migration checks")
    group.addoption("--sluice", action="store_true", default=False,
                    help="Add Sluice's migration checks (test_sluice_*) to this run.")
    parser.addini("sluice", type="bool", default=False,
                  help="Add Sluice's migration checks (test_sluice_*) to every run.")
    parser.addini("sluice_alembic_ini", default="alembic.ini",
                  help="alembic.ini for Sluice's checks, relative to the rootdir.")
    parser.addini("sluice_tests_path", default="",
                  help="Folder Sluice's tests belong to (its conftest fixtures apply); "
                       "default: the first testpaths entry, else the first folder "
                       "the run is given, else the rootdir.")


def _enabled_in_sluice_config(rootpath: Path) -> bool:
    """``[tool.sluice.check] pytest = true`` in the config found from the rootdir.

    Read as raw TOML: a broken Sluice config must not break an unrelated pytest run; when
    the plugin is enabled, the tests themselves report config errors. A file that does
    not parse enables them when a line of it sets ``pytest = true``: the project asked
    for the checks, and they report the syntax error instead of vanishing."""
    import re  # lazy: loaded in every pytest run

    from sluice.config import find_config_file  # lazy: loaded in every pytest run
    from sluice.core.pyproject import read_toml  # lazy: loaded in every pytest run
    from sluice.errors import SluiceError  # lazy: loaded in every pytest run

    try:
        file = find_config_file(rootpath)
        if file is None:
            return False
        raw = read_toml(file)
    except SluiceError:
        try:
            text = file.read_bytes() if file is not None else b""
        except OSError:
            return False
        return re.search(rb"(?m)^[ \t]*(check\.)?pytest[ \t]*=[ \t]*true\b", text) is not None
    except OSError:
        return False
    data = raw.get("tool", {}).get("sluice", {}) if file.name == "pyproject.toml" else raw
    check = data.get("check") if isinstance(data, dict) else None
    return isinstance(check, dict) and check.get("pytest") is True


def enabled(config: pytest.Config) -> bool:
    """Whether this run enabled Sluice's tests (flag, ``-p sluice``, ini, or config)."""
    if config.getoption("sluice", default=False):
        return True
    if "sluice" in (config.getoption("plugins", default=None) or []):
        return True
    if config.getini("sluice"):
        return True
    return _enabled_in_sluice_config(config.rootpath)


def pytest_configure(config: pytest.Config) -> None:
    if enabled(config):
        configured = str(config.getini("sluice_tests_path") or "")
        if configured and not (config.rootpath / configured).is_dir():
            # the tests hang from that folder: they would never be collected, never run
            raise pytest.UsageError(
                f"sluice_tests_path = {configured!r}: no such folder under the rootdir "
                f"({config.rootpath}); Sluice's tests belong to it and would not run: name "
                "an existing folder (usually tests), or leave it out")
        config.pluginmanager.register(SluiceTests(config), "sluice-tests")


# --------------------------------------------------------------------------- the tests


def _fail_report(report: Any) -> None:
    from sluice.check.render import text_report  # lazy: loaded in every pytest run

    pytest.fail(text_report(report).rstrip(), pytrace=False)


def _fail_error(exc: Any) -> NoReturn:
    """Fail the test with a Sluice error as the CLI prints it: one line, then its hint."""
    pytest.fail(f"sluice: error: {exc}" + (f"\n{exc.hint}" if exc.hint else ""),
                pytrace=False)


def run_check(name: str, ini: Path, url: str | None, scratch: bool) -> None:
    """Run one check of ``sluice check`` and turn its result into a pytest outcome."""
    from sluice.check import (  # lazy: loaded in every pytest run
        CheckOptions,
        run_checks,
    )
    from sluice.errors import SluiceError  # lazy: loaded in every pytest run

    error: SluiceError | None = None
    try:
        report = run_checks(ini, CheckOptions(only=[name], url=url, scratch=scratch))
    except SluiceError as exc:
        error = exc
    if error is not None:  # outside the except: no "during handling" traceback
        _fail_error(error)
    result = report.result(name)
    if result.status == "skip":
        pytest.skip(f"sluice check {name}: {result.summary}")
    if name != "graph" and [p.name for p in result.problems] == ["graph-does-not-load"]:
        # test_sluice_graph fails on the broken history: the others have nothing to add
        pytest.skip(f"sluice check {name}: {result.problems[0].message}")
    if result.status != "pass":
        _fail_report(report)
    if report.left_behind:  # the check passed; its scratch database could not be dropped
        pytest.fail("\n".join(f"sluice: error: {line}" for line in report.left_behind),
                    pytrace=False)


def _check_test(name: str) -> Callable[..., None]:
    def test(sluice_alembic_ini: Path, sluice_database_url: str | None,
             sluice_scratch: bool) -> None:
        run_check(name, Path(sluice_alembic_ini), sluice_database_url, sluice_scratch)

    test.__name__ = f"test_sluice_{name}"
    test.__doc__ = f"sluice check --only {name}"
    return test


def test_sluice_lint(sluice_alembic_ini: Path) -> None:
    """sluice lint: no finding at or above ``lint.fail_on`` in the revisions a plain
    ``sluice lint`` lints (those not recorded in ``sluice.sum`` as reviewed history)."""
    from sluice.config import load_config  # lazy: loaded in every pytest run
    from sluice.errors import SluiceError  # lazy: loaded in every pytest run

    try:
        from sluice.lint.engine import lint_project  # lazy: loaded in every pytest run
        from sluice.output import render_findings  # lazy: loaded in every pytest run
    except ImportError as exc:  # pragma: no cover - partial installs
        pytest.skip(f"sluice lint is not available: {exc}")
    ini = Path(sluice_alembic_ini)
    try:
        config = load_config(ini)
        # the scope of a plain `sluice lint`: the history recorded in sluice.sum is reviewed
        result = lint_project(ini, config, baseline=True)
    except SluiceError as exc:
        pytest.fail(f"sluice: error: {exc}", pytrace=False)
    if result.failed(config.lint.fail_on):
        out = io.StringIO()
        render_findings("text", result.findings, stream=out,
                        summary=[result.coverage.line()])
        pytest.fail(out.getvalue().rstrip(), pytrace=False)


TESTS: dict[str, Callable[..., None]] = {
    **{f"test_sluice_{name}": _check_test(name) for name in CHECK_TESTS},
    "test_sluice_lint": test_sluice_lint,
}


class SluiceTests:
    """Registered only when the project enabled the plugin: fixtures and collection."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.fixture
    def sluice_alembic_ini(self, pytestconfig: pytest.Config) -> Path:
        """alembic.ini the Sluice tests check (ini ``sluice_alembic_ini``)."""
        return pytestconfig.rootpath / str(pytestconfig.getini("sluice_alembic_ini"))

    @pytest.fixture
    def sluice_database_url(self, sluice_alembic_ini: Path) -> str | None:
        """Database server for the Sluice tests (None: a temporary SQLite file)."""
        from sluice.check.context import (  # lazy: loaded in every pytest run
            CheckOptions,
            check_url,
        )
        from sluice.config import load_config  # lazy: loaded in every pytest run
        from sluice.errors import SluiceError  # lazy: loaded in every pytest run

        if not Path(sluice_alembic_ini).is_file():
            return None
        error: SluiceError | None = None
        try:  # an unset ${VAR} in check.url, a bad config: one line, as the CLI says it
            return check_url(CheckOptions(), load_config(Path(sluice_alembic_ini)))[0]
        except SluiceError as exc:
            error = exc
        _fail_error(error)  # outside the except: no "during handling" traceback

    @pytest.fixture
    def sluice_scratch(self, sluice_database_url: str | None) -> bool:
        """Create (and drop) a scratch database per test on the server of the URL."""
        if sluice_database_url is None:
            return False
        from sqlalchemy.engine import make_url  # lazy: loaded in every pytest run

        return make_url(sluice_database_url).get_backend_name() != "sqlite"

    def anchor(self) -> Path:
        configured = str(self.config.getini("sluice_tests_path") or "")
        if configured:
            return (self.config.rootpath / configured).resolve()
        testpaths = [p for p in self.config.getini("testpaths") or []
                     if (self.config.rootpath / str(p)).is_dir()]
        if testpaths:
            return (self.config.rootpath / str(testpaths[0])).resolve()
        # no testpaths: the first folder the run was given (`pytest tests`); a run of
        # files only gets none (the rootdir, which such a run does not collect)
        start = self.config.invocation_params.dir
        for arg in self.config.args:
            folder = (start / str(arg).split("::")[0]).resolve()
            if folder.is_dir():
                return folder
        return self.config.rootpath.resolve()

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(self, collector: pytest.Collector
                                   ) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
        """The anchor folder collects as usual, plus a ``sluice`` node with the tests."""
        report = yield
        if isinstance(collector, (pytest.Dir, pytest.Package)) and report.passed \
                and collector.path.resolve() == self.anchor():
            report.result.append(SluiceFile.from_parent(collector, path=collector.path / "sluice"))
        return report


class SluiceItem(pytest.Function):
    """One Sluice test; reported by its own name, not a module path."""

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"sluice: {self.name}"


class SluiceFile(pytest.File):
    """The node Sluice's tests hang from: ``<folder>/sluice::test_sluice_graph`` ..."""

    def collect(self) -> list[pytest.Item]:
        return [SluiceItem.from_parent(self, name=name, callobj=fn)
                for name, fn in TESTS.items()]
