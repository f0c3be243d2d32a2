"""The operation model and the finding type, under the names callers have always used.

The operation model (:class:`Op`, :class:`Hit`, :class:`TypeInfo`, :data:`DIALECTS`) lives in
:mod:`sluice.core.ops`, the finding type in :mod:`sluice.core.findings`; this module
re-exports them.
"""

from __future__ import annotations

from sluice.core.findings import SEVERITY_ORDER, Finding, Severity
from sluice.core.ops import DIALECTS, Hit, Op, TypeInfo

__all__ = ["DIALECTS", "SEVERITY_ORDER", "Finding", "Hit", "Op", "Severity", "TypeInfo"]
