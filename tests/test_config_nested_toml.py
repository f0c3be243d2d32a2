"""A sluice.toml may nest its settings under ``[tool.sluice]``, as pyproject.toml does:
messages and hints then spell keys and tables as that file does."""

from __future__ import annotations

from pathlib import Path

import pytest

from sluice.config import load_config
from sluice.errors import ConfigError


def _error(tmp_path: Path, text: str) -> str:
    (tmp_path / "sluice.toml").write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path)
    return str(err.value)


def test_missing_environment_hint_spells_the_nested_table(tmp_path: Path) -> None:
    message = _error(tmp_path, "[tool.sluice.environments.dev]\nguard_alembic = true\n")
    assert "no environment 'prod'" in message, message
    assert "add [tool.sluice.environments.prod]" in message, message
    message = _error(tmp_path, '[tool.sluice]\nproduction_environments = []\n'
                               '[tool.sluice.environments.live]\n')
    assert "no environment 'dev'" in message and "add [tool.sluice.environments.dev]" \
        in message, message


def test_missing_environment_hint_in_a_plain_sluice_toml(tmp_path: Path) -> None:
    message = _error(tmp_path, "[environments.dev]\nguard_alembic = true\n")
    assert "add [environments.prod]," in message, message
    assert "tool.sluice.environments.prod" not in message


def test_nested_settings_are_named_as_the_file_spells_them(tmp_path: Path) -> None:
    toml = tmp_path / "sluice.toml"
    toml.write_text('[tool.sluice]\ndowngrades = "optional"\n\n[tool.sluice.lint]\n'
                    'trees = ["main"]\n')
    cfg = load_config(tmp_path)
    assert cfg.where("lint.trees") == f"{toml}:5: tool.sluice.lint.trees"
    assert (cfg.table("check"), cfg.table()) == ("[tool.sluice.check]", "[tool.sluice]")
