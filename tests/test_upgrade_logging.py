"""What a project with Alembic's standard logging (``fileConfig`` in env.py, the
``alembic`` logger at INFO, as ``alembic init`` and ``sluice init`` write them) shows under
``sluice upgrade``/``downgrade``/``plan``: Alembic's own lines once, as plain ``alembic``
shows them, and no second progress line per revision from Sluice."""

from __future__ import annotations

from pathlib import Path

import alembic

from tests.support.cli import BIN, SLUICE, run_process
from tests.support.runner import ALEMBIC_INI, ENV_PY, chain, make_project

#: The logging sections of Alembic's ``generic`` template, as ``alembic init`` writes them.
LOGGING = "[loggers]" + (Path(alembic.__file__).parent / "templates" / "generic"
                         / "alembic.ini.mako").read_text(encoding="utf-8").split("[loggers]", 1)[1]

FILE_CONFIG = """\
from logging.config import fileConfig

from alembic import context
"""


def logged_project(root: Path, revisions: int = 3) -> Path:
    ini = make_project(root, chain(revisions),
                       env_py=ENV_PY.replace("from alembic import context\n", FILE_CONFIG, 1)
                       .replace("config = context.config\n",
                                "config = context.config\n"
                                "if config.config_file_name is not None:\n"
                                "    fileConfig(config.config_file_name)\n", 1))
    ini.write_text(ALEMBIC_INI.split("[loggers]")[0] + LOGGING, encoding="utf-8")
    return ini


def alembic_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("INFO  [alembic")]


def progress_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if " done in " in line]


def test_upgrade_shows_alembics_lines_once_and_no_second_progress_line(tmp_path: Path) -> None:
    sluice_ini = logged_project(tmp_path / "s")
    alembic_ini = logged_project(tmp_path / "a")
    plain = run_process([BIN / "alembic", "-c", alembic_ini, "upgrade", "head"], check=True)
    done = run_process([SLUICE, "upgrade", "-c", sluice_ini], check=True)
    expected = alembic_lines(plain.stderr)
    assert sum("Running upgrade" in line for line in expected) == 3, plain.stderr
    # the probe's own run of env.py and its reading of the version table stay quiet
    assert alembic_lines(done.stderr) == expected, done.stderr
    assert progress_lines(done.stderr) == [], done.stderr
    assert "applied 3 revisions" in done.stdout

    down_plain = run_process([BIN / "alembic", "-c", alembic_ini, "downgrade", "base"],
                             check=True)
    down = run_process([SLUICE, "downgrade", "base", "-c", sluice_ini], check=True)
    assert alembic_lines(down.stderr) == alembic_lines(down_plain.stderr), down.stderr
    assert progress_lines(down.stderr) == [], down.stderr


def test_plan_runs_env_py_without_alembics_lines(tmp_path: Path) -> None:
    ini = logged_project(tmp_path / "p")
    done = run_process([SLUICE, "plan", "-c", ini], check=True)
    assert alembic_lines(done.stderr) == [], done.stderr
    assert "r0001" in done.stdout


def test_progress_lines_stay_where_alembic_logs_elsewhere(tmp_path: Path) -> None:
    """Alembic's INFO lines going to a file, not to this stderr: Sluice's progress line is
    the only one the terminal gets, so it stays."""
    ini = logged_project(tmp_path / "f")
    log = tmp_path / "alembic.log"
    ini.write_text(ini.read_text().replace(
        "class = StreamHandler\nargs = (sys.stderr,)",
        f"class = FileHandler\nargs = ({str(log)!r},)"),
                   encoding="utf-8")
    done = run_process([SLUICE, "upgrade", "-c", ini], check=True)
    assert [line.split()[1] for line in progress_lines(done.stderr)] == [
        "r0001", "r0002", "r0003"], done.stderr
    logged = log.read_text()
    assert logged.count("Running upgrade") == 3, logged
    assert logged.count("Context impl") == 1, logged
