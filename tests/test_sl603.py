"""SL603 import-app-code tells the project's code from a library by where it is found."""

from __future__ import annotations

from pathlib import Path

import pytest

from sluice.config import SluiceConfig
from sluice.lint.registry import all_rules, run_rules
from sluice.lint.static import analyze_file

REVISION = '''"""r"""
from alembic import op
from {module} import thing

revision = "r1"
down_revision = None


def upgrade():
    op.execute(thing())
'''


@pytest.mark.parametrize(("where", "flagged"), [
    ("beside", True), ("src", True), ("up", True), ("nowhere", False)])
def test_a_package_not_installed_is_the_project_s_when_the_project_holds_it(
        tmp_path: Path, where: str, flagged: bool) -> None:
    root = tmp_path / "repo" / "backend"
    root.mkdir(parents=True)
    package = {"beside": root, "src": root / "src", "up": root.parent,
               "nowhere": tmp_path / "elsewhere"}[where] / "acmeapp_sl603"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    path = root / "r1.py"
    path.write_text(REVISION.format(module="acmeapp_sl603.models"), encoding="utf-8")
    found = run_rules(analyze_file(path).ops, SluiceConfig(root=root), dialect="postgresql",
                      rules=[all_rules()["SL603"]])
    assert bool(found) is flagged
    if flagged:
        assert found[0].message.startswith("imports acmeapp_sl603.models (thing) inside")


@pytest.mark.parametrize(("module", "flagged"), [
    ("ckanlike_sl603.migration", False), ("ckanlike_sl603.migration.helpers", False),
    ("ckanlike_sl603.models", True)])
def test_a_helper_of_the_migrations_package_itself_is_not_app_code(
        tmp_path: Path, module: str, flagged: bool) -> None:
    # ckan/migration/__init__.py holds the helper every revision of ckan/migration/versions
    # imports: it sits beside env.py and ships with the revisions, as the rule advises
    root = tmp_path / "repo"
    scripts = root / "ckanlike_sl603" / "migration"
    (scripts / "versions").mkdir(parents=True)
    for name in ("ckanlike_sl603/__init__.py", "ckanlike_sl603/models.py",
                 "ckanlike_sl603/migration/__init__.py", "ckanlike_sl603/migration/env.py",
                 "ckanlike_sl603/migration/helpers.py"):
        (root / name).write_text("", encoding="utf-8")
    path = scripts / "versions" / "r1.py"
    path.write_text(REVISION.format(module=module), encoding="utf-8")
    found = run_rules(analyze_file(path).ops, SluiceConfig(root=root), dialect="postgresql",
                      rules=[all_rules()["SL603"]])
    assert bool(found) is flagged
