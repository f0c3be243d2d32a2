from __future__ import annotations

import io
import os
import re
import subprocess
from pathlib import Path

import pytest

from sluice.scaffold import wire_env_source
from tests.support.cli import BIN, run_cli
from tests.support.forkserver import alembic_forks

ALEMBIC_DEFAULT_ENV = '''
from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
target_metadata = None


def include_object(object, name, type_, reflected, compare_to):
    return not name.startswith("tmp_")


def run_migrations_offline():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    connectable = engine_from_config(config.get_section(config.config_ini_section, {}),
                                     prefix="sqlalchemy.", poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata,
            include_object=include_object, compare_type=False,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
'''


def test_init_creates_a_wired_project(tmp_path: Path) -> None:
    result = run_cli(["init", str(tmp_path / "proj"), "--url", "sqlite:///x.db"])
    assert result.exit_code == 0, result.output
    env_py = (tmp_path / "proj" / "migrations" / "env.py").read_text()
    assert "from sluice import configure_options" in env_py
    assert env_py.count("**configure_options(config)") == 2
    assert "sluice_header" in (tmp_path / "proj" / "migrations" / "script.py.mako").read_text()
    assert (tmp_path / "proj" / "sluice.toml").is_file()
    assert "sqlalchemy.url = sqlite:///x.db" in (tmp_path / "proj" / "alembic.ini").read_text()
    compile(env_py, "env.py", "exec")


def test_wire_moves_user_callbacks_into_configure_options() -> None:
    out = wire_env_source(ALEMBIC_DEFAULT_ENV)
    compile(out, "env.py", "exec")
    assert "from sluice import configure_options\n" in out
    assert "**configure_options(config, include_object=include_object, compare_type=False)" in out
    assert "include_object=include_object,\n" not in out.split("configure_options(config, ")[0][-200:]
    assert out.count("**configure_options(") == 2


def test_init_patches_existing_project_idempotently(tmp_path: Path) -> None:
    assert run_cli(["init", str(tmp_path)]).exit_code == 0
    env_py = tmp_path / "migrations" / "env.py"
    env_py.write_text(ALEMBIC_DEFAULT_ENV)
    first = run_cli(["init", str(tmp_path)])
    assert first.exit_code == 0, first.output
    assert "wired to Sluice (original kept as env.py.bak)" in first.output
    assert "+from sluice import configure_options" in first.output  # the diff is shown
    assert (tmp_path / "migrations" / "env.py.bak").read_text() == ALEMBIC_DEFAULT_ENV
    after_first = env_py.read_text()
    second = run_cli(["init", str(tmp_path)])
    assert second.exit_code == 0
    assert "already wired" in second.output
    assert env_py.read_text() == after_first


@pytest.mark.parametrize(
    ("ini", "message"),
    [
        ("[alembic]\nscript_location = %(here)s/missing\n", "has no env.py"),
        ("[alembic]\n", "script_location is not set"),
    ],
)
def test_init_errors_are_one_line(tmp_path: Path, ini: str, message: str) -> None:
    (tmp_path / "alembic.ini").write_text(ini)
    result = run_cli(["init", str(tmp_path)])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def alembic_init(directory: Path, template: str) -> None:
    """``alembic init -t TEMPLATE migrations`` run in ``directory``."""
    from alembic import command
    from alembic.config import Config

    config = Config(str(directory / "alembic.ini"), toml_file=str(directory / "pyproject.toml"),
                    stdout=io.StringIO())
    command.init(config, str(directory / "migrations"), template=template)


def test_init_reads_script_location_from_pyproject(tmp_path: Path) -> None:
    from alembic.config import Config

    alembic_init(tmp_path, "pyproject")
    assert "script_location" not in Config(str(tmp_path / "alembic.ini")).file_config["alembic"]
    result = run_cli(["init", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "wired to Sluice" in result.output
    assert "**configure_options(" in (tmp_path / "migrations" / "env.py").read_text()


def alembic_templates() -> list[str]:
    """The templates the installed Alembic ships, as ``alembic list_templates`` prints them."""
    from alembic import command
    from alembic.config import Config

    out = io.StringIO()
    command.list_templates(Config(stdout=out))
    return sorted(m.group(1) for m in re.finditer(r"^(\w+) - ", out.getvalue(), re.M))


def run_alembic(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real ``alembic`` command line, run in ``project`` in a process of its own (none
    of this test process's state), forked from a server that has only imported Alembic
    (with the plugins it loads on import) and the drivers (``tests.support.forkserver``)."""
    environ = {k: v for k, v in os.environ.items() if k not in ("SLUICE_ENV", "ALEMBIC_ENV",
                                                                 "ALEMBIC_CONFIG")}
    return alembic_forks().run([str(BIN / "alembic"), *args], cwd=project, env=environ,
                               timeout=120)


def point_at_sqlite(project: Path, template: str) -> None:
    """Give the template's placeholder URLs SQLite files and its env.py an empty MetaData."""
    driver = "sqlite+aiosqlite" if "async" in template else "sqlite"
    ini = project / "alembic.ini"
    ini.write_text(re.sub(r"driver://user:pass@localhost/(\w+)", rf"{driver}:///\1.db",
                          ini.read_text()))
    env_py = project / "migrations" / "env.py"
    metadata = '__import__("sqlalchemy").MetaData()'
    env_py.write_text(env_py.read_text()
                      .replace("target_metadata = None", f"target_metadata = {metadata}")
                      .replace("target_metadata = {}",
                               f"target_metadata = {{n: {metadata} for n in ('engine1', 'engine2')}}"))


def assert_wired_and_working(project: Path) -> str:
    """Plain Alembic runs the wired env.py offline and online, and Sluice's policies are on:
    an autogenerate run that finds nothing is refused (``empty_revision = "error"``)."""
    for args in (("revision", "-m", "first"), ("upgrade", "head"), ("upgrade", "head", "--sql")):
        done = run_alembic(project, *args)
        assert done.returncode == 0, (args, done.stderr)
    empty = run_alembic(project, "revision", "--autogenerate", "-m", "nothing")
    assert empty.returncode != 0, empty.stderr
    assert "no schema changes detected; no revision written" in empty.stdout + empty.stderr
    assert len(list((project / "migrations" / "versions").glob("*.py"))) == 1
    return empty.stdout + empty.stderr


@pytest.mark.parametrize("template", alembic_templates())
def test_init_wires_every_alembic_template(tmp_path: Path, template: str) -> None:
    alembic_init(tmp_path, template)
    point_at_sqlite(tmp_path, template)
    result = run_cli(["init", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "wired to Sluice" in result.output
    assert_wired_and_working(tmp_path)


# env.py files as real projects write them (Flask-Migrate, hand-edited templates).
REAL_PROJECT_ENVS = {
    "no_config_name": '''
from alembic import context
from sqlalchemy import MetaData, engine_from_config, pool


def run_migrations_offline():
    context.configure(url=context.config.get_main_option("sqlalchemy.url"),
                      target_metadata=MetaData(), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    engine = engine_from_config(context.config.get_section(context.config.config_ini_section),
                                prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=MetaData())
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
''',
    "renamed_config_and_alias": '''
"""Migrations environment."""
from alembic import context as alembic_context
from sqlalchemy import MetaData, create_engine

alembic_cfg = alembic_context.config
URL = alembic_cfg.get_main_option("sqlalchemy.url")


def configure_and_run(**extra):
    def inner():
        alembic_context.configure(target_metadata=MetaData(), **extra)
        with alembic_context.begin_transaction():
            alembic_context.run_migrations()
    inner()


if alembic_context.is_offline_mode():
    configure_and_run(url=URL, literal_binds=True)
else:
    with create_engine(URL).connect() as connection:
        configure_and_run(connection=connection)
''',
    "kwargs_like_flask_migrate": '''
import sys

from alembic import context
from sqlalchemy import MetaData, create_engine

config = context.config


def process_revision_directives(context, revision, directives):
    print("user hook ran", file=sys.stderr)


conf_args = {"compare_type": True, "compare_server_default": True,
             "process_revision_directives": process_revision_directives}


def run_migrations_online():
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=MetaData(), **conf_args)
        with context.begin_transaction():
            context.run_migrations()


def run_migrations_offline():
    context.configure(url=config.get_main_option("sqlalchemy.url"),
                      target_metadata=MetaData(), literal_binds=True, **conf_args)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
''',
}


@pytest.mark.parametrize("name", sorted(REAL_PROJECT_ENVS))
def test_init_wires_env_py_of_real_projects(tmp_path: Path, name: str) -> None:
    alembic_init(tmp_path, "generic")
    point_at_sqlite(tmp_path, "generic")
    (tmp_path / "migrations" / "env.py").write_text(REAL_PROJECT_ENVS[name])
    result = run_cli(["init", str(tmp_path)])
    assert result.exit_code == 0, result.output
    output = assert_wired_and_working(tmp_path)
    assert ("user hook ran" in output) == ("process_revision_directives" in REAL_PROJECT_ENVS[name])
    again = run_cli(["init", str(tmp_path)])
    assert "already wired" in again.output


def test_init_removes_compare_server_default_true_and_says_so(tmp_path: Path) -> None:
    """``compare_server_default=True`` passed through configure_options replaced Sluice's
    comparison before Alembic 1.18 (spurious default changes on MariaDB)."""
    alembic_init(tmp_path, "generic")
    env_py = tmp_path / "migrations" / "env.py"
    text = env_py.read_text()
    assert text.count("target_metadata=target_metadata,\n") == 1
    env_py.write_text(text.replace(
        "connection=connection, target_metadata=target_metadata\n",
        "connection=connection, target_metadata=target_metadata,\n"
        "            compare_server_default=True, compare_type=True\n"))
    result = run_cli(["init", str(tmp_path)])
    assert result.exit_code == 0, result.output
    wired = env_py.read_text()
    assert "compare_server_default" not in wired
    assert "**configure_options(config, compare_type=True)" in wired
    assert "-            compare_server_default=True, compare_type=True" in result.output
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "connection=connection" in t) + 1
    assert (f"{env_py}:{line}: removed compare_server_default=True: Sluice compares server "
            "defaults itself") in result.output


@pytest.mark.parametrize("plugin", [True, False], ids=["alembic>=1.18", "alembic<1.18"])
def test_configure_options_keeps_its_default_comparison_over_true(
    monkeypatch: pytest.MonkeyPatch, plugin: bool
) -> None:
    """A ``compare_server_default=True`` left in ``**kwargs`` (init cannot see inside them)
    keeps Sluice's comparison; False and a callable of your own still win. Before Alembic
    1.18 (no plugin API) Sluice's comparison is the ``compare_server_default`` callback."""
    from alembic.config import Config

    import sluice.integrations.alembic_plugin
    from sluice import configure_options
    from sluice.config import SluiceConfig
    from sluice.policy.defaults import compare_server_default

    if not plugin:
        monkeypatch.setattr(sluice.integrations.alembic_plugin, "ensure_registered", lambda: False)
    elif not sluice.integrations.alembic_plugin.ensure_registered():
        pytest.skip("the installed Alembic has no autogenerate plugins (before 1.18)")

    def options(**kwargs: object) -> dict[str, object]:
        return configure_options(Config(), sluice_config=SluiceConfig(), environment="dev",
                                 **kwargs)

    default = options()["compare_server_default"]
    assert options(compare_server_default=True)["compare_server_default"] is default
    assert default is (True if plugin else compare_server_default)
    assert options(compare_server_default=False)["compare_server_default"] is False


@pytest.mark.parametrize(
    "env",
    [
        "from alembic import context\ncontext.run_migrations()\n",
        "from alembic import context\nconfigure = context.configure\nconfigure(url='sqlite://')\n",
        "from alembic import context\nargs = ()\ncontext.configure(*args)\n",
    ],
)
def test_init_refuses_env_py_it_cannot_wire_with_the_line_to_add(tmp_path: Path, env: str) -> None:
    alembic_init(tmp_path, "generic")
    (tmp_path / "migrations" / "env.py").write_text(env)
    result = run_cli(["init", str(tmp_path)])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert "from sluice import configure_options" in result.output
    assert "**configure_options(context.config)" in result.output
    assert (tmp_path / "migrations" / "env.py").read_text() == env


MODELS_WITH_DEFAULTS = '''
import sqlalchemy as sa

metadata = sa.MetaData()
sa.Table(
    "items", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("qty", sa.Integer, nullable=False, server_default="0"),
    sa.Column("price", sa.Numeric(10, 2), nullable=False, server_default="0"),
    sa.Column("state", sa.String(20), nullable=False, server_default="new"),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", sa.DateTime, server_default=sa.func.now()),
)
'''


def test_wired_project_with_server_defaults_has_no_spurious_changes(tmp_path: Path,
                                                                      db_url: str) -> None:
    """A project that asked for compare_server_default=True, wired by init, on each database:
    after upgrading, autogenerate finds nothing (Sluice's comparison, no dialect noise)."""
    alembic_init(tmp_path, "generic")
    ini = tmp_path / "alembic.ini"
    ini.write_text(ini.read_text().replace("driver://user:pass@localhost/dbname",
                                           db_url.replace("%", "%%")))
    (tmp_path / "models.py").write_text(MODELS_WITH_DEFAULTS)
    env_py = tmp_path / "migrations" / "env.py"
    env_py.write_text(env_py.read_text()
                      .replace("target_metadata = None",
                               "from models import metadata as target_metadata")
                      .replace("connection=connection, target_metadata=target_metadata\n",
                               "connection=connection, target_metadata=target_metadata,\n"
                               "            compare_server_default=True,\n"))
    result = run_cli(["init", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "removed compare_server_default=True" in result.output
    first = run_alembic(tmp_path, "revision", "--autogenerate", "-m", "items")
    assert first.returncode == 0, first.stderr
    done = run_alembic(tmp_path, "upgrade", "head")
    assert done.returncode == 0, done.stderr
    again = run_alembic(tmp_path, "revision", "--autogenerate", "-m", "nothing")
    assert again.returncode != 0
    assert "no schema changes detected" in again.stdout + again.stderr, again.stderr


def test_init_never_writes_its_backup_through_a_symlink(tmp_path: Path) -> None:
    assert run_cli(["init", str(tmp_path)]).exit_code == 0
    env_py = tmp_path / "migrations" / "env.py"
    env_py.write_text(ALEMBIC_DEFAULT_ENV)
    env_py.chmod(0o640)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    backup = tmp_path / "migrations" / "env.py.bak"
    backup.symlink_to(victim)
    result = run_cli(["init", str(tmp_path)])
    assert result.exit_code == 2
    assert f"{backup} is a symlink to {victim} (the backup of env.py)" in result.stderr
    assert victim.read_text() == "precious" and env_py.read_text() == ALEMBIC_DEFAULT_ENV
    backup.unlink()
    assert run_cli(["init", str(tmp_path)]).exit_code == 0
    assert backup.read_text() == ALEMBIC_DEFAULT_ENV
    assert (backup.stat().st_mode & 0o777) == (env_py.stat().st_mode & 0o777) == 0o640


def test_init_takes_the_alembic_ini_as_every_command_does(tmp_path: Path) -> None:
    # -c and ALEMBIC_CONFIG were ignored: from another folder, `sluice init` would have
    # created a new project there instead of wiring the one named
    project = tmp_path / "app"
    assert run_cli(["init", str(project)]).exit_code == 0
    env_py = project / "migrations" / "env.py"
    env_py.write_text(ALEMBIC_DEFAULT_ENV)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    by_env = run_cli(["init", "--dry-run"], cwd=elsewhere,
                     env={"ALEMBIC_CONFIG": str(project / "alembic.ini")})
    assert by_env.exit_code == 0, by_env.output
    assert "+from sluice import configure_options" in by_env.output
    assert not (elsewhere / "alembic.ini").exists() and env_py.read_text() == ALEMBIC_DEFAULT_ENV
    by_option = run_cli(["init", "-c", str(project / "alembic.ini")], cwd=elsewhere)
    assert by_option.exit_code == 0, by_option.output
    assert "configure_options" in env_py.read_text()
    missing = run_cli(["init", "-c", str(tmp_path / "nope.ini")], cwd=elsewhere)
    assert missing.exit_code == 2 and "nope.ini: no such file (-c/--config)" in missing.stderr
    both = run_cli(["init", str(project), "-c", str(project / "alembic.ini")], cwd=elsewhere)
    assert both.exit_code == 2 and "not both" in both.stderr
    # a DIRECTORY on the command line wins over the environment's ALEMBIC_CONFIG
    new = run_cli(["init", str(tmp_path / "new")], cwd=elsewhere,
                  env={"ALEMBIC_CONFIG": str(project / "alembic.ini")})
    assert new.exit_code == 0 and (tmp_path / "new" / "alembic.ini").is_file(), new.output


COMMENTED_CONFIGURE = ALEMBIC_DEFAULT_ENV.replace(
    "            include_object=include_object, compare_type=False,\n",
    "            include_object=include_object,  # ours, kept by Sluice\n"
    "            compare_type=False,\n", 1)


def test_comments_the_rewrite_leaves_out_are_said(tmp_path: Path) -> None:
    assert COMMENTED_CONFIGURE != ALEMBIC_DEFAULT_ENV
    assert run_cli(["init", str(tmp_path)]).exit_code == 0
    (tmp_path / "migrations" / "env.py").write_text(COMMENTED_CONFIGURE)
    done = run_cli(["init", str(tmp_path)])
    assert done.exit_code == 0, done.output
    assert "leaves out 1 comment(s) it held (# ours, kept by Sluice)" in done.output
    assert "env.py.bak keeps them" in done.output
