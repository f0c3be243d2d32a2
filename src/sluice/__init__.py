"""Sluice: control points for Alembic."""

from sluice.config import SluiceConfig, load_config
from sluice.envhooks import configure_options
from sluice.environments import current_env, only_in, skip_in
from sluice.errors import ConfigError, PolicyViolation, SluiceError

__version__ = "0.1.0"

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
