"""`-c pyproject.toml` (a project made with `alembic init -t pyproject` has its settings
there) is one line saying to pass alembic.ini, not configparser's "Source contains
parsing errors: PosixPath(...)"."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import run_cli


@pytest.mark.parametrize("command", [["heads"], ["graph"], ["lint"], ["lock"], ["plan"],
                                     ["check", "--only", "graph"], ["history"]])
def test_a_toml_file_given_as_alembic_ini(shop: Path, command: list[str]) -> None:
    toml = shop / "pyproject.toml"
    toml.write_text('[tool.alembic]\nscript_location = "%(here)s/migrations"\n'
                    'prepend_sys_path = [\n    "."\n]\n')
    result = run_cli([*command, "-c", str(toml)], cwd=shop)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "PosixPath" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"sluice: error: {toml}: ")
    assert "alembic.ini" in lines[0]
