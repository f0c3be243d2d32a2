"""The operation model and the finding type, under the names callers have always used.

The operation model (:class:`Op`, :class:`Hit`, :class:`TypeInfo`, :data:`DIALECTS`) lives in
:mod:`sluice.core.ops`, the finding type in :mod:`sluice.core.findings`; this module
re-exports them.
"""

from __future__ import annotations

from sluice.core.findings import SEVERITY_ORDER, Finding
from sluice.core.ops import DIALECTS, Hit, Op, TypeInfo

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sluice.core.literals import Severity

__all__ = ["DIALECTS", "SEVERITY_ORDER", "Finding", "Hit", "Op", "Severity", "TypeInfo"]


def __getattr__(name: str) -> object:
    """``Severity``, from :mod:`sluice.core.literals` (which imports typing) when asked for."""
    if name == "Severity":
        from sluice.core.literals import Severity  # lazy: imports typing

        return Severity
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
