"""The command an autogenerate refusal suggests (``alembic -x allow=... revision
--autogenerate``) repeats the options the refused command was given (``-c``, ``-n``,
``-x``), so that copied as printed it runs on the same project, environment and service."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from tests.support.cli import run_process
from tests.support.project import drop_legacy_field, upgrade


def _alembic(argv: list[str], cwd: Path) -> tuple[int, str]:
    done = run_process([sys.executable, "-m", "alembic", *argv], cwd=cwd, timeout=120)
    return done.returncode, done.stdout + done.stderr


def _suggested(output: str) -> list[str]:
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if "To generate it anyway" in line:
            return shlex.split(lines[i + 1].strip())
    raise AssertionError(f"no suggested command in:\n{output}")


def test_refusal_suggests_a_command_that_runs_as_printed(shop: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{shop / 'shop.db'}"
    upgrade(shop, url)
    drop_legacy_field(shop)
    elsewhere = tmp_path / "deploy"  # not the folder of alembic.ini: -c is needed
    elsewhere.mkdir()
    ini = shop / "alembic.ini"
    code, out = _alembic(["-c", str(ini), "-x", "env=staging", "revision", "--autogenerate",
                          "-m", "drop legacy"], elsewhere)
    assert code != 0 and "refused 1 dangerous operation" in out, out
    suggested = _suggested(out)
    assert suggested[0] == "alembic", suggested
    assert ["-c", str(ini)] == suggested[1:3], suggested
    assert "env=staging" in suggested, suggested
    assert "allow=drop_column:users.legacy_field" in suggested, suggested

    code, out = _alembic(suggested[1:], elsewhere)
    assert code == 0, out
    written = [p for p in (shop / "migrations" / "versions").glob("*.py")
               if "allowed drop_column:users.legacy_field" in p.read_text(encoding="utf-8")]
    assert len(written) == 1, out
