from __future__ import annotations

import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from sluice.cli import main
from sluice.scaffold import wire_env_source

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
    result = CliRunner().invoke(main, ["init", str(tmp_path / "proj"), "--url", "sqlite:///x.db"])
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
    runner = CliRunner()
    assert runner.invoke(main, ["init", str(tmp_path)]).exit_code == 0
    env_py = tmp_path / "migrations" / "env.py"
    env_py.write_text(ALEMBIC_DEFAULT_ENV)
    first = runner.invoke(main, ["init", str(tmp_path)])
    assert first.exit_code == 0, first.output
    assert "wired to Sluice (original kept as env.py.bak)" in first.output
    assert "+from sluice import configure_options" in first.output  # the diff is shown
    assert (tmp_path / "migrations" / "env.py.bak").read_text() == ALEMBIC_DEFAULT_ENV
    after_first = env_py.read_text()
    second = runner.invoke(main, ["init", str(tmp_path)])
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
    result = CliRunner().invoke(main, ["init", str(tmp_path)])
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
    result = CliRunner().invoke(main, ["init", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "wired to Sluice" in result.output
    assert "**configure_options(" in (tmp_path / "migrations" / "env.py").read_text()
