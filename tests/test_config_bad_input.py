"""Bad configuration input a new user writes on day one: each is one line naming the file,
the line where there is one, and the key as the file spells it; nothing passes as valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from sluice.config import load_config
from sluice.errors import ConfigError


def load_error(tmp_path: Path, text: str | bytes, name: str = "sluice.toml") -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path)
    message = str(err.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("name", ["sluice.toml", "pyproject.toml"])
def test_a_config_file_that_is_not_utf8_names_the_file(tmp_path: Path, name: str) -> None:
    """Not the TOML parser's own source file, nor the decoder's exception class."""
    head = b"[tool.sluice]\n" if name == "pyproject.toml" else b""
    message = load_error(tmp_path, head + b"exclude_tables = ['\xff\xfe']\n", name)
    line = 2 if head else 1
    assert message.startswith(f"{tmp_path / name}:{line}: not UTF-8 text")
    assert "tomllib" not in message and "UnicodeDecodeError" not in message
    assert "UTF-8" in message


def test_an_environment_name_that_is_not_a_string_is_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, 'environments = ["dev", 3, "prod"]\n')
    assert message == (f"{tmp_path / 'sluice.toml'}:1: environments[1]: expected string, "
                       "got integer")


@pytest.mark.parametrize("text", ['environments = ["dev", "", "prod"]\n',
                                  '[environments.dev]\n[environments.""]\n[environments.prod]\n',
                                  'environments = ["dev", " ", "prod"]\n'])
def test_an_empty_environment_name_is_refused(tmp_path: Path, text: str) -> None:
    """`-x env=` is always refused, so an environment named "" could never be chosen."""
    message = load_error(tmp_path, text)
    assert f"{tmp_path / 'sluice.toml'}" in message
    assert "environments" in message and "empty" in message


@pytest.mark.parametrize("text", ["environments = []\n", "environments = {}\n"])
def test_no_environment_at_all_is_refused(tmp_path: Path, text: str) -> None:
    message = load_error(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'sluice.toml'}:1: environments: no environment "
                              "listed")


def test_environments_without_the_default_production_one_say_which_default(
        tmp_path: Path) -> None:
    """The user wrote environments only; the message must not blame a key they never set
    as if they had, and must say both ways out."""
    message = load_error(tmp_path, "[environments.dev]\ndangerous_ops = 'warn'\n"
                                   "[environments.live]\n")
    assert message.startswith(f"{tmp_path / 'sluice.toml'}:1: environments: ")
    assert "no environment 'prod'" in message
    assert "production_environments" in message and "default" in message
    assert "[environments.prod]" in message
    assert "dev, live" in message


def test_environments_without_the_default_one_say_which_default(tmp_path: Path) -> None:
    message = load_error(tmp_path, "production_environments = ['live']\n"
                                   "[environments.staging]\n[environments.live]\n")
    assert message.startswith(f"{tmp_path / 'sluice.toml'}:2: environments: ")
    assert "no environment 'dev'" in message and "default_environment" in message
    assert "[environments.dev]" in message


@pytest.mark.parametrize("key", ["default_environment", "default-environment"])
def test_a_set_default_environment_that_is_missing_keeps_its_own_key_and_line(
        tmp_path: Path, key: str) -> None:
    message = load_error(tmp_path, f"{key} = 'qa'\n")
    assert message.startswith(f"{tmp_path / 'sluice.toml'}:1: default_environment: 'qa' ")


def test_a_misspelt_table_header_gets_its_line(tmp_path: Path) -> None:
    message = load_error(tmp_path, "exclude_tables = []\n\n[environment.prod]\nconfirm = true\n")
    assert message.startswith(f"{tmp_path / 'sluice.toml'}:3: environment: unknown key")
    assert "did you mean 'environments'" in message


def test_a_misspelt_table_header_in_pyproject_gets_its_line(tmp_path: Path) -> None:
    message = load_error(tmp_path, "[tool.sluice]\n[tool.sluice.chek.x]\ny = 1\n",
                         "pyproject.toml")
    assert message.startswith(f"{tmp_path / 'pyproject.toml'}:2: tool.sluice.chek: unknown key")


@pytest.mark.parametrize(("entry", "says"), [
    ('"users.full_name" = "accounts.name"', "a column keeps its table"),
    ('"users" = "users"', "renames a name to itself"),
    ('"users.email" = "users.email"', "renames a name to itself"),
    ('"" = ""', "empty"),
    ('"users." = "users.x"', "empty"),
])
def test_a_rename_that_cannot_be_one_is_refused(tmp_path: Path, entry: str, says: str) -> None:
    message = load_error(tmp_path, f"[renames]\n{entry}\n")
    assert message.startswith(f"{tmp_path / 'sluice.toml'}:2: renames")
    assert says in message


def test_an_empty_sum_file_is_said_on_load(tmp_path: Path) -> None:
    """With its line, by every command; not "leads out of the project folder"."""
    message = load_error(tmp_path, 'exclude_tables = []\n[check]\nsum_file = ""\n')
    assert message.startswith(f"{tmp_path / 'sluice.toml'}:3: check.sum_file: expected a "
                              "file name")


def test_a_sum_file_in_a_subfolder_is_fine(tmp_path: Path) -> None:
    (tmp_path / "sluice.toml").write_text('[check]\nsum_file = "db/locks.sum"\n')
    assert load_config(tmp_path).check.sum_file == "db/locks.sum"
