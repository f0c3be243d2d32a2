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
