"""The one rule registry (sluice.rules): lint, trace and check rules, one file per rule,
the features' catalogues as views of it, and ``sluice rules`` over every kind."""

from __future__ import annotations

import ast
import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import sluice.rules
from sluice.rules.registry import KINDS, all_rules, find_rule
from tests.support.cli import run_cli

RULES_DIR = Path(sluice.rules.__file__).resolve().parent
ID_PATTERN = {"lint": r"SL\d{3}", "trace": r"TR\d{3}", "check": r"check\.[a-z]+"}


def test_every_kind_is_registered_with_ids_of_its_own_shape() -> None:
    every = all_rules(None)
    assert {r.kind for r in every.values()} == set(KINDS)
    for r in every.values():
        assert re.fullmatch(ID_PATTERN[r.kind], r.id), r.id
        assert r.summary and len(r.doc) > 100, r.id
        assert (r.check is not None) == (r.kind == "lint"), r.id
    for kind in KINDS:
        names = [r.name for r in every.values() if r.kind == kind]
        assert len(names) == len(set(names)), kind
    assert set(all_rules()) == {i for i, r in every.items() if r.kind == "lint"}


@pytest.mark.parametrize("kind", KINDS)
def test_one_file_per_rule_named_after_it(kind: str) -> None:
    """Each rule file registers exactly one rule; a lint rule file is ``slNNN_name.py``."""
    rules = all_rules(kind)  # type: ignore[arg-type]
    files = sorted(p for p in (RULES_DIR / kind).glob("*.py")
                   if not p.name.startswith("_"))
    assert len(files) == len(rules)
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
                 and isinstance(n.func, ast.Name)
                 and n.func.id in ("rule", "trace_rule", "check_rule")]
        assert len(calls) == 1, path.name
    for r in rules.values():
        if kind == "lint":  # the file that defines the check (whatever sys.modules holds)
            assert r.check is not None
            assert Path(r.check.__code__.co_filename).name == (
                f"{r.id.lower()}_{r.name.replace('-', '_')}.py")


def test_the_check_catalogue_is_a_view_of_the_registry() -> None:
    from sluice.check.gate import CHECKS, RUNS

    checks = all_rules("check")
    assert [c.name for c in CHECKS] == [r.name for r in checks.values()]
    assert set(RUNS) == {r.name for r in checks.values()}
    for c in CHECKS:
        rule = checks[f"check.{c.name}"]
        assert (c.title, c.needs_database, c.doc) == (rule.title, rule.needs_database, rule.doc)


def test_the_trace_catalogues_are_views_of_the_registry() -> None:
    from sluice.trace.findings import RULES
    from sluice.trace.render import CROSSCHECK_RULES

    trace = all_rules("trace")
    assert set(RULES) | set(CROSSCHECK_RULES) == set(trace)
    for rid, doc in {**RULES, **CROSSCHECK_RULES}.items():
        assert (doc.name, doc.severity, doc.doc) == (trace[rid].name, trace[rid].severity,
                                                     trace[rid].doc)


def test_find_rule_looks_in_one_kind_or_all() -> None:
    assert find_rule("TR001") is None  # lint by default
    found = find_rule("tr001", None)
    assert found is not None and found.kind == "trace"
    found = find_rule("graph", "check")
    assert found is not None and found.id == "check.graph"


def test_importing_every_rule_does_not_import_sqlglot(tmp_path: Path) -> None:
    """The SQL helpers import sqlglot on their first parse, not with the rules."""
    code = ("import json, sys\n"
            "from sluice.rules.registry import all_rules\n"
            "n = len(all_rules(None))\n"
            "before = sorted(m for m in sys.modules if m.startswith('sqlglot'))\n"
            "from sluice.rules._sql import statements\n"
            "kind = statements('UPDATE t SET a = 1 WHERE b = 2', 'postgresql')[0].where\n"
            "simple = any(m.startswith('sqlglot') for m in sys.modules)\n"
            "call = statements('UPDATE t SET a = now() WHERE b = 2', 'postgresql')[0]\n"
            "read = any(m.startswith('sqlglot') for m in sys.modules)\n"
            "call.where\n"
            "after = any(m.startswith('sqlglot') for m in sys.modules)\n"
            "print(json.dumps([n, before, simple, read, after, kind]))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, check=True)
    count, before, simple, read, after, where = json.loads(done.stdout)
    assert count == len(all_rules(None)) and before == [] and where == "b = 2"
    # a simple data fix is summarised without sqlglot (sluice.rules._sqlfast), a call needs
    # it, once a field that only its tree gives is read
    assert not simple and not read and after


# --------------------------------------------------------------------- sluice rules


def test_rules_lists_lint_rules_only_by_default() -> None:
    result = run_cli(["rules"])
    assert result.exit_code == 0
    assert "TR001" not in result.stdout and "check.graph" not in result.stdout
    assert "Kind" not in result.stdout.splitlines()[1]
    assert result.stdout.rstrip().endswith(
        f"{len(all_rules())} rules; `sluice rules ID` prints one rule's docs.")
    data = json.loads(run_cli(["rules", "--format", "json"]).stdout)
    assert "kind" not in data[0]


def test_rules_kind_all_lists_every_kind_with_a_kind_column() -> None:
    result = run_cli(["rules", "--kind", "all"])
    assert result.exit_code == 0
    assert "Kind" in result.stdout.splitlines()[1]
    for rid in ("SL001", "TR001", "TR102", "check.graph", "check.checksums"):
        assert rid in result.stdout
    counts = {k: sum(r.kind == k for r in all_rules(None).values()) for k in KINDS}
    assert (f"{sum(counts.values())} rules ({counts['lint']} lint, {counts['trace']} trace, "
            f"{counts['check']} check)") in result.stdout
    data = json.loads(run_cli(["rules", "--kind", "check", "--format", "json"]).stdout)
    assert [(d["kind"], d["name"]) for d in data] == [
        ("check", r.name) for r in all_rules("check").values()]  # in the order they run


def test_rules_prints_a_trace_or_check_rule() -> None:
    result = run_cli(["rules", "TR003"])
    assert result.exit_code == 0
    assert result.stdout.startswith("TR003 table-rewrite\nkind: trace · family: locks")
    assert "Safe alternative:" in result.stdout
    result = run_cli(["rules", "graph"])
    assert result.exit_code == 0
    assert result.stdout.startswith("check.graph graph\nkind: check · title: revision graph")
    data = json.loads(run_cli(["rules", "check.drift", "--format", "json"]).stdout)
    assert data["kind"] == "check" and data["name"] == "drift"


def test_an_unknown_trace_rule_is_suggested_from_its_own_series() -> None:
    result = run_cli(["rules", "TR02"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1].startswith("did you mean TR002")
    result = run_cli(["rules", "--kind", "check", "SL001"])
    assert result.exit_code == 2 and "unknown rule 'SL001'" in result.stderr


def test_the_lint_cache_key_follows_the_rule_files_not_their_fixtures() -> None:
    """Editing a rule file invalidates cached lint results; editing a fixture does not."""
    from sluice.lint.context import _rules_fingerprint

    rule_file = RULES_DIR / "lint" / "sl001_drop_table.py"
    fixture = RULES_DIR / "lint" / "sl001_drop_table.fixtures" / "SL001_bad.py"
    before = _rules_fingerprint()
    for path, changes in ((rule_file, True), (fixture, False)):
        st = path.stat()
        try:
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
            assert (_rules_fingerprint() != before) is changes, path.name
        finally:
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert _rules_fingerprint() == before


def test_a_rule_file_imported_again_keeps_its_rule() -> None:
    """A test runner that restores ``sys.modules`` (pytest's ``pytester``) or code that
    forgets modules makes a rule file run again: that registers the same rule once more,
    which is not a duplicate; the rule keeps working with the new module's check."""
    name = "sluice.rules.lint.sl106_add_not_null_column_without_default"
    rule = find_rule("SL106")
    assert rule is not None and rule.check is not None
    saved = sys.modules.pop(name)
    try:
        fresh = importlib.import_module(name)
        assert fresh is not saved
        again = find_rule("SL106")
        assert again is rule and again.check is fresh.add_not_null_without_default
    finally:
        sys.modules[name] = saved
        object.__setattr__(rule, "loaded", saved.add_not_null_without_default)
