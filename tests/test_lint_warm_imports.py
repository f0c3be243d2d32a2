"""What a warm ``sluice lint`` (the console script's fast path, its cache filled, one
revision edited) loads: each case runs the command in a fresh interpreter and looks at
what is in ``sys.modules`` afterwards."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.lint import INDEX, project

PROBE = """
import dataclasses, json, sys
from sluice.integrations.cli.fast import run
try:
    run(sys.argv[2:])
except SystemExit as exc:
    code = exc.code
# dataclasses writes a docstring from inspect.signature for a class without its own
generated = sorted(f"{name}.{value.__name__}" for name, module in list(sys.modules.items())
                   if name.startswith("sluice")
                   for value in list(vars(module).values())
                   if isinstance(value, type) and value.__module__ == name
                   and dataclasses.is_dataclass(value)
                   and (value.__doc__ or "").startswith(value.__name__ + "("))
with open(sys.argv[1], "w") as out:
    json.dump({"exit": code, "modules": sorted(sys.modules), "generated": generated,
               "types": {name: type(module).__name__ for name, module in sys.modules.items()}},
              out)
"""


def warm_lint(tmp_path: Path, *argv: str) -> dict[str, Any]:
    """Lint a small project twice (the first fills the cache), edit one revision, lint
    again: what that last process had loaded."""
    root = tmp_path / "p"
    project(root)
    (root / "migrations" / "versions" / "b000.py").write_text(INDEX)
    report = tmp_path / "report.json"
    for edit in (False, True):
        if edit:
            path = root / "migrations" / "versions" / "a001.py"
            path.write_text(path.read_text() + "\n# edited\n")
        done = subprocess.run([sys.executable, "-c", PROBE, str(report), "lint", *argv],
                              cwd=root, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(report.read_text())
    assert data["exit"] == 1  # the index without CONCURRENTLY
    return data


def test_every_dataclass_a_warm_lint_builds_has_its_own_docstring(tmp_path: Path) -> None:
    """dataclasses computes the signature of a class without a docstring (with
    :mod:`inspect`) to write one."""
    assert warm_lint(tmp_path)["generated"] == []
