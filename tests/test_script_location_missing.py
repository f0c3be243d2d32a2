"""A script_location that names no folder (a typo) is said the same way by every command:
the setting, the folder, "no such folder"; not Alembic's advice to run its `init`, which
would create a second, empty project."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.project import edit


@pytest.mark.parametrize("command", [["heads"], ["graph"], ["lock"], ["lint"],
                                     ["check", "--only", "graph"]])
def test_a_script_location_typo(shop: Path, command: list[str]) -> None:
    edit(shop / "alembic.ini", "script_location = %(here)s/migrations",
         "script_location = %(here)s/migration")
    result = run_cli([*command, "-c", str(shop / "alembic.ini")])
    assert result.exit_code == 2, result.output
    assert "'init' command" not in result.stderr
    assert f"script_location {shop / 'migration'}: no such folder" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
