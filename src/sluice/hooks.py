"""Moved to :mod:`sluice.integrations.hooks`; this name keeps ``sluice.hooks`` importable."""

from sluice.integrations.hooks import (
    find_alembic_ini,
    lint_files,
    new_revision_main,
    revision_id_of,
)

__all__ = ["find_alembic_ini", "lint_files", "new_revision_main", "revision_id_of"]
