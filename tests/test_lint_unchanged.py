"""A warm ``sluice lint`` lists the findings of the revisions that changed; one line counts
those of unchanged revisions (listed by the lint that cached them)."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import run_cli
from tests.support.lint import project


def test_a_warm_lint_lists_only_what_changed(tmp_path: Path) -> None:
    ini = project(tmp_path / "p", revisions=3)
    first = run_cli(["lint", "-c", ini])
    assert first.stdout.count("warning  SL502") == 3
    assert "not listed again" not in first.stdout

    warm = run_cli(["lint", "-c", ini])
    assert warm.exit_code == first.exit_code
    assert "warning  SL502" not in warm.stdout
    assert "0 errors, 3 warnings, 0 info" in warm.stdout
    assert "3 findings in 3 unchanged revisions not listed again (--all-findings lists " \
           "them)" in warm.stdout

    edited = tmp_path / "p" / "migrations" / "versions" / "a001.py"
    edited.write_text(edited.read_text() + "\n# edited\n")
    after = run_cli(["lint", "-c", ini])
    assert after.stdout.count("warning  SL502") == 1 and "a001.py" in after.stdout
    assert "2 findings in 2 unchanged revisions not listed again" in after.stdout

    assert run_cli(["lint", "-c", ini, "--all-findings"]).stdout.count("warning  SL502") == 3
    assert run_cli(["lint", "-c", ini, "--revision", "a002"]).stdout.count("warning  SL502") == 1
    assert run_cli(["lint", "-c", ini, "--format", "json"]).stdout.count('"SL502"') == 3
