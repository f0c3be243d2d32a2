"""A project whose alembic.ini has two Alembic environments (sections ``[alembic]`` and
``[reporting]``: two script locations, two SQLite databases, two model metadatas), kept in
a folder of its own (``conf/``) beside the working folder (``work/``), with an env.py that
refuses to run without ``-x tenant=acme``: a command that leaves out ``-c``, ``-n`` or
``-x`` acts on another project, section or database, or fails.

``run_printed`` runs a command a message printed, exactly as printed (``shlex.split`` of
the backticked text): ``sluice`` in this process, ``alembic`` as a real process.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path

from tests.support.cli import BIN, Result, run_cli, run_process
from tests.support.modules import forget_modules

__all__ = ["SECTIONS", "SectionsProject", "printed_commands", "run_printed",
           "sections_project"]

#: The two sections: each has its own script location and database.
SECTIONS = ("alembic", "reporting")

#: The ``-x`` every command of this project needs (env.py refuses to run without it).
TENANT = "tenant=acme"

_INI = """\
[alembic]
script_location = %(here)s/main
prepend_sys_path = %(here)s
path_separator = os
sqlalchemy.url = sqlite:///%(here)s/main.db

[reporting]
script_location = %(here)s/reporting
prepend_sys_path = %(here)s
path_separator = os
sqlalchemy.url = sqlite:///%(here)s/reporting.db

[loggers]
keys = root

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARNING
handlers = console

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(levelname)-5.5s [%(name)s] %(message)s
"""

_ENV_PY = """\
from alembic import context
from sqlalchemy import engine_from_config, pool

import sectionmodels
from sluice import configure_options

config = context.config
tenant = context.get_x_argument(as_dictionary=True).get("tenant")
if tenant != "acme":
    raise RuntimeError(f"env.py needs -x tenant=acme, got {tenant!r}")
target_metadata = sectionmodels.METADATA[config.config_ini_section]


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"),
                      target_metadata=target_metadata, literal_binds=True,
                      **configure_options(config))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = engine_from_config(config.get_section(config.config_ini_section, {}),
                                     prefix="sqlalchemy.", poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          **configure_options(config))
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
"""

_MAKO = '''\
"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
"""
from alembic import op
import sqlalchemy as sa
${imports if imports else ""}

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
'''

#: One table per section, in the models and in each section's first revision.
_TABLE = {"alembic": "orders", "reporting": "daily_sales"}

_MODELS = """\
import sqlalchemy as sa

METADATA = {}
for section, table in (("alembic", "orders"), ("reporting", "daily_sales")):
    METADATA[section] = sa.MetaData()
    sa.Table(table, METADATA[section], sa.Column("id", sa.Integer(), primary_key=True))
"""

_SLUICE_TOML = """\
default_environment = "dev"
production_environments = []

[environments.dev]
[environments.test]
"""


@dataclass
class SectionsProject:
    """The project: ``ini`` (``conf/alembic.ini``), ``work`` (the working folder, where
    commands run) and ``ini_arg`` (``-c`` as typed from ``work``: ``../conf/alembic.ini``)."""

    ini: Path
    work: Path

    @property
    def conf(self) -> Path:
        return self.ini.parent

    @property
    def ini_arg(self) -> str:
        return "../conf/alembic.ini"

    def options(self, section: str = "reporting") -> list[str]:
        """``-c``, ``-n``, ``-x`` and ``--env`` as a command of this project takes them."""
        return ["-c", self.ini_arg, "-n", section, "-x", TENANT, "--env", "test"]

    def versions(self, section: str = "reporting") -> Path:
        return self.conf / ("main" if section == "alembic" else section) / "versions"

    def database(self, section: str = "reporting") -> Path:
        return self.conf / ("main.db" if section == "alembic" else f"{section}.db")

    def revision(self, rev: str, down: str | None, upgrade: str, downgrade: str = "pass",
                 section: str = "reporting") -> Path:
        """Write revision ``rev`` on top of ``down`` in ``section``'s versions folder."""
        up = textwrap.indent(upgrade.strip(), "    ")
        dn = textwrap.indent(downgrade.strip(), "    ")
        path = self.versions(section) / f"{rev}.py"
        path.write_text(
            f'"""{rev}\n\nRevision ID: {rev}\nRevises: {down or ""}\n"""\n'
            "import sqlalchemy as sa\nfrom alembic import op\n\n"
            f"revision = {rev!r}\ndown_revision = {down!r}\n"
            "branch_labels = None\ndepends_on = None\n\n\n"
            f"def upgrade() -> None:\n{up}\n\n\ndef downgrade() -> None:\n{dn}\n",
            encoding="utf-8")
        return path

    def sluice(self, *args: str) -> Result:
        """``sluice ARGS`` from the working folder, in this process."""
        forget_modules(self.conf)
        return run_cli(list(args), cwd=self.work)

    def alembic(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``alembic ARGS`` from the working folder, as a real process."""
        return run_process([BIN / "alembic", *args], cwd=self.work)


def sections_project(root: Path) -> SectionsProject:
    """Write the project under ``root``: ``conf/`` (alembic.ini, both script locations,
    the models, sluice.toml) and an empty ``work/``. Each section starts with one revision
    creating its table (``m1`` in ``[alembic]``, ``r1`` in ``[reporting]``)."""
    conf, work = root / "conf", root / "work"
    work.mkdir(parents=True)
    conf.mkdir(parents=True)
    (conf / "alembic.ini").write_text(_INI, encoding="utf-8")
    (conf / "sectionmodels.py").write_text(_MODELS, encoding="utf-8")
    (conf / "sluice.toml").write_text(_SLUICE_TOML, encoding="utf-8")
    project = SectionsProject(ini=conf / "alembic.ini", work=work)
    for section, first in (("alembic", "m1"), ("reporting", "r1")):
        location = project.versions(section).parent
        project.versions(section).mkdir(parents=True)
        (location / "env.py").write_text(_ENV_PY, encoding="utf-8")
        (location / "script.py.mako").write_text(_MAKO, encoding="utf-8")
        table = _TABLE[section]
        project.revision(first, None,
                         f'op.create_table("{table}", sa.Column("id", sa.Integer(), '
                         'primary_key=True))',
                         f'op.drop_table("{table}")', section=section)
    return project


def printed_commands(text: str, program: str) -> list[list[str]]:
    """The commands in backticks in ``text`` that start with ``program``, as argv
    (``shlex.split`` of the backticked text, exactly as printed)."""
    return [shlex.split(code) for code in re.findall(r"`([^`\n]+)`", text)
            if code.startswith(f"{program} ")]


def run_printed(project: SectionsProject, argv: list[str]) -> Result | subprocess.CompletedProcess[str]:
    """Run a printed command from the working folder: ``sluice`` in this process,
    ``alembic`` as a real process."""
    if argv[0] == "sluice":
        return project.sluice(*argv[1:])
    assert argv[0] == "alembic", argv
    return project.alembic(*argv[1:])
