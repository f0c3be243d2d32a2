"""``sluice lint`` and ``sluice graph``/``heads`` resolve the environment as every other
command does: ``--env``, else ``-x env``, ``SLUICE_ENV``, ``ALEMBIC_ENV``; an empty or
unknown name is exit 2. They ignored ``SLUICE_ENV=junk`` and ``-x env=`` (exit 0) while
``--env junk`` was refused, and ``--env ""`` was called an unknown environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.cli import SLUICE, run_process
from tests.support.runner import chain, make_project


def _sluice(ini: Path, *args: str, **environ: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("SLUICE_ENV", "ALEMBIC_ENV", "ALEMBIC_CONFIG")}
    done = run_process([SLUICE, *args], cwd=ini.parent, env={**env, **environ})
    return done.returncode, done.stderr


@pytest.mark.parametrize("args, environ, expected", [
    (("lint",), {"SLUICE_ENV": "junk"}, "unknown environment 'junk' (from SLUICE_ENV)"),
    (("lint",), {"ALEMBIC_ENV": "junk"}, "unknown environment 'junk' (from ALEMBIC_ENV)"),
    (("lint", "-x", "env="), {}, "-x env=: the environment name is empty"),
    (("lint", "--env", ""), {}, "--env '': the environment name is empty"),
    (("lint", "--format", "json"), {"SLUICE_ENV": ""}, "SLUICE_ENV='': the environment "
                                                       "name is empty"),
    (("graph", "--env", "junk"), {}, "unknown environment 'junk' (from --env)"),
    (("heads", "--env", ""), {}, "--env '': the environment name is empty"),
], ids=["lint SLUICE_ENV", "lint ALEMBIC_ENV", "lint -x env=", "lint --env ''",
        "lint json SLUICE_ENV=''", "graph", "heads"])
def test_a_bad_environment_name_is_refused(tmp_path: Path, args: tuple[str, ...],
                                           environ: dict[str, str], expected: str) -> None:
    ini = make_project(tmp_path / "proj", chain(2))
    code, err = _sluice(ini, *args, **environ)
    assert code == 2, err
    assert expected in err, err


def test_a_named_environment_applies(tmp_path: Path) -> None:
    ini = make_project(tmp_path / "proj", chain(2))
    assert _sluice(ini, "lint", SLUICE_ENV="prod")[0] == 0
    assert _sluice(ini, "lint", "-x", "env=staging")[0] == 0
    assert _sluice(ini, "graph", "--env", "prod")[0] == 0
