"""The lint engine on a history that reproduces every real-world failure mode (issue 9).

``tests/fixtures/realworld`` has one revision per failure mode; each test asserts how the
revision was analysed (rendered, or static only with which reason) and that the findings
the static layer sees are still reported.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from sluice.config import parse_config
from sluice.errors import SluiceError
from sluice.lint.engine import LintResult, lint_project, merge_ops, read_layout
from sluice.lint.model import Finding, Op

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "realworld"


def copy_fixture(dest: Path) -> Path:
    shutil.copytree(FIXTURE, dest, ignore=shutil.ignore_patterns("__pycache__", ".sluice_cache"))
    return dest


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_fixture(tmp_path_factory.mktemp("rw") / "realworld")


@pytest.fixture(scope="module")
def result(project: Path) -> LintResult:
    return lint_project(project / "alembic.ini", use_cache=False)


def report(result: LintResult, stem: str):  # type: ignore[no-untyped-def]
    (rep,) = [r for r in result.revisions if Path(r.path).stem == stem]
    return rep


def found(result: LintResult, stem: str, rule: str | None = None) -> list[Finding]:
    return [f for f in result.findings if f.path and Path(f.path).stem == stem
            and (rule is None or f.rule == rule)]


def lines(findings: list[Finding]) -> list[int | None]:
    return sorted(f.line for f in findings)


# --------------------------------------------------------------------------- layout


def test_layout_honours_version_locations_recursion_and_sys_path(project: Path) -> None:
    layout = read_layout(project / "alembic.ini")
    assert layout.version_locations == [project / "migrations" / "versions",
                                        project / "migrations" / "contract"]
    assert layout.recursive is True
    assert str(project) in layout.sys_path
    assert layout.url_dialect == "postgresql"


def test_every_revision_of_every_location_is_analysed(result: LintResult) -> None:
    stems = {Path(r.path).stem for r in result.revisions}
    assert "rw18_recursive" in stems  # versions/sub/, recursive_version_locations
    assert {"c01_contract_base", "c02_contract_drop"} <= stems  # second version location
    assert len(result.revisions) == 22
    assert result.dialects[0] == "postgresql"  # the dialect of sqlalchemy.url goes first


def test_coverage_line(result: LintResult) -> None:
    assert result.coverage.line() == (
        "22 revisions: 15 read statically, 3 rendered offline (dialect branch: 1, imported "
        "code: 1, run-time settings: 1), 3 static only (reasons: ImportError myapp 1, "
        "get_bind reads 1, raises in offline mode 1), 1 not parsed (syntax error); linted "
        "for postgresql, mysql, sqlite (lint.dialects)"
    )
    data = result.coverage.as_dict()
    assert data["read_statically"] == 15 and data["rendered"] == 3
    assert data["static_only"] == 3 and data["unparsed"] == 1
    assert data["render_needs"] == {"dialect branch": 1, "imported code": 1,
                                    "run-time settings": 1}
    assert data["reasons"] == {"ImportError myapp": 1, "get_bind reads": 1,
                               "raises in offline mode": 1}


# --------------------------------------------------------------------------- failure modes


def test_missing_project_import_falls_back_and_names_the_module(result: LintResult) -> None:
    rep = report(result, "rw02_app_types")
    assert rep.status == "static" and rep.reason == "ImportError myapp"
    assert "No module named 'myapp'" in (rep.detail or "")
    assert 'stub_modules = ["myapp"]' in (rep.hint or "") and "--stub myapp" in (rep.hint or "")
    assert lines(found(result, "rw02_app_types", "SL002")) == [19]  # static still sees it
    (info,) = found(result, "rw02_app_types", "SL903")
    assert info.severity == "info" and info.line == 9 and "ImportError myapp" in info.message


def test_stub_modules_make_it_render(project: Path) -> None:
    res = lint_project(project / "alembic.ini", revisions=["rw02"], stub_modules=["myapp"],
                       use_cache=False, sql=True)
    rep = report(res, "rw02_app_types")
    assert rep.status == "rendered", rep.detail
    sql = [s.sql for s in rep.statements if s.dialect == "postgresql"]
    assert "ALTER TABLE users ADD COLUMN external_id GUID" in sql
    assert not found(res, "rw02_app_types", "SL903")
    assert lines(found(res, "rw02_app_types", "SL002")) == [19]


def test_stub_modules_from_config(project: Path) -> None:
    cfg = parse_config({"lint": {"stub_modules": ["myapp"]}})
    res = lint_project(project / "alembic.ini", cfg, revisions=["rw02"], use_cache=False)
    assert report(res, "rw02_app_types").status == "rendered"


def test_get_bind_reads_fall_back(result: LintResult) -> None:
    rep = report(result, "rw03_get_bind_reads")
    assert rep.status == "static" and rep.reason == "get_bind reads"
    assert "fetchone" in (rep.detail or "") and "'NoneType'" in (rep.detail or "")
    assert lines(found(result, "rw03_get_bind_reads", "SL008")) == [21]
    assert lines(found(result, "rw03_get_bind_reads", "SL602")) == [20]


def test_batch_alter_table_renders_on_sqlite(project: Path) -> None:
    res = lint_project(project / "alembic.ini", revisions=["rw04"], dialects=["sqlite"],
                       use_cache=False, sql=True)
    rep = report(res, "rw04_batch_sqlite")
    assert rep.status == "rendered" and rep.dialects == ["sqlite"]
    assert any("add_constraint has no sqlite SQL" in n for n in rep.notes)
    assert "ALTER TABLE users ALTER COLUMN name TYPE VARCHAR(50)" in [
        s.sql for s in rep.statements]
    # SQLite ignores the declared VARCHAR length: VARCHAR(100) -> VARCHAR(50) loses nothing
    assert lines(found(res, "rw04_batch_sqlite", "SL101")) == []
    on_pg = lint_project(project / "alembic.ini", revisions=["rw04"], dialects=["postgresql"],
                         use_cache=False)
    assert lines(found(on_pg, "rw04_batch_sqlite", "SL101")) == [17]


def test_unnamed_constraint_drop_renders_with_a_note(project: Path, result: LintResult
                                                      ) -> None:
    # the source says the constraint has no name: read statically
    assert report(result, "rw05_unnamed_constraint").status == "static"
    assert lines(found(result, "rw05_unnamed_constraint", "SL004")) == [16]
    res = lint_project(project / "alembic.ini", revisions=["rw05"], use_cache=False, sql=True)
    rep = report(res, "rw05_unnamed_constraint")
    assert rep.status == "rendered"
    assert any("drop_constraint" in n and "no name" in n for n in rep.notes)
    assert lines(found(res, "rw05_unnamed_constraint", "SL004")) == [16]


def test_sql_mode_compiles_every_operation_and_the_downgrade(project: Path,
                                                            result: LintResult) -> None:
    lean = report(lint_project(project / "alembic.ini", revisions=["rw09a"], use_cache=False,
                               render_all=True), "rw09a_branch_a")
    assert lean.status == "rendered" and lean.statements == []  # nothing raw to compile
    res = lint_project(project / "alembic.ini", revisions=["rw09a"], use_cache=False, sql=True)
    full = report(res, "rw09a_branch_a")
    assert [(s.dialect, s.phase, s.line, s.sql) for s in full.statements] == [
        ("postgresql", "upgrade", 16, "ALTER TABLE orders ADD COLUMN coupon VARCHAR(40)"),
        ("postgresql", "downgrade", 20, "ALTER TABLE orders DROP COLUMN coupon")]
    assert [f.as_dict() for f in res.findings] == [
        f.as_dict() for f in found(result, "rw09a_branch_a")]


def test_is_offline_mode_works_and_skipped_data_step_is_still_linted(result: LintResult
                                                                     ) -> None:
    rep = report(result, "rw06_offline_mode")
    assert rep.status == "rendered"
    assert not any("UPDATE" in s.sql for s in rep.statements)  # skipped offline ...
    assert lines(found(result, "rw06_offline_mode", "SL501")) == [19]  # ... seen statically


def test_deliberate_raise_in_offline_mode_is_a_reason(result: LintResult) -> None:
    rep = report(result, "rw07_offline_raise")
    assert rep.status == "static" and rep.reason == "raises in offline mode"
    assert "cannot be run with --sql" in (rep.detail or "")
    assert lines(found(result, "rw07_offline_raise", "SL001")) == [18]


def test_non_standard_signature(project: Path, result: LintResult) -> None:
    assert lines(found(result, "rw08_signature", "SL103")) == [15]  # read statically
    result = lint_project(project / "alembic.ini", revisions=["rw08"], use_cache=False,
                          render_all=True)
    rep = report(result, "rw08_signature")
    assert rep.status == "rendered", rep.detail
    assert lines(found(result, "rw08_signature", "SL103")) == [15]


def test_merge_point_and_branches(project: Path, result: LintResult) -> None:
    merge = lint_project(project / "alembic.ini", revisions=["rw10"], use_cache=False,
                         render_all=True)
    assert report(merge, "rw10_merge").status == "rendered"
    res = lint_project(project / "alembic.ini", since="rw08", use_cache=False)
    stems = {Path(r.path).stem for r in res.revisions}
    assert {"rw09a_branch_a", "rw09b_branch_b", "rw10_merge", "rw19_dialect_branch"} <= stems
    assert "rw08_signature" not in stems and "c01_contract_base" not in stems
    assert "rw14_syntax_error" in stems  # its place in the graph comes from the source


def test_two_heads_by_design_pick_a_tree(project: Path) -> None:
    for tree in ("contract", "migrations/contract"):
        res = lint_project(project / "alembic.ini", trees=[tree], use_cache=False)
        assert sorted(Path(r.path).stem for r in res.revisions) == [
            "c01_contract_base", "c02_contract_drop"]
    res = lint_project(project / "alembic.ini", revisions=["heads"], use_cache=False)
    assert sorted(Path(r.path).stem for r in res.revisions) == [
        "c02_contract_drop", "rw19_dialect_branch"]
    with pytest.raises(SluiceError, match="tree 'contrat'.*did you mean 'contract'"):
        lint_project(project / "alembic.ini", trees=["contrat"], use_cache=False)


def test_no_downgrades_policy(project: Path, result: LintResult) -> None:
    assert lines(found(result, "rw11_no_downgrade", "SL601")) == [15]
    cfg = parse_config({"downgrades": "none"})
    res = lint_project(project / "alembic.ini", cfg, revisions=["rw11"], use_cache=False)
    assert not found(res, "rw11_no_downgrade", "SL601")


def test_raising_downgrade_is_an_irreversible_marker(project: Path,
                                                     result: LintResult) -> None:
    rendered = lint_project(project / "alembic.ini", revisions=["rw12"], use_cache=False,
                            render_all=True)
    rep = report(rendered, "rw12_raising_downgrade")
    assert rep.status == "rendered" and not rep.notes
    assert not found(rendered, "rw12_raising_downgrade", "SL601")
    assert not found(result, "rw12_raising_downgrade", "SL601")


def test_swallowed_exceptions_render_quietly(project: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    res = lint_project(project / "alembic.ini", revisions=["rw13"], use_cache=False,
                       render_all=True)
    out, err = capsys.readouterr()
    assert out == "" and err == ""  # the revision's print() does not leak
    assert report(res, "rw13_swallow").status == "rendered"
    assert lines(found(res, "rw13_swallow", "SL605")) == [17]


def test_syntax_error_is_a_finding_and_the_rest_goes_on(result: LintResult) -> None:
    rep = report(result, "rw14_syntax_error")
    assert rep.status == "unparsed" and rep.revision == "rw14"
    (f,) = found(result, "rw14_syntax_error")
    assert (f.rule, f.name, f.severity, f.line) == ("SL900", "parse-error", "error", 15)
    assert "never closed" in f.message
    assert found(result, "rw15_helper")  # the next revision is still linted


def test_operations_from_imported_helpers_come_from_the_render_layer(project: Path,
                                                                    result: LintResult
                                                                    ) -> None:
    (f,) = found(result, "rw15_helper", "SL002")
    assert f.line == 18 and "orders.legacy_flag" in f.message  # the call site
    static_only = lint_project(project / "alembic.ini", revisions=["rw15"], render=False,
                               use_cache=False)
    assert not found(static_only, "rw15_helper", "SL002")
    assert report(static_only, "rw15_helper").reason == "rendering disabled"


def test_one_finding_per_problem_across_layers_and_dialects(project: Path) -> None:
    result = lint_project(project / "alembic.ini", revisions=["rw16"], use_cache=False,
                          render_all=True)
    rep = report(result, "rw16_dedup")
    assert rep.dialects == ["postgresql", "mysql", "sqlite"]
    assert lines(found(result, "rw16_dedup", "SL002")) == [16]
    # the f-string SQL is only known once rendered; reported once, not once per dialect
    (delete,) = found(result, "rw16_dedup", "SL008")
    assert delete.line == 18 and "DELETE FROM orders" in delete.message
    assert delete.dialect is None


def test_static_ops_in_a_dialect_branch_not_taken_are_dropped(project: Path,
                                                             result: LintResult) -> None:
    assert not found(result, "rw19_dialect_branch", "SL201")
    static_only = lint_project(project / "alembic.ini", revisions=["rw19"], render=False,
                               use_cache=False)
    assert lines(found(static_only, "rw19_dialect_branch", "SL201")) == [20]


def test_suppressions(result: LintResult) -> None:
    stem = "rw17_suppress"
    suppressed = {(f.rule, f.line) for f in result.suppressed if Path(f.path or "").stem == stem}
    assert ("SL002", 17) in suppressed  # same line, with a reason
    assert ("SL001", 18) in suppressed  # by rule name
    assert ("SL004", 23) in suppressed  # comment-only line above the op
    assert any(rule == "SL601" for rule, _ in suppressed)  # file-level, in the header
    rules = {(f.rule, f.line) for f in found(result, stem)}
    assert ("SL901", 18) in rules  # suppression without a reason
    assert ("SL902", 19) in rules  # unused suppression
    assert ("SL904", 20) in rules  # unknown rule id
    assert ("SL003", 21) in rules  # SL999 silences nothing
    assert not {("SL002", 17), ("SL001", 18), ("SL004", 23)} & rules


def test_tracebacks_never_reach_the_user(project: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    lint_project(project / "alembic.ini", use_cache=False)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err


def test_contract_tree_findings(result: LintResult) -> None:
    assert lines(found(result, "c02_contract_drop", "SL002")) == [15]


# --------------------------------------------------------------------------- merging


def test_merge_enriches_static_ops_and_adds_render_only_ones() -> None:
    static = [Op("execute", line=5, sql=None, args={"via": "bind"}),
              Op("drop_column", table="t", column="a", line=7)]
    render = [Op("execute", line=5, sql="DELETE FROM t", source="render"),
              Op("drop_column", table="t", column="a", line=7, source="render"),
              Op("drop_column", table="t", column="b", line=6, source="render")]
    merged = merge_ops(static, render, ["upgrade"], set())
    assert [(o.kind, o.line, o.source) for o in merged] == [
        ("execute", 5, "static"), ("drop_column", 6, "render"), ("drop_column", 7, "static")]
    assert merged[0].sql == "DELETE FROM t" and merged[0].table == "t"
    assert static[0].sql is None  # the static op itself is not modified


# --------------------------------------------------------------------------- cache


def test_cache_hit_miss_and_invalidation(tmp_path: Path) -> None:
    proj = copy_fixture(tmp_path / "rw")
    ini = proj / "alembic.ini"
    cold = lint_project(ini)
    assert (cold.cache_hits, cold.cache_misses) == (0, 22)
    assert (proj / ".sluice_cache" / "lint.cache").is_file()
    warm = lint_project(ini)
    assert (warm.cache_hits, warm.cache_misses) == (22, 0)
    assert [f.as_dict() for f in warm.findings] == [f.as_dict() for f in cold.findings]
    assert warm.coverage.line() == cold.coverage.line()
    assert [r.status for r in warm.revisions] == [r.status for r in cold.revisions]

    path = proj / "migrations" / "versions" / "rw09a_branch_a.py"
    path.write_text(path.read_text().replace(
        'op.add_column("orders", sa.Column("coupon", sa.String(40), nullable=True))',
        'op.drop_column("orders", "user_id")'))
    edited = lint_project(ini)
    assert (edited.cache_hits, edited.cache_misses) == (21, 1)
    assert lines(found(edited, "rw09a_branch_a", "SL002")) == [16]

    other = lint_project(ini, parse_config({"lint": {"disable": ["SL002"]}}))
    assert other.cache_misses == 22  # another configuration: another key
    assert not [f for f in other.findings if f.rule == "SL002"]
    assert lint_project(ini, use_cache=False).cache_hits == 0


# --------------------------------------------------------------------------- scopes


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_changed_files_against_a_base(tmp_path: Path) -> None:
    proj = copy_fixture(tmp_path / "rw")
    _git(proj, "init", "-q", "-b", "main")
    _git(proj, "-c", "user.email=t@example.com", "-c", "user.name=t", "add", ".")
    _git(proj, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "base")
    _git(proj, "checkout", "-qb", "feature")
    versions = proj / "migrations" / "versions"
    (versions / "rw11_no_downgrade.py").write_text(
        (versions / "rw11_no_downgrade.py").read_text() + "\n# edited\n")
    new = (versions / "rw09a_branch_a.py").read_text().replace('"rw09a"', '"rw20"').replace(
        'down_revision = "rw08"', 'down_revision = "rw19"')
    (versions / "rw20_new.py").write_text(new)  # untracked
    res = lint_project(proj / "alembic.ini", changed_base=True, use_cache=False)
    assert sorted(Path(r.path).stem for r in res.revisions) == ["rw11_no_downgrade", "rw20_new"]
    res = lint_project(proj / "alembic.ini", changed_base="main", use_cache=False)
    assert len(res.revisions) == 2
    with pytest.raises(SluiceError, match="--base nope: no such git"):
        lint_project(proj / "alembic.ini", changed_base="nope", use_cache=False)


def test_changed_outside_git_is_unusable_input(tmp_path: Path) -> None:
    proj = copy_fixture(tmp_path / "rw")
    with pytest.raises(SluiceError, match="needs a git repository"):
        lint_project(proj / "alembic.ini", changed_base=True, use_cache=False)


def test_unknown_revision_suggests(project: Path) -> None:
    with pytest.raises(SluiceError, match="--revision 'rw9a': no such revision; did you mean"):
        lint_project(project / "alembic.ini", revisions=["rw9a"], use_cache=False)
    with pytest.raises(SluiceError, match="ambiguous"):
        lint_project(project / "alembic.ini", revisions=["rw0"], use_cache=False)
    res = lint_project(project / "alembic.ini", revisions=["rw09a", "c01"], use_cache=False)
    assert sorted(r.revision or "" for r in res.revisions) == ["c01", "rw09a"]


def test_unusable_input(tmp_path: Path) -> None:
    with pytest.raises(SluiceError, match="no such file"):
        lint_project(tmp_path / "alembic.ini")
    (tmp_path / "alembic.ini").write_text("[alembic]\nscript_location = nowhere\n")
    with pytest.raises(SluiceError, match="script_location nowhere: no such folder"):
        lint_project(tmp_path / "alembic.ini")
    (tmp_path / "alembic.ini").write_text("[alembic\nscript_location = x\n")
    with pytest.raises(SluiceError, match="alembic.ini"):
        lint_project(tmp_path / "alembic.ini")


def test_unknown_dialect(project: Path) -> None:
    with pytest.raises(SluiceError, match="unknown dialect 'oracle'"):
        lint_project(project / "alembic.ini", dialects=["oracle"], use_cache=False)


def test_a_bug_while_merging_keeps_the_static_findings(project: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import sluice.lint.analyze as analyze

    def broken(*args: object, **kw: object) -> list[Op]:
        raise RuntimeError("merge bug")

    monkeypatch.setattr(analyze, "merge_ops", broken)
    res = lint_project(project / "alembic.ini", revisions=["rw18"], use_cache=False,
                       render_all=True)
    rep = report(res, "rw18_recursive")
    assert rep.status == "static" and rep.reason == "internal error (RuntimeError)"
    assert lines(found(res, "rw18_recursive", "SL002")) == [15]
    assert found(res, "rw18_recursive", "SL903")


def test_flask_migrate_layout_without_script_location(tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    shutil.copytree(FIXTURE / "migrations" / "contract", migrations / "versions")
    (migrations / "env.py").write_text("from alembic import context\n")
    (migrations / "alembic.ini").write_text("[alembic]\n\n[loggers]\nkeys = root\n")
    res = lint_project(migrations / "alembic.ini", use_cache=False)
    assert [r.revision for r in res.revisions] == ["c01", "c02"]
    assert lines(found(res, "c02_contract_drop", "SL002")) == [15]


def test_one_independent_tree_per_dialect(tmp_path: Path) -> None:
    proj = tmp_path / "per_dialect"
    shutil.copytree(FIXTURE / "per_dialect", proj)
    ini = proj / "alembic.ini"
    pg = lint_project(ini, trees=["postgresql"], dialects=["postgresql"], use_cache=False)
    assert [r.revision for r in pg.revisions] == ["pg1", "pg2"]
    assert lines([f for f in pg.findings if f.rule == "SL201"]) == [17]
    sq = lint_project(ini, trees=["migrations/sqlite"], dialects=["sqlite"], use_cache=False,
                      render_all=True)
    assert [r.revision for r in sq.revisions] == ["sq1", "sq2"]
    assert all(r.status == "rendered" for r in sq.revisions)
    assert {(f.rule, f.line) for f in sq.findings} >= {("SL002", 19)}
    assert not [f for f in sq.findings if f.rule.startswith("SL2")]
    both = lint_project(ini, use_cache=False)
    assert len(both.revisions) == 4 and both.dialects[0] == "sqlite"  # sqlalchemy.url


def test_paths_scope(project: Path) -> None:
    versions = project / "migrations" / "versions"
    res = lint_project(project / "alembic.ini", use_cache=False,
                       paths=[versions / "rw11_no_downgrade.py", project / "README.md"])
    assert [r.revision for r in res.revisions] == ["rw11"]
    with pytest.raises(SluiceError, match="choose one scope"):
        lint_project(project / "alembic.ini", paths=[], since="rw01")
