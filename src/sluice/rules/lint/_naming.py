"""What the rule files of the ``naming`` family share.

Naming conventions for indexes and constraints (SL7xx).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sluice.core.ops import Op

_CONSTRAINT_KINDS = {
    "create_unique_constraint": "unique",
    "create_foreign_key": "foreign_key",
    "create_check_constraint": "check",
    "create_primary_key": "primary_key",
}


def _matches(pattern: str, name: str) -> bool:
    try:
        return re.search(pattern, name) is not None
    except re.error:
        return True  # an invalid pattern is a config problem, not this revision's


#: PostgreSQL's suffix for the name it gives an unnamed constraint.
_PG_SUFFIX = {"create_foreign_key": "fkey", "create_unique_constraint": "key",
              "create_primary_key": "pkey", "create_check_constraint": "check"}


def pg_default_name(o: Op, dialect: str | None) -> str:
    """The name PostgreSQL gives an unnamed constraint: ``accounts_gpgkey_user_id_fkey``."""
    cols = o.args.get("local_cols") or o.args.get("columns")
    if dialect != "postgresql" or o.kind not in _PG_SUFFIX or not o.table:
        return ""
    if o.kind == "create_primary_key":
        return f"{o.table}_pkey"
    if not isinstance(cols, (list, tuple)) or not all(isinstance(c, str) for c in cols):
        return ""
    return "_".join([o.table, *cols, _PG_SUFFIX[o.kind]])
