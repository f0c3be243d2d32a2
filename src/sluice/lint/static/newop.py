"""``make_op``: an :class:`~sluice.lint.model.Op` as ``Op(kind, line=..., phase=...,
args=...)`` makes it, without running the dataclass ``__init__`` (the static layer makes
one per operation and fact of thousands of revisions)."""

from __future__ import annotations

from dataclasses import MISSING, fields

from sluice.lint.model import Op

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["make_op"]


def _template() -> dict[str, Any] | None:
    """Each field of ``Op`` with its default, in field order; None when ``Op`` is not a
    plain dataclass whose ``__init__`` only stores its arguments (then ``make_op`` calls
    it)."""
    if hasattr(Op, "__slots__") or hasattr(Op, "__post_init__"):
        return None
    out: dict[str, Any] = {}
    for f in fields(Op):
        if not f.init:
            return None
        if f.default is not MISSING:
            out[f.name] = f.default
        elif f.name == "args" and f.default_factory is dict:
            out[f.name] = None  # a new dict per op
        elif f.name == "kind":
            out[f.name] = None
        else:
            return None
    return out


_TEMPLATE = _template()


def make_op(kind: str, line: int | None, phase: str,
            args: dict[str, Any] | None = None) -> Op:
    """``Op(kind, line=line, phase=phase, args=args or {})``."""
    template = _TEMPLATE
    if template is None:
        return Op(kind, line=line, phase=phase,  # type: ignore[arg-type]
                  args={} if args is None else args)
    op = _new(Op)
    state = op.__dict__
    state.update(template)
    state["kind"] = kind
    state["args"] = {} if args is None else args
    state["line"] = line
    state["phase"] = phase
    return op


_new = Op.__new__
