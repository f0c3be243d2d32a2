"""The lint cache: keyed on content, Sluice's version and code, the rules and the
configuration; compact entries read back as they were."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from sluice.config import parse_config
from sluice.core.findings import Finding
from sluice.lint import context
from sluice.lint.cache import pack_findings, pack_report, unpack_findings, unpack_report
from sluice.lint.engine import lint_project
from tests.support.lint import project


def test_a_new_sluice_version_invalidates_every_entry(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    ini = project(tmp_path / "p", revisions=3)
    assert lint_project(ini).cache_misses == 3
    assert (lint_project(ini).cache_hits, lint_project(ini).cache_misses) == (3, 0)
    monkeypatch.setattr("sluice._version.__version__", "99.0.0")
    # (wherever the cache key reads it from)
    monkeypatch.setattr("sluice.lint.context.__version__", "99.0.0", raising=False)
    assert lint_project(ini).cache_misses == 3


def test_another_configuration_or_rule_set_invalidates_every_entry(tmp_path: Path) -> None:
    ini = project(tmp_path / "p", revisions=2)
    lint_project(ini)
    assert lint_project(ini).cache_hits == 2
    assert lint_project(ini, parse_config({"lint": {"disable": ["SL502"]}})).cache_misses == 2
    assert lint_project(ini, parse_config({"lint": {"fail_on": "warning"}})).cache_misses == 2
    assert lint_project(ini, dialects=["mysql"]).cache_misses == 2


def test_compact_entries_read_back_unchanged() -> None:
    path = "/p/migrations/versions/a.py"
    findings = [
        Finding("SL502", "unbatched-backfill", "warning", "msg", "fix", path, 16, "a000",
                "postgresql"),
        Finding("SL001", "drop-table", "error", "m", "", path, 3, None, None,
                suppressed="reviewed"),
        Finding("SL910", "duplicate-revision", "error", "m", "", "/p/other.py", 2, "b"),
    ]
    assert unpack_findings(pack_findings(findings, path), path) == findings
    report = {"path": path, "revision": "a000", "down_revision": None, "branch_labels": [],
              "status": "rendered", "render_needs": ["imported code"], "reason": None}
    packed = pack_report(report)
    assert "path" not in packed and "down_revision" not in packed
    assert unpack_report(packed, path) == {k: v for k, v in report.items()
                                           if k == "path" or v not in (None, [])}


def test_the_key_follows_the_code_of_lint_rules_and_core_not_the_fixtures(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fingerprint of Sluice's code in the key: every ``*.py`` under ``lint``,
    ``rules`` and ``core`` (sub-folders too) by path, size and mtime; fixtures left out."""
    package = tmp_path / "sluice"
    files = {name: package / name for name in (
        "lint/context.py", "lint/static/walker.py", "rules/lint/sl001_drop_table.py",
        "rules/lint/sl001_drop_table.fixtures/SL001_bad.py",
        "rules/lint/sl001_drop_table.fixtures/more/SL001_ok.py", "core/ops.py", "output/text.py")}
    for path in files.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n")
    monkeypatch.setattr(context, "__file__", str(files["lint/context.py"]))
    first = context._rules_fingerprint()
    assert first == context._rules_fingerprint()
    for name in ("lint/static/walker.py", "rules/lint/sl001_drop_table.py", "core/ops.py"):
        assert name.replace("/", os.sep) in first

    def changed(name: str) -> bool:
        before = context._rules_fingerprint()
        files[name].write_text("x = 22\n")
        return context._rules_fingerprint() != before

    assert changed("rules/lint/sl001_drop_table.py")
    assert changed("lint/static/walker.py")
    assert changed("core/ops.py")
    assert not changed("rules/lint/sl001_drop_table.fixtures/SL001_bad.py")
    assert not changed("rules/lint/sl001_drop_table.fixtures/more/SL001_ok.py")
    assert not changed("output/text.py")


def test_the_code_fingerprint_stats_each_file_through_its_directory_entry(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every warm lint computes the fingerprint: one ``stat`` per file, from the directory
    entry ``os.scandir`` made (its path joined in C), not ``os.stat`` on a path joined in
    Python."""
    calls: list[str] = []
    real_stat, real_join = os.stat, os.path.join

    def counted_stat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        calls.append(f"stat {path}")
        return real_stat(path, *args, **kwargs)

    def counted_join(*parts: Any) -> Any:
        calls.append(f"join {parts}")
        return real_join(*parts)

    expected = context._rules_fingerprint()
    monkeypatch.setattr(os, "stat", counted_stat)
    monkeypatch.setattr(os.path, "join", counted_join)
    assert context._rules_fingerprint() == expected
    assert expected.count(";") > 100  # every file of lint, rules and core
    # (one os.stat: the installation record, which a checkout has not)
    stats = [c for c in calls if c.startswith("stat")]
    assert len(stats) == 1 and stats[0].endswith(".dist-info" + os.sep + "RECORD")
    assert len(calls) < 20  # the package's folders only: none per file (over 100)


def test_an_installed_sluice_is_fingerprinted_by_its_installation_record(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sources beside the RECORD an installer wrote change only with a reinstall, which
    rewrites the RECORD: one stat instead of one per file. Without it (an editable
    install, a checkout) an edited file still counts."""
    from sluice import _version

    site = tmp_path / "site-packages"
    rule = site / "sluice" / "rules" / "lint" / "sl001_drop_table.py"
    here = site / "sluice" / "lint" / "context.py"
    for path in (rule, here):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n")
    record = site / f"alembic_sluice-{_version.__version__}.dist-info" / "RECORD"
    record.parent.mkdir()
    record.write_text("sluice/lint/context.py,sha256=x,6\n")
    monkeypatch.setattr(context, "__file__", str(here))
    scanned: list[str] = []
    real_scandir = os.scandir

    def counted_scandir(path: Any) -> Any:
        scanned.append(str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", counted_scandir)
    first = context._rules_fingerprint()
    assert scanned == []
    rule.write_text("x = 22\n")
    assert context._rules_fingerprint() == first  # edited in place: not a reinstall
    st = record.stat()
    os.utime(record, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert context._rules_fingerprint() != first  # reinstalled
    record.unlink()  # sources without their record: each file counts
    by_file = context._rules_fingerprint()
    assert scanned and os.path.join("rules", "lint", "sl001_drop_table.py") in by_file
    rule.write_text("x = 333\n")
    assert context._rules_fingerprint() != by_file
