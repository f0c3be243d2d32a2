"""``[lint] enable``/``disable``/``severity`` keys that name no lint rule are refused in
one line naming the file, the line and the key, with the rule meant: a typo there would
leave a rule off that was meant on, or at its own severity where ``error`` was asked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.lint import project


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sluice", "lint", "--no-cache"], cwd=root,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          env={**os.environ, "NO_COLOR": "1"})


@pytest.mark.parametrize(("table", "key", "meant"), [
    ('enable = ["SL7O1"]', "enable", "'SL701'"),
    ('disable = ["SL9999"]', "disable", "`sluice rules`"),
    ('severity = { SL5O1 = "error" }', "severity", "'SL501'"),
    ('severity = { sl501 = "error" }', "severity", "'SL501'"),
    ('disable = ["drop-tabel"]', "disable", "'drop-table'"),
])
def test_a_key_naming_no_rule_is_refused(tmp_path: Path, table: str, key: str,
                                         meant: str) -> None:
    project(tmp_path)
    (tmp_path / "sluice.toml").write_text(f"# rules\n[lint]\n{table}\n")
    done = _lint(tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert f"sluice.toml:3: lint.{key}" in lines[0] and meant in lines[0]


def test_ids_in_any_case_names_and_families_are_taken(tmp_path: Path) -> None:
    project(tmp_path)
    (tmp_path / "sluice.toml").write_text(
        '[lint]\nenable = ["sl701", "unnamed-constraint"]\ndisable = ["SL501", "destructive"]\n'
        'severity = { SL201 = "info", drop-table = "warning" }\n')
    done = _lint(tmp_path)
    assert done.returncode in (0, 1), done.stderr
    assert "SL501" not in done.stdout
