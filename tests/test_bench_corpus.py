"""bench/corpus.py on a small local history: materialise, lint, sample, carry labels, refuse.

The history is a real git repository made here (two revisions, one of them dropping a
column); the corpus script runs as a whole process, as documented in docs/lint.md.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import REPO

SCRIPT = REPO / "bench" / "corpus.py"
REVISION = '''from alembic import op
import sqlalchemy as sa

revision = "{rev}"
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade():
    {body}


def downgrade():
    {undo}
'''


def git(cwd: Path, *argv: str) -> str:
    done = subprocess.run(["git", "-c", "user.name=corpus", "-c", "user.email=c@example.org",
                           *argv], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("mirror")
    repo = root / "local+demo"
    versions = repo / "app" / "migrations" / "versions"
    versions.mkdir(parents=True)
    (repo / "app" / "migrations" / "env.py").write_text("from alembic import context\n")
    (versions / "a1_users.py").write_text(REVISION.format(
        rev="a1", down=None,
        body='op.create_table("users", sa.Column("id", sa.Integer(), primary_key=True), '
             'sa.Column("legacy", sa.Text()))',
        undo='op.drop_table("users")'))
    (versions / "a2_drop_legacy.py").write_text(REVISION.format(
        rev="a2", down="a1", body='op.drop_column("users", "legacy")',
        undo='op.add_column("users", sa.Column("legacy", sa.Text()))'))
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "history")
    return root, git(repo, "rev-parse", "HEAD")


def write_spec(path: Path, repo: str, commit: str) -> Path:
    path.write_text(f'[[history]]\nname = "demo"\nrepo = "{repo}"\ncommit = "{commit}"\n'
                    'path = "app/migrations"\ndialect = "postgresql"\n')
    return path


def corpus(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, argv)], capture_output=True,
                          text=True, timeout=300)


def test_lints_the_history_and_writes_a_sample(mirror: tuple[Path, str], tmp_path: Path) -> None:
    root, commit = mirror
    spec = write_spec(tmp_path / "corpus.toml", "local/demo", commit)
    work = tmp_path / "work"
    done = corpus("--spec", spec, "--mirror", root, "--work", work, "--sample", "5")
    assert done.returncode == 0, done.stderr
    assert "| SL002 drop-column | 1 | 1 |" in done.stdout
    assert f"| demo | local/demo @ {commit[:12]} | app/migrations/versions | postgresql | 2 (2) |" \
        in done.stdout
    assert (work / "demo" / "alembic.ini").read_text().startswith("[alembic]")
    assert 'dialects = ["postgresql"]' in (work / "demo" / "pyproject.toml").read_text()
    rows = list(csv.DictReader((work / "sample.csv").open()))
    assert [r["rule"] for r in rows if r["revision"] == "a2"] == ["SL002"]
    assert "no labelled findings in the sample yet" in done.stdout


def test_labels_carry_over_and_count(mirror: tuple[Path, str], tmp_path: Path) -> None:
    root, commit = mirror
    spec = write_spec(tmp_path / "corpus.toml", "local/demo", commit)
    work = tmp_path / "work"
    assert corpus("--spec", spec, "--mirror", root, "--work", work).returncode == 0
    rows = list(csv.DictReader((work / "sample.csv").open()))
    for row in rows:
        row["label"], row["reason"] = "true", "DROP COLUMN loses the data"
    labels = tmp_path / "review.csv"
    with labels.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    done = corpus("--spec", spec, "--mirror", root, "--work", work, "--labels", labels)
    assert done.returncode == 0, done.stderr
    assert f"labelled: {len(rows)} of {len(rows)} sampled findings" in done.stdout
    assert "true" in done.stdout and "100.0% of the sample" in done.stdout


def test_a_bad_label_names_the_file_and_line(mirror: tuple[Path, str], tmp_path: Path) -> None:
    root, commit = mirror
    spec = write_spec(tmp_path / "corpus.toml", "local/demo", commit)
    labels = tmp_path / "review.csv"
    labels.write_text("rule,history,path,line,label,reason\nSL002,demo,x.py,1,maybe,?\n")
    done = corpus("--spec", spec, "--mirror", root, "--work", tmp_path / "work",
                  "--labels", labels)
    assert done.returncode == 2
    assert done.stderr.strip() == (f"corpus: {labels}:2: label 'maybe' is not one of true, "
                                   "defensible, false")


def test_a_missing_repository_prints_the_clone_command(tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "corpus.toml", "local/absent", "0" * 40)
    done = corpus("--spec", spec, "--mirror", tmp_path / "none", "--work", tmp_path / "work")
    assert done.returncode == 2
    assert "git clone --filter=blob:none https://github.com/local/absent " in done.stderr
    assert "Traceback" not in done.stderr


def test_without_the_console_script_it_runs_python_m_sluice(monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import corpus
    finally:
        sys.path.remove(str(REPO / "bench"))
    python = sys.executable
    monkeypatch.setattr(corpus.sys, "executable", str(tmp_path / "python"))  # no script beside
    command = corpus.sluice_command()
    monkeypatch.undo()
    assert command[1:] == ["-m", "sluice"]
    done = subprocess.run([python, *command[1:], "rules", "SL001"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "drop-table" in done.stdout
