"""An unknown name in ``lint.trees`` is a configuration error: one line naming the file,
the line and the key, as every other bad setting; ``--tree`` names the option."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sluice.errors import SluiceError
from sluice.lint.engine import lint_project
from tests.support.cli import run_cli


def _project(root: Path, config_file: str, text: str) -> Path:
    (root / "migrations" / "versions").mkdir(parents=True)
    (root / "migrations" / "env.py").write_text("")
    (root / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/migrations\n")
    (root / config_file).write_text(text)
    return root / "alembic.ini"


@pytest.mark.parametrize(("config_file", "text", "line", "key"), [
    ("sluice.toml", '[lint]\nrender = false\ntrees = ["nope"]\n', 3, "lint.trees"),
    ("pyproject.toml", '[project]\nname = "x"\n\n[tool.sluice.lint]\ntrees = ["nope"]\n', 5,
     "tool.sluice.lint.trees"),
])
def test_unknown_tree_in_config_names_file_line_and_key(
        tmp_path: Path, config_file: str, text: str, line: int, key: str) -> None:
    ini = _project(tmp_path, config_file, text)
    res = run_cli(["lint", "-c", str(ini)], env={"NO_COLOR": "1"})
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    (message,) = [x for x in res.stderr.splitlines() if x.strip()]
    where = f"{tmp_path / config_file}:{line}: {key}: "
    assert message.startswith(f"sluice: error: {where}'nope': not a version location "
                              "or branch label"), message
    assert "available: migrations/versions" in message


def test_unknown_tree_on_the_command_line_names_the_tree(tmp_path: Path) -> None:
    ini = _project(tmp_path, "sluice.toml", '[lint]\ntrees = ["nope"]\n')
    with pytest.raises(SluiceError) as err:
        lint_project(ini, trees=["gone"], use_cache=False)
    assert str(err.value).startswith("tree 'gone': not a version location"), err.value
    assert os.fspath(tmp_path / "sluice.toml") not in str(err.value)


def test_unknown_tree_in_config_named_when_linting_files(tmp_path: Path) -> None:
    """``sluice lint FILE`` (what the pre-commit hook runs) says the same."""
    ini = _project(tmp_path, "sluice.toml", '[lint]\ntrees = ["nope"]\n')
    rev = tmp_path / "migrations" / "versions" / "a1.py"
    rev.write_text('revision = "a1"\ndown_revision = None\n\n\ndef upgrade():\n    pass\n\n\n'
                   "def downgrade():\n    pass\n")
    res = run_cli(["lint", "-c", str(ini), str(rev)], env={"NO_COLOR": "1"})
    assert res.exit_code == 2, res.output
    (message,) = [x for x in res.stderr.splitlines() if x.strip()]
    assert message.startswith(f"sluice: error: {tmp_path / 'sluice.toml'}:2: lint.trees: "
                              "'nope': not a version location"), message
