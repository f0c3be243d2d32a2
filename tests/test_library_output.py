"""Library code never prompts or prints (docs/architecture.md): outside
``sluice.integrations`` no module imports click or calls ``print``/``input``; rich is used
only by the integrations and the output renderers; standard streams are written only by
the renderers (to the stream they are given, stdout by default) and by ``sluice.notices``,
the one channel for what code run inside Alembic has to tell the operator."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"

#: Modules that render output for a person (rich allowed, a stream written).
RENDERERS = ("sluice.output", "sluice.report", "sluice.check.render", "sluice.trace.render",
             "sluice.graph.render", "sluice.data.progress")
#: Module -> why it may touch sys.stdin/stdout/stderr.
STREAM_USERS = {
    "sluice.notices": "the default receiver of notices writes to stderr",
    "sluice.lint.render.sandbox": "a revision rendered offline gets its own stdio, restored",
    "sluice.docgen": "`python -m sluice.docgen` is a maintainer's script (main only)",
}
#: (module, function) -> why it may call print().
PRINTERS = {("sluice.docgen", "main"): "`python -m sluice.docgen` reports the pages it wrote"}


def _modules(root: Path = SRC) -> dict[str, ast.Module]:
    out = {}
    for path in sorted((root / "sluice").rglob("*.py")):
        if "templates" in path.parts or any(p.endswith("fixtures") for p in path.parts):
            continue  # files copied into a user's project, rule fixtures: not Sluice's code
        parts = path.relative_to(root).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return out


@functools.cache
def _sluice_modules() -> dict[str, ast.Module]:
    """``_modules()`` of Sluice's own source, parsed once for the tests that read it (none
    changes the trees)."""
    return _modules()


def _within(name: str, prefixes: tuple[str, ...] | set[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _imports(tree: ast.Module) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module))
    return found


def _calls(tree: ast.Module, names: set[str]) -> list[tuple[int, str, str]]:
    """``(line, called name, enclosing function)`` for calls of the builtins ``names``."""
    found = []

    def visit(node: ast.AST, func: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, (ast.FunctionDef,
                                                     ast.AsyncFunctionDef)) else func
            if (isinstance(child, ast.Call) and isinstance(child.func, ast.Name)
                    and child.func.id in names):
                found.append((child.lineno, child.func.id, func))
            visit(child, inner)

    visit(tree, "<module>")
    return found


def _stream_uses(tree: ast.Module) -> list[int]:
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id == "sys" and node.attr in ("stdin", "stdout", "stderr")]


def offences(modules: dict[str, ast.Module]) -> list[str]:
    bad = []
    for name, tree in modules.items():
        if _within(name, ("sluice.integrations",)):
            continue
        for line, module in _imports(tree):
            top = module.split(".")[0]
            if top == "click":
                bad.append(f"{name}:{line}: imports click (prompts and output belong to the CLI)")
            if top == "rich" and not _within(name, RENDERERS):
                bad.append(f"{name}:{line}: imports rich outside the output renderers")
        for line, called, func in _calls(tree, {"print", "input", "breakpoint"}):
            if (name, func) not in PRINTERS:
                bad.append(f"{name}:{line}: calls {called}() in {func}")
        if not _within(name, RENDERERS) and name not in STREAM_USERS:
            bad += [f"{name}:{line}: uses a standard stream" for line in _stream_uses(tree)]
    return bad


def test_library_code_never_prompts_or_prints() -> None:
    bad = offences(_sluice_modules())
    assert not bad, "\n".join(bad)


def test_the_allowances_name_modules_that_exist() -> None:
    names = set(_sluice_modules())
    assert {m for m in STREAM_USERS if m not in names} == set()
    assert {m for m, _ in PRINTERS if m not in names} == set()


def test_each_offence_is_found(tmp_path: Path) -> None:
    pkg = tmp_path / "sluice"
    (pkg / "policy").mkdir(parents=True)
    (pkg / "integrations").mkdir()
    (pkg / "policy" / "ask.py").write_text(
        "import sys\nimport click\nfrom rich.console import Console\n\n"
        "def f():\n    print('x')\n    sys.stderr.write('y')\n    return input()\n",
        encoding="utf-8")
    (pkg / "integrations" / "cli.py").write_text(
        "import click\nprint('fine here')\n", encoding="utf-8")
    found = offences(_modules(tmp_path))
    assert [f.split(": ", 1)[1] for f in found] == [
        "imports click (prompts and output belong to the CLI)",
        "imports rich outside the output renderers",
        "calls print() in f",
        "calls input() in f",
        "uses a standard stream",
    ], found
