"""An edited applied revision is warned about when there is nothing to do, too.

docs/production.md ("Checksums"): upgrade "warns about every applied revision whose file
no longer matches". After an edit to an applied revision, ``sluice upgrade --env prod
--yes`` with the database at head printed only "nothing to do: prod is at ...", exit 0:
the warning came only when something was upgraded (and in ``sluice history``)."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import run_cli
from tests.support.runner import SLUICE_TOML, chain, go, make_project, with_env

#: prod with a backup that does nothing (PostgreSQL and MariaDB have no built-in one) and
#: without the lint guard (not what this is about)
TOML = with_env(SLUICE_TOML, "prod", 'backup_command = "true"\nblock_on_lint_errors = false')


def test_nothing_to_do_still_warns_about_an_edited_applied_revision(
        tmp_path: Path, db_url: str) -> None:
    ini = make_project(tmp_path / "proj", chain(2), toml=TOML)
    assert go(ini, db_url, env="prod", yes=True).status == "applied"
    path = ini.parent / "migrations" / "versions" / "r0001.py"
    path.write_text(path.read_text() + "\n# edited after it was applied\n")
    msgs: list[str] = []
    result = go(ini, db_url, env="prod", yes=True, msgs=msgs)
    assert result.status == "up-to-date"
    assert [w.split(":", 1)[0] for w in result.warnings] == [str(path)]
    assert any(m.startswith("warning: ") and "revision r0001 changed after it was applied"
               in m for m in msgs), msgs

    cli = run_cli(["upgrade", "-c", ini, "--url", db_url, "--env", "prod", "--yes"])
    assert cli.exit_code == 0, cli.output
    assert cli.stdout.startswith("nothing to do: prod is at r0002")
    assert "revision r0001 changed after it was applied" in cli.stderr, cli.stderr


def test_nothing_to_do_and_nothing_edited_warns_about_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    ini = make_project(tmp_path / "proj", chain(2))
    go(ini, url)
    msgs: list[str] = []
    result = go(ini, url, msgs=msgs)
    assert result.status == "up-to-date" and result.warnings == [] and msgs == []
