"""Sluice: control points for Alembic.

The names below are imported on first use: Alembic imports
``sluice.integrations.alembic_plugin`` (its ``alembic.plugins`` entry point) while Alembic
itself is still being imported, so importing the package must not import Alembic.
"""

from __future__ import annotations

import importlib

from sluice._version import __version__ as __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sluice.config import SluiceConfig, load_config
    from sluice.environments import current_env, only_in, skip_in
    from sluice.errors import ConfigError, PolicyViolation, SluiceError
    from sluice.integrations.envhooks import configure_options

__all__ = [
    "ConfigError",
    "PolicyViolation",
    "SluiceConfig",
    "SluiceError",
    "configure_options",
    "current_env",
    "load_config",
    "only_in",
    "skip_in",
]

_HOME = {
    "SluiceConfig": "sluice.config",
    "load_config": "sluice.config",
    "configure_options": "sluice.integrations.envhooks",
    "current_env": "sluice.environments",
    "only_in": "sluice.environments",
    "skip_in": "sluice.environments",
    "ConfigError": "sluice.errors",
    "PolicyViolation": "sluice.errors",
    "SluiceError": "sluice.errors",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'sluice' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
