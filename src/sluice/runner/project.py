"""One runner invocation's view of the project: config, environment, URL, Alembic Config."""

from __future__ import annotations

import ast
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.script import ScriptDirectory

from sluice.config import SluiceConfig, load_config
from sluice.core.project import (
    alembic_config,
    display_path,
    one_line,
    refuse_multidb,
    require_history,
    script_directory,
)
from sluice.core.suggest import Invocation, invocation
from sluice.environments import environment_of, resolve_environment
from sluice.errors import SluiceError
from sluice.runner.database import resolve_url
from sluice.runner.policy import EnvPolicy, resolve_policy
from sluice.runner.timeouts import Timeouts

#: ``Config.attributes`` key through which env.py's ``configure_options`` finds the run.
SESSION_ATTR = "sluice_run"
#: ``Config.attributes`` key of the run's Sluice configuration (as read from the project's
#: files, before any environment's overrides), so env.py's ``configure_options`` does not
#: read and parse the same files again for every command the run sends through env.py.
CONFIG_ATTR = "sluice_config"


@dataclass
class RunnerProject:
    ini: Path
    config: SluiceConfig
    environment: str
    policy: EnvPolicy
    url: str
    #: ``-x`` arguments passed to Alembic, ``env=NAME`` included.
    x_args: list[str]
    script: ScriptDirectory
    #: Migration steps computed for (direction, target, heads), reused by the run.
    steps: dict[Any, list[Any]] = field(default_factory=dict)
    #: The configuration as read (no environment applied), handed to env.py.
    base_config: SluiceConfig | None = None
    #: SHA-256 of revision files already read for this run (by path), for the audit rows.
    checksums: dict[str, str] = field(default_factory=dict)
    #: Why no URL was resolved (``url`` is then empty): env.py may still set its own, as
    #: it may for ``alembic upgrade``; the probe raises this when it does not.
    url_missing: SluiceError | None = None
    #: The alembic.ini section run (``-n``, as ``alembic -n``): its script and version
    #: locations, URL and (through env.py) version table.
    ini_section: str = "alembic"
    #: The options the command was given, repeated in every command a message suggests.
    given: Invocation = field(default_factory=Invocation)
    _stdout: io.StringIO = field(default_factory=io.StringIO)

    @property
    def env_timeouts(self) -> Timeouts:
        return Timeouts(self.policy.lock_timeout_ms, self.policy.statement_timeout_ms)

    def alembic_cfg(self, session: Any = None, *, output_buffer: Any = None) -> Config:
        """A fresh Alembic Config for one command, carrying ``session`` for env.py."""
        cfg = alembic_config(self.ini, url=self.url or None, x_args=self.x_args,
                             stdout=self._stdout, ini_section=self.ini_section)
        if output_buffer is not None:
            cfg.output_buffer = output_buffer
        if session is not None:
            cfg.attributes[SESSION_ATTR] = session
            if self.base_config is not None:
                cfg.attributes[CONFIG_ATTR] = self.base_config
        return cfg

    def script_paths(self) -> dict[str, str]:
        return {sc.revision: sc.path for sc in self.script.walk_revisions() if sc.path}


def open_project(
    ini: str | Path,
    *,
    env: str | None = None,
    url: str | None = None,
    x_args: Sequence[str] = (),
    deploys: bool = True,
    ini_section: str = "alembic",
) -> RunnerProject:
    """Resolve environment, policy and URL; ``-x env=NAME`` is added for env.py.
    ``ini_section``: the section of alembic.ini to run (``alembic -n``); one that does not
    exist is a one-line error.

    ``deploys`` (plan, upgrade, downgrade): the revision graph must be sound and hold at
    least one revision (:func:`~sluice.core.project.require_history`); reading the audit
    table does not need either."""
    ini = Path(ini)
    x_list = list(x_args)
    # as Alembic reads them: ``-x env`` alone is ``env=""``
    x_dict = {k: v for k, _, v in (a.partition("=") for a in x_list)}
    base_cfg = alembic_config(ini, x_args=x_list, stdout=io.StringIO(), ini_section=ini_section)
    config = load_config(ini)
    env = environment_of(config, env, x_list) or resolve_environment(config, x_dict)
    x_list = [a for a in x_list if a.partition("=")[0] != "env"] + [f"env={env}"]
    policy = resolve_policy(config, env)
    refuse_multidb(base_cfg, ini, "sluice upgrade/downgrade/plan/history")
    try:
        ini_url = base_cfg.get_main_option("sqlalchemy.url")
    except Exception as exc:
        raise SluiceError(f"{ini}: cannot read sqlalchemy.url: {one_line(exc)}") from None
    missing: SluiceError | None = None
    try:
        resolved = resolve_url(
            cli_url=url, env_url=policy.url, ini_url=ini_url,
            env_key=config.where(f"environments.{env}.url"),
        )
    except SluiceError as exc:
        if url or policy.url:  # a URL given but unusable (an unset ${VAR}): said now
            raise
        resolved, missing = "", exc  # env.py may set its own (see RunnerProject.url_missing)
    script = script_directory(base_cfg)
    if deploys:
        require_history(base_cfg, script)
    env_url = config.key_path(f"environments.{env}.url")
    given = invocation(ini, environment=env, url=url, x_args=x_args, ini_section=ini_section,
                       via="the URL given with --url" if url else
                       f"the URL of environment {env} ({env_url})" if policy.url else "")
    return RunnerProject(ini=ini, config=config.for_environment(env), environment=env,
                         policy=policy, url=resolved, x_args=x_list, script=script,
                         base_config=config, url_missing=missing, ini_section=ini_section,
                         given=given)


def env_py_calls_configure_options(project: RunnerProject) -> bool:
    """Whether env.py passes ``configure_options()`` to ``context.configure`` (read, not run)."""
    path = Path(project.script.dir) / "env.py"
    try:
        tree = ast.parse(path.read_bytes())  # its own declared encoding (PEP 263)
    except SyntaxError as exc:  # Alembic cannot run it either: say where, not "not wired"
        raise SluiceError(f"{display_path(path, Path.cwd())}:{exc.lineno or 0}: env.py does "
                          f"not parse: {exc.msg}; nothing was run") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SluiceError(f"{display_path(path, Path.cwd())}: cannot read env.py: "
                          f"{getattr(exc, 'strerror', None) or exc}") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            fn = node.func
            name = fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) else ""
            if name == "configure_options":
                return True
    return False
