"""Moved to tests.support.multiservice; kept while tests move over."""

from tests.support.multiservice import (
    columns,
    edit,
    module_value,
    ms_autogenerate,
    ms_cfg,
    ms_downgrade,
    ms_upgrade,
    revision_files,
    tables,
    upgrade_all,
    versions,
)

__all__ = ["columns", "edit", "module_value", "ms_autogenerate", "ms_cfg", "ms_downgrade",
           "ms_upgrade", "revision_files", "tables", "upgrade_all", "versions"]
