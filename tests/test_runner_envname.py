"""An empty or unknown environment name is refused, never replaced by the default.

``-x env=$DEPLOY_ENV`` with the variable unset gives ``-x env=``; a run that fell back to
``default_environment`` would deploy to production without its lock, backup or lint guard.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sluice.config import parse_config
from sluice.environments import environment_of, resolve_environment
from sluice.errors import ConfigError
from tests.support.cli import run_cli
from tests.support.runner import chain, make_project

CONFIG = parse_config({"environments": ["dev", "staging", "prod"],
                       "default_environment": "dev"})
ALEMBIC = str(Path(sys.executable).with_name("alembic"))


@pytest.mark.parametrize(
    ("x", "environ", "shown"),
    [
        ({"env": ""}, {}, "-x env="),
        ({"env": "  "}, {"SLUICE_ENV": "prod"}, "-x env="),
        ({}, {"SLUICE_ENV": ""}, "SLUICE_ENV=''"),
        ({}, {"ALEMBIC_ENV": ""}, "ALEMBIC_ENV=''"),
    ],
)
def test_empty_name_is_refused_naming_its_origin(x: dict[str, str], environ: dict[str, str],
                                                 shown: str) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_environment(CONFIG, x, environ)
    message = str(info.value)
    assert message.startswith(f"{shown}: the environment name is empty")
    assert message.endswith("Pass one of: dev, prod, staging") and "\n" not in message


def test_unknown_name_from_x_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"unknown environment 'prdo' \(from -x env\); "
                                          r"did you mean 'prod'\? valid: dev, prod, staging$"):
        resolve_environment(CONFIG, {"env": "prdo"}, {})


@pytest.mark.parametrize(("env", "x", "environ", "origin"), [
    (None, (), {"SLUICE_ENV": "prd"}, "SLUICE_ENV"),
    (None, (), {"ALEMBIC_ENV": "prd"}, "ALEMBIC_ENV"),
    ("prd", (), {}, "--env"),
    (None, ("env=prd",), {}, "-x env"),
    ("prod", ("env=prd",), {}, "-x env"),
])
def test_a_misspelt_name_gets_a_suggestion_wherever_it_came_from(
        env: str | None, x: tuple[str, ...], environ: dict[str, str], origin: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`SLUICE_ENV=prd sluice upgrade` said only "valid: ...", unlike an unknown key."""
    for name in ("SLUICE_ENV", "ALEMBIC_ENV"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        environment_of(CONFIG, env, x)
    assert str(info.value) == (f"unknown environment 'prd' (from {origin}); did you mean "
                               "'prod'? valid: dev, prod, staging")


def test_a_name_like_none_gets_no_suggestion() -> None:
    with pytest.raises(ConfigError) as info:
        environment_of(CONFIG, "qa")
    assert str(info.value) == "unknown environment 'qa' (from --env); valid: dev, prod, staging"


def test_cli_suggests_the_environment_meant_by_sluice_env(tmp_path: Path) -> None:
    ini, url = project(tmp_path)
    result = run_cli(["upgrade", "-c", str(ini), "--url", url, "--yes"],
                     env={"SLUICE_ENV": "prd"}, catch_exceptions=False)
    assert result.exit_code == 2
    assert result.stderr == ("sluice: error: unknown environment 'prd' (from SLUICE_ENV); did "
                             "you mean 'prod'? valid: dev, prod, staging, test\n")
    assert not (tmp_path / "app.db").exists()


def project(tmp_path: Path) -> tuple[Path, str]:
    ini = make_project(tmp_path / "p", chain(2))
    return ini, f"sqlite:///{tmp_path / 'app.db'}"


@pytest.mark.parametrize(
    ("args", "environ", "shown"),
    [
        (["-x", "env="], {}, "-x env="),
        (["-x", "env"], {}, "-x env="),
        (["--env", ""], {}, "--env ''"),
        (["--env", "prod", "-x", "env="], {}, "-x env="),
        ([], {"SLUICE_ENV": ""}, "SLUICE_ENV=''"),
    ],
)
@pytest.mark.parametrize("command", ["upgrade", "plan"])
def test_cli_refuses_an_empty_environment(tmp_path: Path, command: str, args: list[str],
                                          environ: dict[str, str], shown: str) -> None:
    ini, url = project(tmp_path)
    extra = ["--yes"] if command == "upgrade" else []
    result = run_cli([command, "-c", str(ini), "--url", url, *args, *extra], env=environ, catch_exceptions=False)
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert lines == [f"sluice: error: {shown}: the environment name is empty (an unset "
                     "variable?); refusing to guess. Pass one of: dev, prod, staging, test"]
    assert not (tmp_path / "app.db").exists()


def test_cli_refuses_an_unknown_environment(tmp_path: Path) -> None:
    ini, url = project(tmp_path)
    result = run_cli(["upgrade", "-c", str(ini), "--url", url, "-x",
                      "env=prdo", "--yes"], catch_exceptions=False)
    assert result.exit_code == 2
    assert result.stderr == ("sluice: error: unknown environment 'prdo' (from -x env); did "
                             "you mean 'prod'? valid: dev, prod, staging, test\n")
    assert not (tmp_path / "app.db").exists()


@pytest.mark.parametrize(("args", "environ", "shown"), [
    (["-x", "env="], {}, "-x env="), (["-x", "env"], {}, "-x env="),
    ([], {"SLUICE_ENV": ""}, "SLUICE_ENV=''"),
])
def test_plain_alembic_refuses_an_empty_environment(tmp_path: Path, args: list[str],
                                                    environ: dict[str, str], shown: str) -> None:
    ini, url = project(tmp_path)
    (ini.parent / "alembic.ini").write_text(
        ini.read_text().replace(f"sqlite:///{ini.parent}/app.db", url))
    env = {k: v for k, v in os.environ.items() if k not in ("SLUICE_ENV", "ALEMBIC_ENV")}
    proc = subprocess.run([ALEMBIC, "-c", str(ini), *args, "upgrade", "head"],
                          capture_output=True, text=True, env={**env, **environ}, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "Traceback" not in out
    # Alembic prints a CommandError as one FAILED line
    assert [ln for ln in out.splitlines() if ln.strip()] == [
        f"FAILED: {shown}: the environment name is empty (an unset variable?); refusing to "
        "guess. Pass one of: dev, prod, staging, test"], out
    assert not (tmp_path / "app.db").exists()


def test_check_refuses_an_empty_env_option(tmp_path: Path) -> None:
    """`sluice check` gates CI: `--env ""` must not check against the default environment."""
    ini, url = project(tmp_path)
    result = run_cli(["check", "-c", str(ini), "--env", ""], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        "sluice: error: --env '': the environment name is empty (an unset variable?); refusing "
        "to guess. Pass one of: dev, prod, staging, test"]
