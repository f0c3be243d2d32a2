"""What rendering imports beyond Alembic and SQLAlchemy: not Pygments, which Mako (imported
by Alembic) would load to highlight its HTML error pages; Mako falls back to plain
escaping, and Pygments stays importable (each case runs in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.lint import RUN, project

PROBE = """
import json, sys
from sluice.lint.render import Renderer
import mako.exceptions
state = {"pygments": "pygments" in sys.modules,
         "formatter": mako.exceptions.pygments_html_formatter is None,
         "escape": mako.exceptions.syntax_highlight("t.mako")("<b>")}
import mako.ext.pygmentplugin  # still importable afterwards
state["plugin"] = "pygments" in sys.modules
print(json.dumps(state))
"""


def test_a_lint_that_renders_imports_alembic_but_not_pygments(tmp_path: Path) -> None:
    ini = project(tmp_path / "p", revisions=1)
    path = tmp_path / "p" / "migrations" / "versions" / "a000.py"
    path.write_text(path.read_text().replace(
        "    op.execute(", "    if op.get_bind().dialect.name == \"postgresql\":\n        op.execute("))
    report = tmp_path / "modules.json"
    subprocess.run([sys.executable, "-c", RUN, str(report), "lint", "-c", str(ini),
                    "--no-cache"], cwd=tmp_path, capture_output=True, check=True)
    data = json.loads(report.read_text())
    assert data["exit"] in (0, 1)
    packages = {m.split(".")[0] for m in data["modules"]}
    assert {"alembic", "sqlalchemy", "mako"} <= packages  # it rendered
    assert "pygments" not in packages


def test_mako_falls_back_to_plain_escaping_and_pygments_stays_importable() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          check=True)
    state = json.loads(done.stdout)
    assert state == {"pygments": False, "formatter": True, "escape": "&lt;b&gt;",
                     "plugin": True}


def test_a_process_that_imported_mako_keeps_its_highlighting() -> None:
    code = ("import mako.exceptions, sys\nfrom sluice.lint.render import Renderer\n"
            "print(mako.exceptions.pygments_html_formatter is not None)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "True"
