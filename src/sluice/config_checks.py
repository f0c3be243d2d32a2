"""Checks across ``[tool.sluice]`` keys that the types alone cannot express.

Environments named by other keys exist, severities and renames are well formed, each table
pattern and branch label belongs to one service, regular expressions compile, durations
parse and counts are in range.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Collection

from sluice.core.durations import parse_duration
from sluice.errors import ConfigError
from sluice.owned import DATA_PROGRESS_TABLE, HISTORY_TABLE, LOCK_HOLDER_TABLE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

    from sluice.config import SluiceConfig


def check_cross_references(cfg: SluiceConfig, source: str,
                           given: Collection[str] | None = None, *,
                           nested: bool = False) -> None:
    """``given``: the top-level keys the file sets (None: all of them); a default that
    names a missing environment is told as a default, with both ways out. ``nested``: the
    file ``source`` holds the settings under ``[tool.sluice]`` (a hint's tables say so)."""
    _check_environment_names(cfg, source)
    valid = ", ".join(sorted(cfg.environments))
    if cfg.default_environment not in cfg.environments:
        if given is not None and "default_environment" not in given:
            raise _missing_default(source, cfg.default_environment, "default_environment",
                                   f"set default_environment to one of: {valid}", nested)
        raise ConfigError(
            f"{source}: tool.sluice.default_environment: '{cfg.default_environment}' "
            f"is not one of the environments ({valid})"
        )
    for name in cfg.production_environments:
        if name not in cfg.environments:
            if given is not None and "production_environments" not in given:
                raise _missing_default(
                    source, name, "production_environments",
                    f"set production_environments to the production ones of: {valid} "
                    "([] for none)", nested)
            raise ConfigError(
                f"{source}: tool.sluice.production_environments: '{name}' "
                f"is not one of the environments ({valid})"
            )
    for key, value in cfg.lint.severity.items():
        if value not in ("error", "warning", "info"):
            raise ConfigError(
                f"{source}: tool.sluice.lint.severity.{key}: expected 'error' | 'warning' | "
                f"'info', got {value!r}"
            )
    for old, new in cfg.renames.items():
        key = f"{source}: tool.sluice.renames.{old}"
        if old.count(".") != new.count(".") or old.count(".") > 1:
            raise ConfigError(
                f"{key}: rename both sides the same way, "
                f"'table' = 'new_table' or 'table.column' = 'table.new_column'"
            )
        _check_rename(key, old, new)
    owners: dict[str, str] = {}
    for svc, scfg in cfg.services.items():
        for pattern in scfg.tables:
            if pattern in owners and owners[pattern] != svc:
                raise ConfigError(
                    f"{source}: tool.sluice.services: table pattern '{pattern}' is claimed by "
                    f"both '{owners[pattern]}' and '{svc}'"
                )
            owners[pattern] = svc
    _check_services(cfg, source)
    for pattern in cfg.lint.constraint_name_patterns.values():
        _check_regex(pattern, source, "tool.sluice.lint.constraint_name_patterns")
    _check_regex(cfg.lint.index_name_pattern, source, "tool.sluice.lint.index_name_pattern")
    if cfg.lint.target_mysql_version is not None:
        _check_mysql_version(cfg.lint.target_mysql_version, source)
    last = cfg.check.roundtrip_last
    if last is not None and last < 1:  # as `sluice check --last N` takes it
        raise ConfigError(f"{source}: tool.sluice.check.roundtrip_last: must be 1 or more "
                          f"(the latest N revisions; leave it out for all), got {last}")
    _check_environments(cfg, source)
    _check_data(cfg, source)
    _check_sum_file(cfg.check.sum_file, source)


def _check_sum_file(value: str, source: str) -> None:
    """An empty name (not "a path out of the project", as the writer would take it); the
    paths Sluice will not write are refused where the project folder is known."""
    if not value.strip():
        raise ConfigError(f"{source}: tool.sluice.check.sum_file: expected a file name, got "
                          f"{value!r}; leave it out for 'sluice.sum'")


#: ``[tool.sluice.data]`` counts and their least values (as a step's arguments take them).
_DATA_MINIMUMS = {"batch_size": 1, "target_batch_ms": 0, "pause_ms": 0, "max_retries": 0,
                  "max_batch_size": 1, "lock_timeout_ms": 1}


#: Tables whose names ``progress_table`` may not take, and whose they are.
_TAKEN_TABLES = {"alembic_version": "Alembic's version table",
                 HISTORY_TABLE: "Sluice's audit table", LOCK_HOLDER_TABLE: "Sluice's lock table"}


def _check_data(cfg: SluiceConfig, source: str) -> None:
    """Said when the configuration is read, with its line, not when a step first runs."""
    for name, low in _DATA_MINIMUMS.items():
        value = getattr(cfg.data, name)
        if value is not None and value < low:
            raise ConfigError(f"{source}: tool.sluice.data.{name}: expected an integer >= "
                              f"{low}, got {value!r}")
    if not cfg.data.progress_table.strip():
        raise ConfigError(f"{source}: tool.sluice.data.progress_table: expected a table name, "
                          f"got {cfg.data.progress_table!r}; leave it out for "
                          "'sluice_data_progress'")
    taken = _TAKEN_TABLES.get(cfg.data.progress_table.lower())
    if taken is not None:
        raise ConfigError(f"{source}: tool.sluice.data.progress_table: "
                          f"'{cfg.data.progress_table}' is {taken}, not a checkpoint table; "
                          "name a table of its own, or leave the key out for "
                          f"'{DATA_PROGRESS_TABLE}'")
    if cfg.data.log_interval_s < 0:
        raise ConfigError(f"{source}: tool.sluice.data.log_interval_s: expected a number >= 0, "
                          f"got {cfg.data.log_interval_s!r}")


def _check_rename(key: str, old: str, new: str) -> None:
    """A rename autogenerate can write: names on both sides, a column within its table
    (``alter_column(new_column_name=...)``), and a change."""
    if not all(p.strip() for p in (*old.split("."), *new.split("."))):
        raise ConfigError(f"{key}: a table or column name is empty ('{old}' = '{new}'); "
                          "write 'table' = 'new_table' or 'table.column' = 'table.new_column'")
    if "." in old and old.split(".")[0] != new.split(".")[0]:
        raise ConfigError(f"{key}: a column keeps its table when renamed ('{old}' = '{new}'); "
                          "rename the table in an entry of its own, or move the data by hand")
    if old == new:
        raise ConfigError(f"{key}: renames a name to itself; remove the entry")


def _table(source: str, dotted: str, nested: bool = False) -> str:
    """The table ``dotted`` as the file ``source`` spells its header (``nested``: under
    ``[tool.sluice]``, as a sluice.toml may hold it)."""
    own_file = source.endswith(".toml") and not source.endswith("pyproject.toml")
    return f"[{dotted}]" if own_file and not nested else f"[tool.sluice.{dotted}]"


def _missing_default(source: str, name: str, key: str, other_way: str,
                     nested: bool = False) -> ConfigError:
    """The environments the file lists leave out ``name``, which ``key`` names by
    default (the file does not set it)."""
    return ConfigError(
        f"{source}: tool.sluice.environments: no environment '{name}', which {key} names "
        f"by default (the environments listed replace dev, test, staging, prod); add "
        f"{_table(source, f'environments.{name}', nested)}, or {other_way}")


def _check_environment_names(cfg: SluiceConfig, source: str) -> None:
    """An empty name could never be chosen: ``-x env=`` is always refused."""
    if not cfg.environments:
        raise ConfigError(f"{source}: tool.sluice.environments: no environment listed; list "
                          "the ones you deploy to, or leave the key out for dev, test, "
                          "staging, prod")
    for name in cfg.environments:
        if not name.strip():
            raise ConfigError(
                f"{source}: tool.sluice.environments: an environment name is empty "
                f"({name!r}); name each environment (dev, staging, prod, ...)")


def _check_environments(cfg: SluiceConfig, source: str) -> None:
    """Durations and retries of every environment, so that a bad one is said when the
    configuration is read, with its line, whichever command reads it."""
    for name, env in cfg.environments.items():
        key = f"{source}: tool.sluice.environments.{name}"
        for setting in _DURATIONS:
            parse_duration(getattr(env, setting), key=f"{key}.{setting}")
        if env.lock_retries is not None and env.lock_retries < 0:
            raise ConfigError(f"{key}.lock_retries: must be 0 or more, got {env.lock_retries}")


_DURATIONS = ("lock_timeout", "statement_timeout", "migration_lock_timeout", "lock_retry_backoff")


#: ``8.0``, ``8.0.35``, ``mysql-8.4``, ``mariadb-10.11``, ``MariaDB 10.6``.
_MYSQL_VERSION = re.compile(r"(?:(?:mysql|mariadb)[-_ ]?)?\d+(?:\.\d+){0,2}", re.I)


def _check_mysql_version(value: str, source: str) -> None:
    if not _MYSQL_VERSION.fullmatch(str(value).strip()):
        raise ConfigError(
            f"{source}: tool.sluice.lint.target_mysql_version: {value!r} is not a server "
            'version; write the oldest one production runs, e.g. "8.0" or "mariadb-10.11"'
        )


def _check_services(cfg: SluiceConfig, source: str) -> None:
    labels: dict[str, str] = {}
    tables: dict[str, str] = {}
    for svc, scfg in cfg.services.items():
        key = f"{source}: tool.sluice.services.{svc}"
        label = scfg.branch_label or svc
        if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", label) or "@" in label:
            raise ConfigError(
                f"{key}.branch_label: {label!r} is not usable as an Alembic branch label "
                "(letters, digits, '_', '-', '.')"
            )
        if label in labels:
            raise ConfigError(
                f"{key}.branch_label: '{label}' is already the branch label of '{labels[label]}'"
            )
        labels[label] = svc
        if scfg.version_table:
            if scfg.version_table in tables:
                raise ConfigError(
                    f"{key}.version_table: '{scfg.version_table}' is already the version "
                    f"table of '{tables[scfg.version_table]}'"
                )
            tables[scfg.version_table] = svc
        if not scfg.tables:
            raise ConfigError(f"{key}.tables: a service must own at least one table pattern")


def _check_regex(pattern: str, source: str, key: str) -> None:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"{source}: {key}: invalid regular expression: {exc}") from None


def located(exc: ConfigError, file: Path, *, nested: bool) -> ConfigError:
    """``exc`` with the key spelled as the file spells it (no ``tool.sluice.`` in a
    ``sluice.toml`` without that table) and the line that sets it, when one does."""
    m = re.match(re.escape(str(file)) + r": tool\.sluice\.([\w.\-]+)(.*)", exc.message, re.S)
    if m is None:
        return exc
    parts = ["tool", "sluice", *m.group(1).split(".")] if nested else m.group(1).split(".")
    line = None
    with contextlib.suppress(OSError, UnicodeDecodeError):
        line = key_line(file.read_text(encoding="utf-8"), parts)
    where = f"{file}:{line}" if line else str(file)
    return ConfigError(f"{where}: {'.'.join(parts)}{m.group(2)}", hint=exc.hint)


def key_line(text: str, parts: list[str]) -> int | None:
    """The line of ``text`` (TOML) that sets the key ``parts``: ``key = ...`` under its
    table header, or the header of a table of that name; None when it is spelled in
    another way (an inline table, a dotted key across tables)."""
    def names(dotted: str) -> list[str]:  # ``default-environment`` is the same key
        return [p.strip().strip("\"'").replace("-", "_") for p in dotted.split(".")]

    parts = [p.replace("-", "_") for p in parts]
    table: list[str] = []
    within = None  # the first header of a table inside ``parts`` (``[environment.prod]``)
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        header = re.match(r"\[\[?\s*([^\]]+?)\s*\]\]?", stripped)
        key = re.match(r"([\w\-\"'. ]+?)\s*=", stripped)
        if header:
            table = names(header.group(1))
            if table == parts:
                return number
            if within is None and table[:len(parts)] == parts:
                within = number
        elif key and table + names(key.group(1)) == parts:
            return number
    return within
