"""`sluice heads` says what is true of the heads it explains: a head that already has a
branch label is told to declare that label, and an expected_heads entry that is a revision
id prefix is not called a branch."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import run_cli

INI = """[alembic]
script_location = %(here)s/migrations
path_separator = os
sqlalchemy.url = sqlite:///%(here)s/heads.db
"""


def write_history(root: Path, revisions: list[tuple[str, str | None, str]],
                  config: str) -> Path:
    """(id, down_revision, branch label or "") per revision."""
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "migrations" / "env.py").write_text("")
    (root / "alembic.ini").write_text(INI)
    (root / "sluice.toml").write_text(config)
    for rev, down, label in revisions:
        labels = (label,) if label else None
        (versions / f"{rev}_step.py").write_text(
            f'"""step {rev}\n\nRevision ID: {rev}\n"""\nrevision = {rev!r}\n'
            f"down_revision = {down!r}\nbranch_labels = {labels!r}\ndepends_on = None\n\n\n"
            "def upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n")
    return root / "alembic.ini"


def test_an_undeclared_labelled_branch_is_told_to_declare_its_label(tmp_path: Path) -> None:
    ini = write_history(tmp_path, [("s1", None, "shared"), ("c1", None, "catalog"),
                                   ("c2", "c1", "")],
                        '[check]\nexpected_heads = ["shared"]\n')
    result = run_cli(["heads", "-c", str(ini)])
    assert result.exit_code == 1
    out = result.stdout
    assert "c2 is a head but matches no entry of [check] expected_heads" in out
    assert "give its first revision a branch label" not in out
    assert 'add "catalog" to [check] expected_heads' in out


def test_an_unlabelled_separate_head_is_still_told_to_label_it(tmp_path: Path) -> None:
    ini = write_history(tmp_path, [("s1", None, "shared"), ("c1", None, ""), ("c2", "c1", "")],
                        '[check]\nexpected_heads = ["shared"]\n')
    result = run_cli(["heads", "-c", str(ini)])
    assert result.exit_code == 1
    assert "give its first revision a branch label" in result.stdout


def test_an_entry_matching_two_heads_by_id_prefix_is_not_called_a_branch(
        tmp_path: Path) -> None:
    ini = write_history(tmp_path, [("0a1", None, ""), ("0b1", None, "")],
                        '[check]\nexpected_heads = ["0"]\n')
    result = run_cli(["heads", "-c", str(ini)])
    assert result.exit_code == 1
    out = result.stdout
    assert "branch '0'" not in out
    assert "entry '0' of [check] expected_heads matches 2 heads" in out
    assert f"alembic -c {ini} merge -m 'merge heads' 0a1 0b1" in out
