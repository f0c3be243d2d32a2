"""Sluice configuration: ``[tool.sluice]`` in pyproject.toml, or ``sluice.toml``.

One typed object, :class:`SluiceConfig`, validated against the dataclasses below. Every
field carries its documentation in ``metadata["doc"]``; ``docs/configuration.md`` is
generated from it (``python -m sluice.docgen``).

Lookup: starting in the folder of ``alembic.ini`` and walking up to the filesystem root,
the first folder holding ``sluice.toml`` or a ``pyproject.toml`` with a ``[tool.sluice]``
table wins (``sluice.toml`` before ``pyproject.toml`` in the same folder).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sluice import config_kept
from sluice.config_checks import check_cross_references, key_line, located
from sluice.core.pyproject import read_toml
from sluice.errors import ConfigError
from sluice.owned import DATA_PROGRESS_TABLE
from sluice.typed_toml import Loader, type_hints, type_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sluice.core.literals import DangerousOps, Downgrades, EmptyRevision, Severity

DEFAULT_ENVIRONMENTS = ("dev", "test", "staging", "prod")


def _f(default: Any = None, *, doc: str, factory: Any = None) -> Any:
    """A dataclass field with its documentation attached."""
    if factory is not None:
        return field(default_factory=factory, metadata={"doc": doc})
    return field(default=default, metadata={"doc": doc})


@dataclass
class LintConfig:
    """``[tool.sluice.lint]``: the rule catalog and how revisions are analysed."""

    enable: list[str] = _f(
        factory=list,
        doc="Rule ids, names or families to enable in addition to the defaults (rules that are "
            "off by default); one that names no rule is an error.",
    )
    disable: list[str] = _f(factory=list, doc="Rule ids, names or families to turn off; one "
                            "that names no rule is an error.")
    severity: dict[str, str] = _f(
        factory=dict,
        doc='Per-rule severity override, e.g. `{ SL101 = "warning" }`; values: error, warning, '
            'info; a key that is no rule\'s id or name is an error.',
    )
    fail_on: Severity = _f("error", doc="Lowest severity that makes `sluice lint` exit 1.")
    dialects: list[str] = _f(
        factory=list,
        doc="Dialects whose SQL is rendered and whose rules apply (postgresql, mysql, sqlite); "
        "empty: the dialect of the URL Alembic uses (`sqlalchemy.url`, `-x url=`), a version "
        "location named after a dialect gets that one, and all three only when nothing names one.",
    )
    target_postgres_version: int = _f(
        14, doc="Oldest PostgreSQL major version the migrations must be safe on."
    )
    target_mysql_version: str | None = _f(
        None, doc='Oldest MySQL version (e.g. "8.0") or MariaDB version ("mariadb-10.11") '
        "production runs. Unset: the server Sluice is connected to (autogenerate, plan, "
        'upgrade), else "8.0", said in each finding that depends on it.'
    )
    stub_modules: list[str] = _f(
        factory=list,
        doc="Packages replaced by stand-ins while rendering revisions offline (e.g. your app).",
    )
    render: bool = _f(True, doc="Render revisions offline to SQL as a second analysis layer.")
    show_fixes: bool = _f(
        False, doc="Text output of `sluice lint`: under each finding a recipe answers, the diff "
        "`sluice fix` would make (as `--show-fixes`); off: one line counts those findings and "
        "names `sluice fix --diff`.",
    )
    trees: list[str] = _f(
        factory=list,
        doc="Revision trees `sluice lint` analyses: version locations (folder paths relative to "
        "alembic.ini) or branch labels; empty: all. A file named or locked is linted anyway.",
    )
    cache_dir: str = _f(".sluice_cache", doc="Folder for the per-file analysis cache ('' disables).")
    index_name_pattern: str = _f(
        r"^ix_[a-z0-9_]+$", doc="Regular expression every new index name must match."
    )
    constraint_name_patterns: dict[str, str] = _f(
        factory=lambda: {
            "unique": r"^uq_[a-z0-9_]+$",
            "foreign_key": r"^fk_[a-z0-9_]+$",
            "check": r"^ck_[a-z0-9_]+$",
            "primary_key": r"^pk_[a-z0-9_]+$",
        },
        doc="Regular expression per constraint kind (unique, foreign_key, check, primary_key).",
    )
    large_table_rows: int = _f(
        1_000_000, doc="Row count above which `plan` marks a table as large."
    )


@dataclass
class CheckConfig:
    """``[tool.sluice.check]``: the CI gate."""

    checks: list[str] = _f(
        factory=lambda: ["graph", "upgrade", "drift", "roundtrip", "checksums"],
        doc="Checks `sluice check` runs when `--only` is not given.",
    )
    url: str | None = _f(
        None, doc="Database URL for `sluice check` (default: a temporary SQLite file); with "
        "`--scratch`, the server it creates throwaway databases on; `${VAR}` is replaced by "
        "the environment variable. `--url` and `SLUICE_CHECK_URL` override it."
    )
    roundtrip_last: int | None = _f(
        None, doc="Round-trip only the latest N revisions, N of 1 or more (default: all)."
    )
    expected_heads: list[str] = _f(
        factory=list,
        doc="Branch labels or revision ids that are heads by design (e.g. an expand/contract pair).",
    )
    sum_file: str = _f("sluice.sum", doc="Checksum file, relative to the alembic.ini folder; "
                       "another alembic.ini section (`-n NAME`) has its own, `sluice.NAME.sum`.")
    require_lock: bool = _f(
        False,
        doc="A missing checksum file fails the checksums check (default: skipped with a "
        "hint to run `sluice lock`).",
    )
    pytest: bool = _f(
        False, doc="Add the `test_sluice_*` tests to this project's pytest runs (the plugin)."
    )


@dataclass
class DataConfig:
    """``[tool.sluice.data]``: defaults for batched data migrations (`sluice.data`)."""

    batch_size: int = _f(1000, doc="Rows per batch to start with.")
    target_batch_ms: int = _f(
        200, doc="Adaptive batch size aims for batches of about this many milliseconds (0: fixed)."
    )
    pause_ms: int = _f(0, doc="Pause between batches, in milliseconds.")
    lock_timeout_ms: int | None = _f(
        None, doc="Per-batch lock timeout (PostgreSQL lock_timeout, MySQL innodb_lock_wait_timeout)."
    )
    max_retries: int = _f(5, doc="Retries of a batch whose lock timeout tripped, with backoff.")
    progress_table: str = _f(DATA_PROGRESS_TABLE, doc="Checkpoint table name.")
    max_batch_size: int = _f(
        100_000, doc="Upper bound for the adaptive batch size, in rows."
    )
    log_interval_s: float = _f(
        10.0,
        doc="Seconds between progress lines when stderr is not a terminal (CI logs); "
        "a terminal gets a live progress bar instead.",
    )


@dataclass
class EnvironmentConfig:
    """``[tool.sluice.environments.NAME]``: one deployment environment.

    Policy keys set here override the top-level ones for this environment.
    """

    url: str | None = _f(
        None,
        doc="Database URL for this environment; `${VAR}` is replaced by the environment variable.",
    )
    production: bool | None = _f(
        None, doc="Treat as production (default: listed in `production_environments`)."
    )
    exclude_tables: list[str] | None = _f(None, doc="Overrides the top-level `exclude_tables`.")
    protected_tables: list[str] | None = _f(
        None, doc="Overrides the top-level `protected_tables`."
    )
    empty_revision: EmptyRevision | None = _f(None, doc="Overrides the top-level `empty_revision`.")
    dangerous_ops: DangerousOps | None = _f(None, doc="Overrides the top-level `dangerous_ops`.")
    safe_by_default: bool | None = _f(None, doc="Overrides the top-level `safe_by_default`.")
    allow_downgrade: bool | None = _f(
        None, doc="Allow `sluice downgrade` without `--allow-downgrade` (default: not in production)."
    )
    require_backup: bool | None = _f(
        None, doc="A backup must succeed before upgrading (default: in production)."
    )
    confirm: bool | None = _f(
        None, doc="Ask for confirmation showing the plan unless `--yes` (default: in production)."
    )
    block_on_lint_errors: bool | None = _f(
        None,
        doc="Refuse revisions with unsuppressed error-level lint findings (default: in production).",
    )
    backup_command: str | None = _f(
        None,
        doc="Backup command template; placeholders {url}, {timestamp}, {revision}, {env}.",
    )
    lock_timeout: str | None = _f(
        None, doc='Lock timeout for migration statements, e.g. "5s" or "500ms".'
    )
    statement_timeout: str | None = _f(None, doc='Statement timeout, e.g. "15min".')
    migration_lock_timeout: str | None = _f(
        None, doc='How long to wait for another deploy holding the migration lock, e.g. "10min".'
    )
    lock_retries: int | None = _f(
        None,
        doc="Retries of an upgrade whose lock timeout tripped, with backoff, where a retry is "
        "safe (default 3; see docs/production.md).",
    )
    lock_retry_backoff: str | None = _f(
        None, doc='Wait before the first retry, doubled each time, e.g. "2s" (default "1s").'
    )
    guard_alembic: bool | None = _f(
        None,
        doc="Plain `alembic upgrade`/`downgrade` through a Sluice-wired env.py takes the "
        "migration lock, applies the timeouts and writes the audit table (default: in production).",
    )


@dataclass
class ServiceConfig:
    """``[tool.sluice.services.NAME]``: tables one service owns in a shared database."""

    tables: list[str] = _f(factory=list, doc="Glob patterns of the tables this service owns.")
    branch_label: str | None = _f(None, doc="Alembic branch label (default: the service name).")
    version_location: str | None = _f(
        None, doc="Folder for this service's revisions, relative to alembic.ini."
    )
    version_table: str | None = _f(
        None, doc="Separate Alembic version table for this service (instead of branches)."
    )


@dataclass
class SluiceConfig:
    """``[tool.sluice]``: the whole configuration."""

    exclude_tables: list[str] = _f(
        factory=list,
        doc='Glob patterns of tables Alembic must never see (e.g. `"tmp_*"`, `"*_bak"`).',
    )
    include_schemas: list[str] = _f(
        factory=list, doc="Schemas autogenerate compares besides the default one."
    )
    protected_tables: list[str] = _f(
        factory=list, doc="Glob patterns of tables autogenerate may never alter or drop."
    )
    empty_revision: EmptyRevision = _f(
        "error", doc="What an autogenerate run with no changes does: error, skip or allow."
    )
    dangerous_ops: DangerousOps = _f(
        "error", doc="Dangerous autogenerated operations: refuse (error) or only warn."
    )
    safe_by_default: bool = _f(
        False,
        doc="Autogenerate writes the safe recipe (see recipes.md) of a dangerous operation "
        "that has one for the dialect and target version, instead of refusing it; a recipe "
        "that spans deploys is split into an expand and a contract revision.",
    )
    downgrades: Downgrades = _f(
        "required",
        doc="Downgrade policy: required, optional, or none (the project never writes them).",
    )
    renames: dict[str, str] = _f(
        factory=dict,
        doc='Confirmed renames for autogenerate, e.g. `{ "users.fullname" = "users.full_name" }`.',
    )
    expand_contract: bool = _f(
        False,
        doc="Split every autogenerate result into an expand revision (additive changes) and a "
        "contract revision (drops, NOT NULL tightening) that depends on it; "
        "`-x split=expand-contract` / `-x split=none` decide per run.",
    )
    environments: dict[str, EnvironmentConfig] = _f(
        factory=lambda: {name: EnvironmentConfig() for name in DEFAULT_ENVIRONMENTS},
        doc="Known environments (a list of names, or a table per environment).",
    )
    default_environment: str = _f("dev", doc="Environment used when none is given.")
    production_environments: list[str] = _f(
        factory=lambda: ["prod"], doc="Environments treated as production."
    )
    lint: LintConfig = _f(factory=LintConfig, doc="See `[tool.sluice.lint]`.")
    check: CheckConfig = _f(factory=CheckConfig, doc="See `[tool.sluice.check]`.")
    data: DataConfig = _f(factory=DataConfig, doc="See `[tool.sluice.data]`.")
    services: dict[str, ServiceConfig] = _f(
        factory=dict, doc="Services sharing the database, each owning some tables."
    )

    #: Where the configuration was read from (None: defaults only).
    source: Path | None = field(default=None, metadata={"internal": True}, compare=False)
    #: The file nests the settings under ``[tool.sluice]`` (pyproject.toml; a sluice.toml may).
    nested: bool = field(default=False, metadata={"internal": True}, compare=False)
    #: Folder holding alembic.ini (paths in the config are relative to it).
    root: Path = field(default_factory=Path.cwd, metadata={"internal": True}, compare=False)

    def is_production(self, env: str) -> bool:
        envcfg = self.environments.get(env)
        if envcfg is not None and envcfg.production is not None:
            return envcfg.production
        return env in self.production_environments

    def key_path(self, dotted: str) -> str:
        """``dotted`` (``environments.prod``) as the configuration file spells it:
        ``tool.sluice.`` in front in pyproject.toml (or with no file yet), not in a
        sluice.toml (or another file given by name: its top level is the configuration)
        that does not nest its settings under ``[tool.sluice]``."""
        if self.source is not None and self.source.name != "pyproject.toml" \
                and not self.nested:
            return dotted
        return f"tool.sluice.{dotted}"

    def key_line(self, dotted: str) -> int | None:
        """The line of the configuration file that sets ``dotted``, when one does."""
        if self.source is None:
            return None
        with contextlib.suppress(OSError, UnicodeDecodeError):
            text = self.source.read_text(encoding="utf-8")
            return key_line(text, self.key_path(dotted).split("."))
        return None

    def where(self, dotted: str) -> str:
        """``file:line: key`` of the setting ``dotted`` (``check.url``) for a message: the
        key as :meth:`key_path` spells it, the line that sets it when one does."""
        line = self.key_line(dotted)
        where = f"{self.source}:{line}" if line else str(self.source or "[tool.sluice]")
        return f"{where}: {self.key_path(dotted)}"

    def table(self, section: str = "") -> str:
        """The table ``section`` (``""``: the top level) as the file spells it, for hints:
        ``[check]`` in sluice.toml, ``[tool.sluice.check]`` in pyproject.toml."""
        if self.key_path("") == "":
            return f"[{section}]" if section else f"{self.file_name} (top level)"
        return f"[tool.sluice.{section}]" if section else "[tool.sluice]"

    @property
    def file_name(self) -> str:
        """The file holding the configuration (pyproject.toml when there is none yet)."""
        return self.source.name if self.source is not None else "pyproject.toml"

    def for_environment(self, env: str | None) -> SluiceConfig:
        """A copy with the policy overrides of ``env`` applied."""
        if env is None:
            return self
        envcfg = self.environments.get(env)
        if envcfg is None:
            return self
        overrides = {
            name: getattr(envcfg, name)
            for name in ("exclude_tables", "protected_tables", "empty_revision", "dangerous_ops",
                         "safe_by_default")
            if getattr(envcfg, name) is not None
        }
        return dataclasses.replace(self, **overrides) if overrides else self

    def validate_environment(self, env: str, *, origin: str) -> str:
        if env not in self.environments:
            valid = ", ".join(sorted(self.environments))
            raise ConfigError(f"unknown environment '{env}' (from {origin}); valid: {valid}")
        return env


# --------------------------------------------------------------------------- loading


def parse_config(data: Mapping[str, Any], *, source: str = "[tool.sluice]",
                 nested: bool = False) -> SluiceConfig:
    """Validate a ``[tool.sluice]`` mapping; raises :class:`ConfigError` naming the key.
    ``nested``: the file ``source`` holds it under ``[tool.sluice]`` (for hints)."""
    environments = data.get("environments")
    if isinstance(environments, list):  # a list of names: one table per name
        names = Loader(source).convert(list[str], environments, "tool.sluice.environments")
        data = {**data, "environments": {name: {} for name in names}}
    cfg: SluiceConfig = Loader(source).load(SluiceConfig, data, "tool.sluice")
    check_cross_references(cfg, source, given={str(k).replace("-", "_") for k in data},
                           nested=nested)
    return cfg


def find_config_file(start: Path) -> Path | None:
    """The file holding Sluice's configuration, searching ``start`` and its parents."""
    start = start.resolve()
    for folder in (start, *start.parents):
        candidate = folder / "sluice.toml"
        if candidate.is_file():
            return candidate
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and config_kept.holds_tool(pyproject, "sluice", _parse_file):
            return pyproject
    return None


def load_config(
    start: str | Path | None = None, *, path: str | Path | None = None
) -> SluiceConfig:
    """Load the configuration for the Alembic project in ``start`` (a folder or alembic.ini).

    ``path`` names the config file explicitly. Without any file, the defaults apply.
    """
    base = Path(start) if start is not None else Path.cwd()
    root = base.parent if base.suffix == ".ini" or base.is_file() else base
    root = root.resolve()
    file = Path(path) if path is not None else find_config_file(root)
    if file is None:
        return SluiceConfig(root=root)
    cfg = config_kept.lookup(file, _parse_file)
    cfg.root = root
    return cfg


def _parse_file(file: Path, raw: bytes) -> tuple[SluiceConfig, bool]:
    """The configuration in ``file`` (its bytes: ``raw``) and whether the file nests it
    under ``[tool.sluice]``."""
    parsed = read_toml(file, raw)
    data = parsed if file.name != "pyproject.toml" else parsed.get("tool", {}).get("sluice", {})
    if file.name == "sluice.toml" and "tool" in data and "sluice" in data["tool"]:
        data = data["tool"]["sluice"]
    try:
        cfg = parse_config(data, source=str(file), nested=data is not parsed)
    except ConfigError as exc:
        raise located(exc, file, nested=data is not parsed) from None
    return cfg, data is not parsed


def with_server(config: SluiceConfig, dialect: str | None, *, mariadb: bool = False,
                version: tuple[Any, ...] | None = None) -> SluiceConfig:
    """``config`` judging for the MySQL/MariaDB server Sluice is connected to
    (``version``: SQLAlchemy's ``server_version_info``) when ``lint.target_mysql_version``
    is unset; as it is otherwise."""
    if config.lint.target_mysql_version is not None or dialect not in ("mysql", "mariadb"):
        return config
    numbers = [n for n in version or () if isinstance(n, int)][:2]
    if len(numbers) < 2:
        return config
    flavour = "mariadb-" if mariadb or dialect == "mariadb" else ""
    lint = dataclasses.replace(config.lint,
                               target_mysql_version=f"{flavour}{numbers[0]}.{numbers[1]}")
    return dataclasses.replace(config, lint=lint)


def config_fields(cls: Any = SluiceConfig) -> list[tuple[str, str, str, str]]:
    """(name, type, default, doc) for every public field of a config dataclass."""
    hints = type_hints(cls)
    rows = []
    for f in dataclasses.fields(cls):
        if f.metadata.get("internal"):
            continue
        if f.default is not dataclasses.MISSING:
            default: Any = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:  # pragma: no cover
            default = None
        if dataclasses.is_dataclass(default):
            shown = "see section"
        elif isinstance(default, dict) and default and all(
            dataclasses.is_dataclass(v) for v in default.values()
        ):
            shown = ", ".join(default)
        else:
            shown = repr(default)
        rows.append((f.name, type_name(hints[f.name]), shown, f.metadata.get("doc", "")))
    return rows
