"""``head`` in a project with several heads by design (examples/multiservice): ``sluice
upgrade`` and ``sluice plan`` say in one line how many heads there are, which, and what to
run instead (``heads`` or ``<label>@head``), with the run's own options; a downgrade to
``heads`` says which targets a downgrade from several heads takes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.support.cli import run_cli

HEADS = "the project has 3 heads (b0001 on branch billing, c0001 on branch catalog, " \
        "s0001 on branch shared)"


def tables(project: Path) -> set[str]:
    db = project / "multiservice.db"
    if not db.exists():
        return set()
    with sqlite3.connect(db) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


@pytest.mark.parametrize("args", [["plan"], ["upgrade"], ["upgrade", "head"]])
def test_head_with_several_heads_says_which_and_what_to_run(
        multiservice: Path, tmp_path: Path, args: list[str]) -> None:
    ini = multiservice / "alembic.ini"
    done = run_cli([*args, "-c", ini, "--env", "dev", "-x", "tenant=acme"], cwd=tmp_path)
    assert done.exit_code == 2, done.output
    lines = done.output.strip().splitlines()
    assert len(lines) == 1, done.output
    assert lines[0].startswith(f"sluice: error: upgrade head: {HEADS}"), lines[0]
    assert "Multiple head revisions" not in done.output
    cmd, opts = args[0], f"-c {ini} --env dev -x tenant=acme"
    assert f"`sluice {cmd} heads {opts}` to upgrade every branch" in lines[0]
    assert f"`sluice {cmd} <label>@head {opts}` for one " \
           "(billing@head, catalog@head, shared@head)" in lines[0]
    assert "alembic_version" not in tables(multiservice)
    # what it suggests works
    for target in ("billing@head", "heads"):
        done = run_cli(["plan", target, "-c", ini, "--env", "dev"], cwd=tmp_path)
        assert done.exit_code == 0, done.output


def test_upgrade_sql_with_several_heads_says_the_same(multiservice: Path,
                                                      tmp_path: Path) -> None:
    ini = multiservice / "alembic.ini"
    done = run_cli(["upgrade", "--sql", "-c", ini], cwd=tmp_path)
    assert done.exit_code == 2, done.output
    lines = done.output.strip().splitlines()
    assert lines == [f"sluice: error: upgrade head: {HEADS}, so 'head' does not say which "
                     f"to upgrade to: run `sluice upgrade heads --sql -c {ini} --env dev` to "
                     "upgrade every branch, or `sluice upgrade <label>@head --sql -c "
                     f"{ini} --env dev` for one (billing@head, catalog@head, shared@head)"]


@pytest.mark.parametrize("args", [["plan", "heads", "--downgrade"], ["downgrade", "heads"],
                                  ["downgrade", "head"]])
def test_a_downgrade_to_heads_says_which_targets_a_downgrade_takes(
        multiservice: Path, tmp_path: Path, args: list[str]) -> None:
    ini = multiservice / "alembic.ini"
    assert run_cli(["upgrade", "heads", "-c", ini], cwd=tmp_path).exit_code == 0
    before = tables(multiservice)
    done = run_cli([*args, "-c", ini, "--env", "dev"], cwd=tmp_path)
    assert done.exit_code == 2, done.output
    lines = done.output.strip().splitlines()
    assert len(lines) == 1, done.output
    assert lines[0].startswith(f"sluice: error: downgrade {args[1]}: {HEADS}"), lines[0]
    assert "'heads' for all heads" not in done.output
    suffix = " --downgrade" if args[0] == "plan" else ""
    cmd = args[0]
    assert f"`sluice {cmd} <label>@-1{suffix} -c {ini} --env dev` to take one branch back a revision " \
           "(billing@-1, catalog@-1, shared@-1)" in lines[0]
    assert f"`sluice {cmd} <label>@base{suffix} -c {ini} --env dev` to undo one branch" \
        in lines[0]
    assert tables(multiservice) == before
    # what it suggests works
    done = run_cli(["plan", "billing@-1", "--downgrade", "-c", ini, "--env", "dev"],
                   cwd=tmp_path)
    assert done.exit_code == 0, done.output
    assert "1 revision to revert" in done.output
