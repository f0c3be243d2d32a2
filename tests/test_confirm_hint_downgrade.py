"""The refusal of a production downgrade that has no terminal to confirm on names the
commands to run next; each must do what it says when copied as printed (the one that
runs the downgrade keeps ``--allow-downgrade``, or the downgrade guard refuses it)."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import run_cli
from tests.support.doc_commands import commands_in
from tests.support.runner import go, make, version


def _suggested(stderr: str, command: str) -> list[str]:
    for line in stderr.splitlines():
        at = line.find(f"sluice {command} ")
        while at >= 0:
            for argv in commands_in(line[at:].split("`")[0]):
                if argv[:2] == ["sluice", command]:
                    return argv
            at = line.find(f"sluice {command} ", at + 1)
    raise AssertionError(f"no `sluice {command}` suggested in:\n{stderr}")


def test_confirmation_hint_of_an_allowed_downgrade_runs_as_printed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    ini = make(tmp_path)
    go(ini, url)
    assert version(url) == ["r0003"]
    res = run_cli(["downgrade", "-1", "-c", str(ini), "--url", url, "--env", "prod",
                   "--allow-downgrade"], catch_exceptions=False)
    assert res.exit_code == 1 and "no terminal to ask on" in res.stderr, res.output
    assert version(url) == ["r0003"]

    plan = _suggested(res.stderr, "plan")
    shown = run_cli([*plan[1:], "--no-sql"], catch_exceptions=False)
    assert "downgrade plan" in shown.stdout, (plan, shown.output)

    downgrade = _suggested(res.stderr, "downgrade")
    assert "--yes" in downgrade and "--allow-downgrade" in downgrade, downgrade
    done = run_cli(downgrade[1:], catch_exceptions=False)
    assert done.exit_code == 0, (downgrade, done.output)
    assert version(url) == ["r0002"]
