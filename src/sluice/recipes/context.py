"""A :class:`RecipeContext` from the project's configuration."""

from __future__ import annotations

from sluice.config import SluiceConfig
from sluice.core.durations import parse_duration
from sluice.recipes.model import DEFAULT_LOCK_TIMEOUT, RecipeContext, parse_mysql_version
from sluice.rules.registry import active_rules


def context_for(config: SluiceConfig, dialect: str, *, env: str | None = None) -> RecipeContext:
    """The context recipes run in for ``dialect`` under ``config``.

    Target versions and the rules in force (``enable``/``disable``) come from
    ``[tool.sluice.lint]``. The lock timeout is ``env``'s
    ``lock_timeout`` when ``env`` is given and sets one; else the shortest ``lock_timeout``
    of the production environments; else :data:`DEFAULT_LOCK_TIMEOUT`.
    """
    mysql_version = config.lint.target_mysql_version or "8.0"
    parse_mysql_version(mysql_version)
    return RecipeContext(dialect=dialect,
                         target_postgres_version=config.lint.target_postgres_version,
                         target_mysql_version=mysql_version,
                         lock_timeout=lock_timeout_for(config, env),
                         active_rules=frozenset(r.id for r in active_rules(config)))


def lock_timeout_for(config: SluiceConfig, env: str | None) -> str:
    if env is not None:
        chosen = config.environments.get(env)
        if chosen is not None and chosen.lock_timeout:
            return _checked(chosen.lock_timeout, env)
    found: list[tuple[int, str]] = []
    for name, envcfg in config.environments.items():
        if envcfg.lock_timeout and config.is_production(name):
            ms = parse_duration(_checked(envcfg.lock_timeout, name),
                                key=f"tool.sluice.environments.{name}.lock_timeout")
            if ms:  # "0" turns the timeout off: not a value to write into a recipe
                found.append((ms, envcfg.lock_timeout.strip()))
    return min(found)[1] if found else DEFAULT_LOCK_TIMEOUT


def _checked(value: str, env: str) -> str:
    parse_duration(value, key=f"tool.sluice.environments.{env}.lock_timeout")
    return value.strip()
