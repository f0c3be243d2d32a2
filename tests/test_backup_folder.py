"""The backup's output folder: a templated backup file name (one with ``{timestamp}``, a
new file each run) goes into a folder that may not exist yet on the first production
run; Sluice makes it, so the documented ``-f backups/...`` works as written."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from sluice.runner.backup import BackupFailed, run_backup

WRITER = f"{shlex.quote(sys.executable)} -c " + shlex.quote(
    "import sys; a = sys.argv[-1]; open(a.split('=', 1)[-1], 'w').write('dump')")


@pytest.mark.parametrize("output", ["backups/{env}-{timestamp}-{revision}.dump",
                                    "--result-file=backups/nested/{timestamp}.sql"])
def test_the_folder_of_a_templated_backup_file_is_made(tmp_path: Path, output: str) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    result = run_backup(url, command=f"{WRITER} {output}", cwd=tmp_path, revision="a1",
                        target="head", env="prod")
    made = list((tmp_path / "backups").rglob("*"))
    assert [p.read_text() for p in made if p.is_file()] == ["dump"]
    assert "backups" in result.description


def test_a_folder_that_cannot_be_made_fails_before_the_command_runs(tmp_path: Path) -> None:
    (tmp_path / "backups").write_text("a file, not a folder")
    url = f"sqlite:///{tmp_path / 'app.db'}"
    with pytest.raises(BackupFailed) as caught:
        run_backup(url, command=f"{WRITER} backups/x/{{timestamp}}.dump", cwd=tmp_path,
                   revision="a1", target="head", env="prod")
    message = str(caught.value)
    assert "\n" not in message and "backups/x" in message
    assert message.endswith("nothing was changed")


def test_tokens_without_a_timestamp_are_left_alone(tmp_path: Path) -> None:
    """Only a per-run file name says where a new file goes; a fixed path is the
    command's own business."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    with pytest.raises(BackupFailed):
        run_backup(url, command=f"{WRITER} fixed/backup.dump", cwd=tmp_path, revision="a1",
                   target="head", env="prod")
    assert not (tmp_path / "fixed").exists()
