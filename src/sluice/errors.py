"""Exceptions that the CLI turns into one-line messages and exit codes.

They live in :mod:`sluice.core.errors` (the core raises them too); every other module
imports them from here.
"""

from __future__ import annotations

from sluice.core.errors import (
    ConfigError,
    DatabaseUnavailable,
    PolicyViolation,
    SluiceError,
    mask_url,
)

__all__ = ["ConfigError", "DatabaseUnavailable", "PolicyViolation", "SluiceError", "mask_url"]
