"""Moved to tests.support.multiservice; kept while tests move over."""

from tests.support.db import columns, tables, versions
from tests.support.multiservice import (
    edit,
    module_value,
    ms_autogenerate,
    ms_cfg,
    ms_downgrade,
    ms_upgrade,
    revision_files,
    upgrade_all,
)

__all__ = ["columns", "edit", "module_value", "ms_autogenerate", "ms_cfg", "ms_downgrade",
           "ms_upgrade", "revision_files", "tables", "upgrade_all", "versions"]
