"""Paths as code hosts read them: relative to the root of the checkout.

Findings carry paths relative to the working folder. GitHub's annotations and code
scanning (SARIF's ``%SRCROOT%``) and GitLab's code quality report resolve them from the
repository's root, so a CI step that runs in a subfolder (``working-directory: backend``)
would point them at files that do not exist. The checkout is the nearest folder above the
working folder that holds ``.git`` (a folder, or a file in a worktree or submodule); with
none, paths stay relative to the working folder.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import PurePath

__all__ = ["checkout_path"]


@lru_cache(maxsize=8)
def _checkout_root(cwd: str) -> str | None:
    folder = cwd
    while True:
        if os.path.exists(os.path.join(folder, ".git")):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def checkout_path(path: str) -> str:
    """``path`` (relative to the working folder, or absolute) relative to the checkout's
    root, with ``/``; unchanged outside a checkout or when it lies outside it."""
    cwd = os.getcwd()
    root = _checkout_root(cwd)
    if root is None:
        return PurePath(path).as_posix()
    absolute = os.path.normpath(os.path.join(cwd, path))
    relative = os.path.relpath(absolute, root)
    if relative == ".." or relative.startswith(".." + os.sep):
        return PurePath(path).as_posix()
    return PurePath(relative).as_posix()
