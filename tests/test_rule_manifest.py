"""The lint rules' manifest (sluice/rules/_lint_manifest.py): the registry knows every
lint rule from it without importing the rule files, and imports a rule's file when its
check (or documentation) is first needed; a lint imports only the files of the rules that
can report on its operations."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sluice.rules import lint as lint_rules
from sluice.rules._lint_manifest_gen import MANIFEST, manifest_source
from sluice.rules.registry import all_rules
from tests.support.cli import SLUICE, run_process
from tests.support.lint import INDEX, project

RULE_DIR = Path(lint_rules.__file__).resolve().parent


LOADED = """
import atexit, json, sys
def report():
    with open(sys.argv[1], "w") as out:
        json.dump(sorted(m.rpartition(".")[2] if m.startswith("sluice.rules.") else m
                         for m in sys.modules if m.startswith("sluice.")), out)
atexit.register(report)
from sluice.integrations.cli.fast import run
run(sys.argv[2:])
"""


def _python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    return done.stdout


def test_the_manifest_is_what_the_rule_files_register() -> None:
    """Regenerate it with ``python -m sluice.rules._lint_manifest_gen``."""
    assert MANIFEST.read_text(encoding="utf-8") == manifest_source()


def test_the_catalog_lists_every_rule_file() -> None:
    files = sorted(p.stem for p in RULE_DIR.glob("sl*.py"))
    assert sorted(lint_rules.CATALOG) == files
    assert len(set(lint_rules.CATALOG)) == len(files)


def test_the_registry_lists_the_rules_without_importing_their_files() -> None:
    out = _python(
        "import sys\n"
        "from sluice.rules.registry import all_rules, find_rule\n"
        "from sluice.lint.registry import active_rules\n"
        "from sluice.config import SluiceConfig\n"
        "rules = all_rules()\n"
        "active = active_rules(SluiceConfig())\n"
        "assert find_rule('drop-table').id == 'SL001'\n"
        "files = lambda: sorted(m for m in sys.modules if m.startswith('sluice.rules.lint.sl'))\n"
        "print(len(rules), len(active), files())\n"
        "check = rules['SL001'].check\n"
        "print(check.__module__, files())\n"
        "assert 'dangerous' in rules['SL002'].doc\n"
        "print(files())\n")
    lines = out.splitlines()
    assert lines[0].endswith(" []") and int(lines[0].split()[0]) == len(lint_rules.CATALOG)
    assert lines[1] == ("sluice.rules.lint.sl001_drop_table "
                        "['sluice.rules.lint.sl001_drop_table']")
    assert lines[2] == ("['sluice.rules.lint.sl001_drop_table', "
                        "'sluice.rules.lint.sl002_drop_column']")


def test_a_rule_file_fills_in_the_rule_of_the_manifest() -> None:
    """Importing a rule file keeps the registered rule (the same object), now with its
    check; importing it before the manifest is read gives the same rules in the same
    order."""
    out = _python(
        "from sluice.rules.registry import all_rules\n"
        "before = all_rules()['SL201']\n"
        "assert before.loaded is None\n"
        "from sluice.rules.lint import sl201_create_index_non_concurrently as m\n"
        "after = all_rules()['SL201']\n"
        "assert after is before and after.loaded is m.create_index_non_concurrently\n"
        "print('ok')\n")
    assert out == "ok\n"
    first = _python("from sluice.rules.lint import sl001_drop_table\n"
                    "from sluice.rules.registry import all_rules\n"
                    "print(' '.join(all_rules()))\n")
    late = _python("from sluice.rules.registry import all_rules\n"
                   "print(' '.join(all_rules()))\n")
    assert sorted(first.split()) == sorted(late.split()) == sorted(all_rules())


def test_a_rule_that_differs_from_the_manifest_is_refused() -> None:
    """A rule file whose ``@rule(...)`` no longer matches the manifest (not regenerated)
    fails when it is imported; the manifest's rule stays as it was."""
    out = _python(
        "from sluice.rules.registry import all_rules, rule\n"
        "all_rules()\n"
        "try:\n"
        "    rule('SL001', 'drop-table', family='destructive', severity='warning')(\n"
        "        lambda op, ctx: None)\n"
        "except ValueError as exc:\n"
        "    print(exc)\n"
        "print(all_rules()['SL001'].severity)\n")
    assert out.splitlines() == [
        "rule SL001 differs from the manifest: regenerate sluice/rules/_lint_manifest.py "
        "(python -m sluice.rules._lint_manifest_gen)", "error"]


@pytest.mark.parametrize("args", [[], ["--format", "json"]])
def test_a_lint_imports_only_the_rules_that_can_report_on_its_operations(
        tmp_path: Path, args: list[str]) -> None:
    """A warm lint after editing a revision with one create_index (a drop_index on the
    way down): the rules for create_index in upgrades on PostgreSQL (and those for any op
    kind) are imported; the MySQL rules and those for drops in upgrades are not, nor the
    SQL summariser (no raw SQL)."""
    project(tmp_path)
    for old in (tmp_path / "migrations" / "versions").glob("a*.py"):  # no raw SQL either
        old.write_text("".join(line for line in old.read_text().splitlines(keepends=True)
                               if "op.execute" not in line))
    path = tmp_path / "migrations" / "versions" / "b000.py"
    path.write_text(INDEX)
    assert run_process([SLUICE, "lint"], cwd=tmp_path).returncode == 1  # fills the cache
    path.write_text(path.read_text() + "\n# edited\n")
    report = tmp_path / "loaded.json"
    done = run_process([sys.executable, "-c", LOADED, str(report), "lint", *args],
                       cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    loaded = set(json.loads(report.read_text()))
    assert {"sl201_create_index_non_concurrently",
            "sl401_concurrently_outside_autocommit"} <= loaded
    assert not loaded & {"sl001_drop_table", "sl003_drop_index", "sl301_mysql_table_copy",
                         "sl202_drop_index_non_concurrently", "sl502_unbatched_backfill"}
    assert "_sql" not in loaded  # no raw SQL in the revision: the SQL summariser stays out
    assert "sluice.lint.pool" not in loaded  # nothing to render: no render pool either
    assert "SL201" in (done.stdout if not args else json.dumps(json.loads(done.stdout)))
