"""The guard settings of one environment: production defaults, per-environment overrides.

Production (``production_environments`` or ``production = true``) defaults to the strict
set: downgrades refused, revisions with unsuppressed error-level lint findings refused, a
backup first, an interactive confirmation showing the plan, and the env.py guard on plain
``alembic upgrade``. Other environments default to the loose set. Every key can be set per
environment in ``[tool.sluice.environments.NAME]``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sluice.config import EnvironmentConfig, SluiceConfig
from sluice.core.durations import parse_duration
from sluice.errors import ConfigError

DEFAULT_MIGRATION_LOCK_TIMEOUT_MS = 10 * 60_000
DEFAULT_LOCK_RETRIES = 3
DEFAULT_LOCK_RETRY_BACKOFF_MS = 1000


@dataclass(frozen=True)
class EnvPolicy:
    """What the runner enforces in one environment (all defaults resolved)."""

    environment: str
    production: bool
    allow_downgrade: bool
    require_backup: bool
    confirm: bool
    block_on_lint_errors: bool
    backup_command: str | None
    #: Milliseconds; None leaves the database's own setting alone.
    lock_timeout_ms: int | None
    statement_timeout_ms: int | None
    migration_lock_timeout_ms: int
    lock_retries: int
    lock_retry_backoff_ms: int
    guard_alembic: bool
    url: str | None
    #: The environment's table as the configuration file spells it, for messages:
    #: ``[environments.prod]`` in sluice.toml, ``[tool.sluice.environments.prod]`` else.
    table: str = "[tool.sluice.environments.NAME]"

    @property
    def label(self) -> str:
        return f"{self.environment} (production)" if self.production else self.environment


def _pick(value: bool | None, default: bool) -> bool:
    return default if value is None else value


def resolve_policy(config: SluiceConfig, environment: str) -> EnvPolicy:
    """The guard settings for ``environment``; bad duration values raise ConfigError."""
    env = config.environments.get(environment) or EnvironmentConfig()
    prod = config.is_production(environment)
    key = config.key_path(f"environments.{environment}")
    where = f"{config.source or 'config'}: {key}"
    retries = env.lock_retries if env.lock_retries is not None else DEFAULT_LOCK_RETRIES
    if retries < 0:
        raise ConfigError(f"{where}.lock_retries: must be 0 or more, got {retries}")
    return EnvPolicy(
        table=f"[{key}]",
        environment=environment,
        production=prod,
        allow_downgrade=_pick(env.allow_downgrade, not prod),
        require_backup=_pick(env.require_backup, prod),
        confirm=_pick(env.confirm, prod),
        block_on_lint_errors=_pick(env.block_on_lint_errors, prod),
        backup_command=env.backup_command,
        lock_timeout_ms=parse_duration(env.lock_timeout, key=f"{where}.lock_timeout") or None,
        statement_timeout_ms=parse_duration(
            env.statement_timeout, key=f"{where}.statement_timeout"
        ) or None,
        migration_lock_timeout_ms=(
            parse_duration(env.migration_lock_timeout, key=f"{where}.migration_lock_timeout")
            if env.migration_lock_timeout is not None
            else DEFAULT_MIGRATION_LOCK_TIMEOUT_MS
        ) or 0,
        lock_retries=retries,
        lock_retry_backoff_ms=parse_duration(
            env.lock_retry_backoff, key=f"{where}.lock_retry_backoff"
        ) or DEFAULT_LOCK_RETRY_BACKOFF_MS,
        guard_alembic=_pick(env.guard_alembic, prod),
        url=env.url,
    )
