"""A revision file that is not UTF-8, named to ``sluice lint FILE`` (the pre-commit hook),
the write hook or ``sluice lock``: its parse error (SL900) is reported for it, not
"--revision 'x1': no such revision", an option nobody passed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.modules import forget_modules

NOT_UTF8 = (b'"""latin-1 comment\n\nRevision ID: 0003\nRevises: 0002\n"""\n'
            b'revision = "0003"\ndown_revision = "0002"\nbranch_labels = None\n'
            b"depends_on = None\n# caf\xe9\n\n\ndef upgrade():\n    pass\n\n\n"
            b"def downgrade():\n    pass\n")


def write(shop: Path) -> Path:
    path = shop / "migrations" / "versions" / "0003_latin1.py"
    path.write_bytes(NOT_UTF8)
    forget_modules(shop)
    return path


@pytest.mark.parametrize("command", [["lint"], ["lint", "--format", "json"]])
def test_lint_file_reports_the_parse_error(shop: Path, command: list[str]) -> None:
    path = write(shop)
    result = run_cli([*command, str(path)], cwd=shop)
    assert "--revision" not in result.output
    assert result.exit_code == 1, result.output
    assert "SL900" in result.stdout and "0003_latin1.py" in result.stdout


def test_lock_refuses_it_with_the_parse_error(shop: Path) -> None:
    path = write(shop)
    result = run_cli(["lock"], cwd=shop)
    assert "--revision" not in result.output
    assert result.exit_code == 1, result.output
    assert "SL900" in result.output and path.name in result.output
    assert "0003" not in (shop / "sluice.sum").read_text()
