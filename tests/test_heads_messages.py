"""`sluice heads` says what is true of the heads it explains: a head that already has a
branch label is told to declare that label, and an expected_heads entry that is a revision
id prefix is not called a branch."""

from __future__ import annotations

from pathlib import Path

from sluice.graph import explain_heads, render_heads
from sluice.graph.load import RevisionGraph
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


def test_a_project_without_revisions_says_so(tmp_path: Path) -> None:
    ini = write_history(tmp_path, [], "")
    result = run_cli(["heads", "-c", str(ini)], env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert "0 heads" not in result.stdout
    assert "no revisions yet" in result.stdout, result.stdout
    assert f"alembic -c {ini} revision -m" in result.stdout, result.stdout


def test_nothing_staged_is_not_called_a_project_without_revisions(tmp_path: Path) -> None:
    graph = RevisionGraph(nodes={}, heads=[], bases=[], root=tmp_path,
                          left_out=["migrations/versions/a1_step.py"])
    text = render_heads(graph, explain_heads(graph, []))
    assert "no revisions yet" not in text and "0 heads" not in text
    assert "no revision file is in git's index" in text, text
