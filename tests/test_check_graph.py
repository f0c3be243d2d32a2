"""`sluice check` graph check on deliberately broken projects (no database needed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sluice.check import CheckOptions, run_checks
from sluice.errors import SluiceError
from tests.support.check import config, overlay, problems, run

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "check"


def test_clean_history_passes(shop: Path) -> None:
    report = run(shop, "graph")
    result = report.result("graph")
    assert result.status == "pass", result.problems
    assert result.summary == "2 revisions, 1 head (0002)"
    assert report.exit_code == 0


def test_two_heads_fail_naming_both_files_and_the_fix(shop: Path) -> None:
    overlay(shop, "two_heads")
    report = run(shop, "graph")
    assert report.exit_code == 1
    [p] = problems(report, "graph")
    assert p.kind == "multiple-heads"
    assert "2 heads: 0003 (migrations/versions/0003_add_tags.py), " \
           "0004 (migrations/versions/0004_add_coupons.py)" in p.message
    assert "written on top of 0002 in parallel" in p.message
    assert p.path in ("migrations/versions/0003_add_tags.py",
                      "migrations/versions/0004_add_coupons.py")
    assert p.line == 10  # the down_revision line
    assert f"`alembic -c {shop / 'alembic.ini'} merge -m 'merge heads' 0003 0004`" in p.fix
    assert "go in [check] expected_heads." in p.fix


def test_expected_heads_by_branch_label_pass(shop: Path) -> None:
    overlay(shop, "labels")
    assert run(shop, "graph").exit_code == 1
    config(shop, '[check]\nexpected_heads = ["billing", "search"]\n')
    report = run(shop, "graph")
    assert report.result("graph").status == "pass", problems(report, "graph")


def test_expected_heads_catch_a_second_head_in_one_branch(shop: Path) -> None:
    overlay(shop, "labels")
    root = (shop / "migrations" / "versions" / "0003_billing_root.py").read_text()
    for rev in ("0005", "0006"):
        (shop / "migrations" / "versions" / f"{rev}_more_billing.py").write_text(
            root.replace('revision = "0003"', f'revision = "{rev}"')
            .replace('down_revision = "0002"', 'down_revision = "0003"')
            .replace('branch_labels = ("billing",)', "branch_labels = None")
            .replace('"invoices"', f'"credit_notes_{rev}"'), encoding="utf-8")
    config(shop, '[check]\nexpected_heads = ["billing", "search"]\n')
    [p] = problems(run(shop, "graph"), "graph")
    assert p.kind == "multiple-heads"
    assert p.message.startswith("branch 'billing': 2 heads: 0005")
    assert "written on top of 0003 in parallel" in p.message
    # the merge joins this branch's two heads, not the search branch's head with them
    assert f"`alembic -c {shop / 'alembic.ini'} merge -m 'merge heads' 0005 0006`" in p.fix
    assert "merge heads' heads" not in p.fix


def test_unknown_expected_head_names_the_key(shop: Path) -> None:
    config(shop, '[check]\nexpected_heads = ["nope"]\n')
    kinds = {p.kind: p for p in problems(run(shop, "graph"), "graph")}
    unknown = kinds["unknown-expected-head"]
    assert unknown.message.startswith("check.expected_heads: 'nope' names no revision")
    assert (unknown.path, unknown.line) == (str(shop / "sluice.toml"), 3)
    assert "add the label to [check] expected_heads." in kinds["unexpected-head"].fix


def test_merged_heads_pass(shop: Path) -> None:
    overlay(shop, "merged")
    report = run(shop, "graph")
    assert report.result("graph").status == "pass", problems(report, "graph")
    assert report.result("graph").data["heads"] == ["0005"]


def test_cycle_is_one_line_naming_the_files(shop: Path) -> None:
    overlay(shop, "cycle")
    report = run(shop, "graph", "upgrade")
    [p] = problems(report, "graph")
    assert p.kind == "cycle"
    assert "revision cycle 0003 -> 0005 -> 0004 -> 0003" in p.message
    assert "migrations/versions/0003_a.py" in p.message
    assert p.path == "migrations/versions/0003_a.py"
    upgrade = report.result("upgrade")
    assert upgrade.status == "skip" and "revision cycle" in upgrade.summary


def test_missing_parent(shop: Path) -> None:
    overlay(shop, "missing_parent")
    [p] = problems(run(shop, "graph"), "graph")
    assert p.kind == "missing-parent"
    assert p.message == ("down_revision '0099' of revision 0003 does not exist "
                         "(no revision file declares it)")
    assert (p.path, p.line) == ("migrations/versions/0003_orphan.py", 10)


def test_duplicate_revision_id(shop: Path) -> None:
    overlay(shop, "duplicate_id")
    [p] = problems(run(shop, "graph"), "graph")
    assert p.kind == "duplicate-revision"
    assert p.path == "migrations/versions/0003_second.py"
    assert "also declared by migrations/versions/0003_first.py" in p.message


def test_revision_that_fails_to_import_is_one_line_with_file_and_line(shop: Path) -> None:
    overlay(shop, "import_error")
    child = (shop / "migrations" / "versions" / "0003_needs_app_code.py").read_text()
    (shop / "migrations" / "versions" / "0004_child.py").write_text(
        child.replace('revision = "0003"', 'revision = "0004"')
        .replace('down_revision = "0002"', 'down_revision = "0003"')
        .replace("from shopapp.not_there import CustomType  # noqa: F401", "")
        .replace('"x"', '"y"'))
    report = run(shop, "graph", "upgrade", "drift")
    [p] = problems(report, "graph")
    assert (p.path, p.line) == ("migrations/versions/0003_needs_app_code.py", 9)
    assert p.message == ("cannot load the revision: ModuleNotFoundError: "
                         "No module named 'shopapp.not_there'")
    assert "install the missing package" in p.fix
    assert report.result("upgrade").status == "skip"
    assert report.result("drift").status == "skip"
    assert report.result("graph").status == "error"
    assert report.exit_code == 2  # a history Alembic cannot load fails closed
    assert report.result("graph").data["heads"] == ["0004"]  # the child is no orphan


def test_duplicate_branch_label(shop: Path) -> None:
    overlay(shop, "merged")
    for name in ("0003_add_tags.py", "0004_add_coupons.py"):
        path = shop / "migrations" / "versions" / name
        path.write_text(path.read_text().replace("branch_labels = None",
                                                 'branch_labels = ("feature",)'))
    [p] = problems(run(shop, "graph"), "graph")
    assert p.kind == "duplicate-branch-label"
    assert "branch label 'feature' of revision 0004 is already declared by revision 0003" \
        in p.message


def test_pass_downgrade_fails_when_required(shop: Path) -> None:
    overlay(shop, "no_downgrade")
    [p] = problems(run(shop, "graph"), "graph")
    assert p.kind == "no-downgrade"
    assert (p.path, p.line) == ("migrations/versions/0003_add_tags.py", 19)
    assert "downgrade() does nothing" in p.message
    assert 'raise NotImplementedError("irreversible: <why>")' in p.fix
    assert p.fix.endswith('downgrades = "none" in sluice.toml (top level).')


def test_data_only_upgrade_needs_no_downgrade(shop: Path) -> None:
    """check judges a downgrade() that passes like lint's SL601: an upgrade that only
    changes data (UPDATE/INSERT/DELETE, ANALYZE, bulk_insert) leaves no schema to undo."""
    from sluice.lint.engine import lint_project

    overlay(shop, "data_only_downgrade")
    result = run(shop, "graph").result("graph")
    assert result.status == "pass", result.problems
    lint = lint_project(shop / "alembic.ini", revisions=["0003"], use_cache=False)
    assert not [f for f in lint.findings if f.rule == "SL601"]
    # the same file with one schema change is flagged by both
    path = shop / "migrations" / "versions" / "0003_backfill.py"
    path.write_text(path.read_text().replace(
        '    op.execute("ANALYZE users")\n',
        '    op.execute("ANALYZE users")\n    op.add_column("users", sa.Column("nick", sa.String(20)))\n'))
    [p] = problems(run(shop, "graph"), "graph")
    assert (p.kind, p.line) == ("no-downgrade", 25)
    lint = lint_project(shop / "alembic.ini", revisions=["0003"], use_cache=False)
    [sl601] = [f for f in lint.findings if f.rule == "SL601"]
    assert sl601.line == 25
    # named as the project's sluice.toml spells it, as check's own fix does
    assert 'downgrades = "none" in sluice.toml (top level).' in sl601.fix
    assert "[tool.sluice]" not in sl601.fix


@pytest.mark.parametrize("policy", ["optional", "none"])
def test_pass_downgrade_allowed_by_policy(shop: Path, policy: str) -> None:
    overlay(shop, "no_downgrade")
    config(shop, f'downgrades = "{policy}"\n')
    report = run(shop, "graph")
    assert report.result("graph").status == "pass"


def test_raising_downgrade_is_an_irreversible_marker(shop: Path) -> None:
    overlay(shop, "irreversible")
    result = run(shop, "graph").result("graph")
    assert result.status == "pass", result.problems
    assert result.notes == ["irreversible on purpose (downgrade raises): 0003"]


def test_unknown_check_name_is_an_input_error(shop: Path) -> None:
    with pytest.raises(SluiceError, match=r"--only: unknown check 'grpah'; did you mean 'graph'"):
        run(shop, "grpah")


def test_missing_alembic_ini(tmp_path: Path) -> None:
    with pytest.raises(SluiceError, match="no such file"):
        run_checks(tmp_path / "alembic.ini", CheckOptions(only=["graph"]))


def test_real_world_history_is_checked_without_crashing(tmp_path: Path) -> None:
    """tests/fixtures/realworld: several version locations, a recursive one, a file that
    imports a missing package, a syntax error, merge points, raising and missing
    downgrades. Every problem is one line; nothing crashes."""
    from sluice.check import lock

    project = tmp_path / "realworld"
    shutil.copytree(FIXTURES.parent / "realworld", project)
    # sluice lock refuses a history with a syntax error, naming the file and line
    with pytest.raises(SluiceError, match=r"^migrations/versions/rw14_syntax_error.py:15: "
                                          r"SyntaxError: '\(' was never closed; "):
        lock(project / "alembic.ini")
    assert not (project / "sluice.sum").exists()
    report = run(project, "graph", "upgrade")
    assert report.exit_code == 2  # a history Alembic cannot load: the gate fails closed
    graph = report.result("graph")
    assert all("\n" not in p.message and p.path for p in graph.problems)
    kinds = {p.kind for p in graph.problems}
    assert "import-error" in kinds and "missing-parent" not in kinds
    assert report.result("upgrade").status == "skip"
