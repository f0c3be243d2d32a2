"""Autogenerate policies, applied in order by ``process_revision_directives``.

A policy is one function ``(PolicyContext, directives) -> None`` whose docstring is its
documentation; :data:`POLICIES` is the one place they are registered.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sluice.policy.base import Allowance, CommentOp, PolicyContext, parse_allowances
    from sluice.policy.registry import POLICIES, apply_policies

#: Where each public name lives; each module is imported on first use (PEP 562), so that
#: importing ``sluice.policy.defaults`` (every env.py does) does not import every policy.
_HOME = {
    "POLICIES": "registry", "apply_policies": "registry",
    "Allowance": "base", "CommentOp": "base", "PolicyContext": "base",
    "parse_allowances": "base",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


__all__ = [
    "POLICIES",
    "Allowance",
    "CommentOp",
    "PolicyContext",
    "apply_policies",
    "parse_allowances",
]
