"""Where the pytest plugin's tests are collected when the project sets no ``testpaths``:
with the folder the run is given (``pytest --sluice tests``), not only with the rootdir,
which such a run never collects (the checks were silently left out of a green run)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture
def project(pytester: pytest.Pytester) -> Path:
    root = pytester.path
    (root / "tests").mkdir()
    (root / "tests" / "test_app.py").write_text("def test_app():\n    assert True\n")
    (root / "pytest.ini").write_text("[pytest]\n")
    return root


def collected(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines if "::" in line]


def test_a_folder_given_on_the_command_line_gets_the_tests(pytester: pytest.Pytester,
                                                           project: Path) -> None:
    result = pytester.runpytest("--sluice", "--co", "-q", "tests")
    names = collected(result)
    assert "tests/test_app.py::test_app" in names
    assert "tests/sluice::test_sluice_graph" in names
    assert len(names) == 7


def test_the_rootdir_run_and_one_file_are_as_before(pytester: pytest.Pytester,
                                                     project: Path) -> None:
    assert "sluice::test_sluice_graph" in collected(pytester.runpytest("--sluice", "--co", "-q"))
    one_file = collected(pytester.runpytest("--sluice", "--co", "-q", "tests/test_app.py"))
    assert one_file == ["tests/test_app.py::test_app"]


def test_testpaths_still_decide_when_set(pytester: pytest.Pytester, project: Path) -> None:
    (project / "other").mkdir()
    (project / "other" / "test_other.py").write_text("def test_other():\n    pass\n")
    (project / "pytest.ini").write_text("[pytest]\ntestpaths = tests\n")
    names = collected(pytester.runpytest("--sluice", "--co", "-q", "other", "tests"))
    assert "tests/sluice::test_sluice_graph" in names
    assert not any(name.startswith("other/sluice") for name in names)


def test_a_sluice_tests_path_that_is_no_folder_stops_the_run(pytester: pytest.Pytester,
                                                             project: Path) -> None:
    """Not a green run without the checks (the folder never collects, so they never run)."""
    (project / "pytest.ini").write_text("[pytest]\nsluice_tests_path = tset\n")
    result = pytester.runpytest("--sluice", "--co", "-q")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "sluice_tests_path = 'tset'" in result.stderr.str()


def test_a_testpaths_entry_that_is_no_folder_is_passed_over(pytester: pytest.Pytester,
                                                            project: Path) -> None:
    (project / "pytest.ini").write_text("[pytest]\ntestpaths = tset\n")
    names = collected(pytester.runpytest("--sluice", "--co", "-q", "-W", "ignore"))
    assert "sluice::test_sluice_graph" in names


def test_a_broken_sluice_toml_that_enables_the_tests_fails_them(pytester: pytest.Pytester,
                                                                 project: Path) -> None:
    """A TOML syntax error elsewhere in the file did not hide `pytest = true`: the checks
    vanished and the run was green. They run, and fail with the one-line error."""
    (project / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/migrations\n")
    (project / "sluice.toml").write_text("exclude_tables = [\n\n[check]\npytest = true\n")
    result = pytester.runpytest("-k", "sluice_graph", "-rN", "tests")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) + outcomes.get("errors", outcomes.get("error", 0)) == 1
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "sluice.toml:3:2: invalid TOML" in result.stdout.str()


def test_a_broken_sluice_toml_without_the_tests_leaves_the_run_alone(
        pytester: pytest.Pytester, project: Path) -> None:
    (project / "sluice.toml").write_text("exclude_tables = [\n")
    pytester.runpytest("-q", "tests").assert_outcomes(passed=1)
