"""`sluice init DIR --metadata ... --url ...` with a typo: one line, exit 2, and nothing
written (a half-made project would then be "wired" by the next run, the typo kept)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import run_cli


@pytest.mark.parametrize(("args", "says"), [
    (["--metadata", "myapp.models"], "--metadata 'myapp.models': expected MODULE:ATTR"),
    (["--metadata", "my app.models:Base.metadata"], "--metadata 'my app.models:Base.metadata'"),
    (["--metadata", "myapp.models:Base.metadata()"], "expected MODULE:ATTR"),
    (["--url", "notaurl"], "--url 'notaurl': not a database URL"),
    (["--url", "postgresql://u:secret@db:5432x/app"], "--url 'postgresql://u:***@db:5432x/app'"),
    (["--url", "sqlite://app.db"], "sqlite:///app.db"),
])
def test_a_bad_option_creates_nothing(tmp_path: Path, args: list[str], says: str) -> None:
    target = tmp_path / "proj"
    result = run_cli(["init", str(target), *args])
    assert result.exit_code == 2, result.output
    assert says in result.stderr
    assert "secret" not in result.output
    assert len(result.stderr.strip().splitlines()) <= 2
    assert "Traceback" not in result.output
    assert not target.exists()


def test_options_for_a_new_project_are_not_ignored_silently_on_an_existing_one(
        tmp_path: Path) -> None:
    created = run_cli(["init", str(tmp_path / "proj"), "--url", "sqlite:///one.db"])
    assert created.exit_code == 0, created.output
    again = run_cli(["init", str(tmp_path / "proj"), "--url", "sqlite:///two.db",
                     "--metadata", "myapp.models:Base.metadata"])
    assert again.exit_code == 0, again.output
    assert "--url" in again.output and "--metadata" in again.output
    assert "not applied" in again.output
    ini = (tmp_path / "proj" / "alembic.ini").read_text()
    assert "sqlalchemy.url = sqlite:///one.db" in ini
