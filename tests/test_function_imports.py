"""No import inside a function body hides an import cycle: each one is a deliberate lazy
import (start-up time, an optional or heavy dependency), said so by a trailing
``# lazy: <reason>`` comment on the import. A cycle between modules is broken by moving the
shared code down a layer (docs/architecture.md), not by importing late."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
LAZY = re.compile(r"#\s*lazy:\s*\S")


def function_imports(path: Path) -> list[tuple[int, str, str]]:
    """``(line, function, source text)`` for every import inside a function of ``path``
    (a wrapped import may carry its comment on any of its lines)."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    found = []

    def visit(node: ast.AST, func: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)) and func is not None:
                text = "\n".join(lines[child.lineno - 1:child.end_lineno])
                found.append((child.lineno, func, text))
            inner = (child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
                     else func)
            visit(child, inner)

    visit(ast.parse(source, filename=str(path)), None)
    return found


def unmarked(root: Path) -> list[str]:
    bad = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if "templates" in rel.parts or any(p.endswith("fixtures") for p in rel.parts):
            continue  # revision files and project templates are the user's code
        bad += [f"{rel}:{line} in {func}(): {' '.join(text.split())}"
                for line, func, text in function_imports(path) if not LAZY.search(text)]
    return bad


def test_every_function_level_import_says_why_it_is_lazy() -> None:
    bad = unmarked(SRC / "sluice")
    assert not bad, ("imports inside functions without a `# lazy: <reason>` comment "
                     "(a cycle? move the shared code down):\n" + "\n".join(bad))


def test_the_check_finds_an_unmarked_import(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(
        "import os\n\n"
        "def f():\n"
        "    import json  # lazy: only for --format json\n"
        "    from sluice import config\n"
        "    class C:\n"
        "        def g(self):\n"
        "            from sluice.errors import (\n"
        "                SluiceError,\n"
        "            )  # lazy:\n",
        encoding="utf-8")
    assert unmarked(tmp_path) == [
        "m.py:5 in f(): from sluice import config",
        "m.py:8 in g(): from sluice.errors import ( SluiceError, ) # lazy:",
    ]
