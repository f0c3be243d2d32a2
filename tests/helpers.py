"""Moved to tests.support.project; kept while tests move over."""

from tests.support.project import autogenerate, cfg, drop_legacy_field, edit, upgrade

__all__ = ["autogenerate", "cfg", "drop_legacy_field", "edit", "upgrade"]
