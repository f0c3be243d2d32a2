"""What the rule files of the ``naming`` family share.

Naming conventions for indexes and constraints (SL7xx).
"""

from __future__ import annotations

import re

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
