"""Moved to :mod:`sluice.integrations.alembic_plugin`; this name keeps it importable."""

from sluice.integrations.alembic_plugin import (
    DEFAULT_PLUGINS,
    PLUGIN_NAME,
    compare_enums,
    compare_server_default,
    ensure_registered,
    plugin_api_available,
    setup,
    with_sluice,
)

__all__ = ["DEFAULT_PLUGINS", "PLUGIN_NAME", "compare_enums", "compare_server_default",
           "ensure_registered", "plugin_api_available", "setup", "with_sluice"]
