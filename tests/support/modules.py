"""Forgetting a test project's modules before the next in-process Alembic or Sluice call.

:func:`forget_modules` does what :func:`sluice.core.project.forget_modules` does (that
function's own tests are in tests/test_forget_modules.py), with the same rules: a module is
dropped when its top-level name is a package or module at the top of ``root``, or when its
file is under ``root`` and is not part of an installed package or of the standard library
(``sluice.core.project.is_project_file`` decides that, for every candidate).

Only the search is cheaper. The Sluice function resolves the path of every module in
``sys.modules`` on each call: in a test worker that is over a thousand ``Path.resolve``
calls, 0.1-0.2 s, before every in-process Alembic command of every test. Here each module
file's real path is resolved once per worker and remembered (a module file's path does not
start to resolve elsewhere while the tests run: no test links the folders modules are
imported from), and ``is_project_file`` runs only on the files whose real path is under
``root``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from sluice.core.project import is_project_file

__all__ = ["forget_modules"]

_real_paths: dict[str, str] = {}


def _real_path(file: str) -> str:
    if not os.path.isabs(file):  # relative to the working directory of the moment
        return os.path.realpath(file)
    real = _real_paths.get(file)
    if real is None:
        real = _real_paths[file] = os.path.realpath(file)
    return real


def forget_modules(root: str | Path) -> None:
    """Drop the modules of ``root`` from ``sys.modules`` (see the module docstring)."""
    root = Path(root).resolve()
    if root.is_dir():
        local = {p.name for p in root.iterdir() if (p / "__init__.py").is_file()}
        local |= {p.stem for p in root.glob("*.py")}
    else:
        local = set()
    inside = str(root).rstrip(os.sep) + os.sep
    for name, module in list(sys.modules.items()):
        if name.split(".", 1)[0] in local:
            del sys.modules[name]
            continue
        file = getattr(module, "__file__", None)
        if file and _real_path(str(file)).startswith(inside) and is_project_file(file, root):
            del sys.modules[name]
