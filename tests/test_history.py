"""sluice.core.history: the one lister, header reader and revision map every command uses."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from sluice.core.history import (
    build_history,
    read_header,
    revision_files,
)
from sluice.errors import SluiceError
from sluice.lint.engine import lint_project
from tests.support.cli import run_cli

#: (id, down_revision, branch_labels): a main line and a labelled side branch.
REVISIONS = [
    ("1a2b3c4d", None, None),
    ("5e6f7a8b", "1a2b3c4d", None),
    ("9c0d1e2f", "5e6f7a8b", None),
    ("d4e5f6a7", "1a2b3c4d", ("side",)),
    ("e8f9a0b1", "d4e5f6a7", None),
]


def _revision(rev: str, down: str | None, labels: tuple[str, ...] | None) -> str:
    return (f'"""create t_{rev}"""\n'
            "from alembic import op\n"
            "import sqlalchemy as sa\n\n"
            f"revision = {rev!r}\ndown_revision = {down!r}\n"
            f"branch_labels = {labels!r}\ndepends_on = None\n\n\n"
            f"def upgrade():\n    op.create_table('t_{rev}', sa.Column('id', sa.Integer, "
            "primary_key=True))\n\n\n"
            f"def downgrade():\n    op.drop_table('t_{rev}')\n")


@pytest.fixture
def branched(shop: Path) -> Path:
    """The shop example with the history above (and no sluice.sum)."""
    versions = shop / "migrations" / "versions"
    shutil.rmtree(versions)
    versions.mkdir()
    for rev, down, labels in REVISIONS:
        (versions / f"{rev}_t.py").write_text(_revision(rev, down, labels), encoding="utf-8")
    (shop / "sluice.sum").unlink(missing_ok=True)
    return shop


def _history(project: Path):  # type: ignore[no-untyped-def]
    files = revision_files([project / "migrations" / "versions"])
    return build_history([read_header(p) for p in files])


@pytest.mark.parametrize(("spec", "expected"), [
    ("9c0d1e2f", ["9c0d1e2f"]),
    ("9c0d", ["9c0d1e2f"]),              # a unique prefix
    ("side@head", ["e8f9a0b1"]),         # the head of a branch
    ("side", ["d4e5f6a7"]),              # the revision that declares the label
    ("5e6f7a8b+1", ["9c0d1e2f"]),        # relative to a revision
    ("9c0d1e2f-2", ["1a2b3c4d"]),
    ("side@head-1", ["d4e5f6a7"]),
    ("heads", ["9c0d1e2f", "e8f9a0b1"]),
    ("base", ["1a2b3c4d"]),
])
def test_specs_resolve_as_alembic_does(branched: Path, spec: str, expected: list[str]) -> None:
    assert sorted(_history(branched).resolve(spec)) == expected


def test_unknown_ambiguous_and_several_heads_are_one_line_errors(branched: Path) -> None:
    history = _history(branched)
    with pytest.raises(SluiceError, match=r"^--revision '9c0d1e2x': no such revision; "
                                          r"did you mean 9c0d1e2f\?$"):
        history.resolve("9c0d1e2x", "--revision")
    (branched / "migrations" / "versions" / "9c0e_t.py").write_text(
        _revision("9c0e0000", "9c0d1e2f", None), encoding="utf-8")
    with pytest.raises(SluiceError, match=r"'9c0' is ambiguous: it matches 9c0d1e2f, 9c0e0000"):
        _history(branched).resolve("9c0", "--revision")
    with pytest.raises(SluiceError, match=r"'head': the history has several heads "
                                          r"\(9c0d1e2f, e8f9a0b1\)"):
        history.resolve("head", "--revision")


@pytest.mark.parametrize("spec", ["5e6f7a8b+1", "side@head", "side@head-1", "9c0d"])
def test_lint_revision_and_upgrade_name_the_same_revision(branched: Path, spec: str) -> None:
    """``sluice lint --revision X`` lints the revision ``sluice upgrade X`` ends at (lint
    used to read ``5e6f7a8b+1`` and ``side@head-1`` as unknown revision ids)."""
    url = f"sqlite:///{branched / 'resolve.db'}"
    result = run_cli(["upgrade", "-c", str(branched / "alembic.ini"),
                      "--url", url, "-y", spec])
    assert result.exit_code == 0, result.output
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        upgraded = {r[0] for r in conn.execute(sa.text("SELECT version_num FROM alembic_version"))}
    engine.dispose()
    linted = lint_project(branched / "alembic.ini", revisions=[spec], use_cache=False,
                          render=False)
    assert {r.revision for r in linted.revisions} == upgraded


def test_lister_follows_alembic_options(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    (versions / "sub" / "__pycache__").mkdir(parents=True)
    (versions / "__pycache__").mkdir()
    for name in ("b.py", "a.py", "__init__.py", ".#a.py", "notes.txt", "sub/c.py"):
        (versions / name).write_text("", encoding="utf-8")
    (versions / "__pycache__" / "gone.cpython-311.pyc").write_bytes(b"")
    (versions / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"")
    names = [p.relative_to(versions.resolve()).as_posix()
             for p in revision_files([versions, versions])]
    assert names == ["a.py", "b.py"]
    assert [p.name for p in revision_files([versions], recursive=True)] == ["a.py", "b.py", "c.py"]
    assert [p.name for p in revision_files([versions], sourceless=True)] == [
        "a.py", "b.py", "gone.cpython-311.pyc"]
    assert revision_files([tmp_path / "missing"]) == []


def test_header_is_read_without_importing(tmp_path: Path) -> None:
    path = tmp_path / "r.py"
    path.write_text('"""Add users\n\nlong text"""\nimport not_installed_anywhere\n'
                    "revision: str = 'r1'\ndown_revision = ('r0', 'q0')\n"
                    "branch_labels = 'svc'\ndepends_on = compute()\nsluice_phase = 'expand'\n",
                    encoding="utf-8")
    header = read_header(path)
    assert (header.revision, header.down_revisions, header.branch_labels) == (
        "r1", ("r0", "q0"), ("svc",))
    assert (header.revision_line, header.down_revision_line, header.branch_labels_line) == (
        5, 6, 7)
    assert header.dynamic_links and not header.dynamic
    assert (header.message, header.phase) == ("Add users", "expand")
    path.write_text("revision = 'r2'\ndown_revision = 'r1'\ndef upgrade(:\n", encoding="utf-8")
    broken = read_header(path)
    assert broken.syntax_error is not None and broken.syntax_error[0] == 3
    assert (broken.revision, broken.down_revisions) == ("r2", ("r1",))


def test_strict_map_names_the_files(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "a.py").write_text("revision = 'aaaa'\ndown_revision = 'zzzz'\n",
                                   encoding="utf-8")
    headers = [read_header(p) for p in revision_files([versions])]
    with pytest.raises(SluiceError, match=r"a.py:2: down_revision 'zzzz' of revision aaaa "
                                          r"does not exist"):
        build_history(headers, root=tmp_path)
    assert build_history(headers, strict=False).heads() == ["aaaa"]
