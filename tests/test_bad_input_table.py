"""The "Bad input" table of docs/production.md is true: every row's case, run as the
command the row shows, exits with the row's code and prints the row's message."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.modules import forget_modules
from tests.support.paths import EXAMPLE

DOC = Path(__file__).resolve().parents[1] / "docs" / "production.md"
VERSIONS = Path("migrations") / "versions"
REVISION = '''"""{rev}"""
revision = "{rev}"
down_revision = {down!r}


def upgrade():
    pass


def downgrade():
    pass
'''


def _revision(root: Path, name: str, rev: str, down: str | None) -> None:
    (root / VERSIONS / name).write_text(REVISION.format(rev=rev, down=down))


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def _missing_folder(root: Path) -> None:
    (root / VERSIONS).rename(root / "migrations" / "old_versions")


def _folder_is_a_file(root: Path) -> None:
    ini = root / "alembic.ini"
    ini.write_text(ini.read_text().replace(
        "[alembic]\n", "[alembic]\nversion_locations = %(here)s/migrations/gone\n", 1))
    (root / "migrations" / "gone").write_text("a file\n")


def _syntax_error(root: Path) -> None:
    (root / VERSIONS / "0003_broken.py").write_text(
        REVISION.format(rev="0003", down="0002").replace("def upgrade():", "def upgrade(:"))


def _import_error(root: Path) -> None:
    (root / VERSIONS / "0003_imports.py").write_text(
        REVISION.format(rev="0003", down="0002").replace(
            'revision = "0003"', 'import sluice_helpers_not_installed  # noqa: F401\n'
            'revision = "0003"'))


def _env_syntax_error(root: Path) -> None:
    env = root / "migrations" / "env.py"
    env.write_text(env.read_text().replace("from alembic import context\n",
                                           "from alembic import context(\n", 1))


def _env_import_error(root: Path) -> None:
    env = root / "migrations" / "env.py"
    env.write_text(env.read_text().replace(
        "from alembic import context\n",
        "from alembic import context\nimport sluice_env_helper_not_installed  # noqa: F401\n",
        1))


def _ahead(root: Path) -> None:
    """The database at 0003, whose file is then removed (as a newer deploy leaves it)."""
    _revision(root, "0003_newer.py", "0003", "0002")
    old = Path.cwd()
    os.chdir(root)
    try:
        assert run_cli(["upgrade", "-y"]).exit_code == 0
    finally:
        os.chdir(old)
    (root / VERSIONS / "0003_newer.py").unlink()
    forget_modules(root)


def _duplicate(root: Path) -> None:
    _revision(root, "0003_a.py", "0003", "0002")
    _revision(root, "0004_b.py", "0003", "0002")


def _missing_parent(root: Path) -> None:
    _revision(root, "0003_a.py", "0003", "0abc")


def _cycle(root: Path) -> None:
    _revision(root, "0003_a.py", "0003", "0004")
    _revision(root, "0004_b.py", "0004", "0003")


def _empty_folder(root: Path) -> None:
    for path in (root / VERSIONS).glob("*.py"):
        path.unlink()


def _sum_symlink(root: Path) -> None:
    (root / "sluice.sum").unlink(missing_ok=True)
    (root.parent / "victim.txt").write_text("precious\n")
    (root / "sluice.sum").symlink_to("../victim.txt")


def _sum_file(value: str) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        _append(root / "sluice.toml", f'\n[check]\nsum_file = "{value}"\n')
    return setup


def _password_in_backup(root: Path) -> None:
    toml = root / "sluice.toml"
    toml.write_text(toml.read_text().replace(
        "[environments.prod]\n",
        '[environments.prod]\nbackup_command = "pg_dump --password={password} {url}"\n', 1))


def _not_utf8(root: Path) -> None:
    (root / VERSIONS / "0003_cafe.py").write_bytes(
        REVISION.format(rev="0003", down="0002").encode() + b"# caf\xe9\n")


def _nothing(root: Path) -> None:
    pass


#: the first column of the table -> how to make that case in a copy of examples/shop
CASES: dict[str, Callable[[Path], None]] = {
    "versions folder missing": _missing_folder,
    "`version_locations` names a file": _folder_is_a_file,
    "revision that is not valid Python": _syntax_error,
    "revision whose import fails": _import_error,
    "env.py that is not valid Python": _env_syntax_error,
    "env.py whose import fails": _env_import_error,
    "the database is at a revision no file declares": _ahead,
    "two revisions with one id": _duplicate,
    "`down_revision` names no revision": _missing_parent,
    "revision cycle": _cycle,
    "two revisions with one id, on deploy": _duplicate,
    "versions folder empty": _empty_folder,
    "`sluice.sum` is a symlink": _sum_symlink,
    "`sum_file` is an absolute path": _sum_file("/tmp/sluice.sum"),
    "`sum_file` leads out of the project": _sum_file("../sluice.sum"),
    "`sum_file` leads out of the project, on check": _sum_file("../sluice.sum"),
    "`--url` with the `postgres://` SQLAlchemy dropped": _nothing,
    "`--url` that is no URL": _nothing,
    "`backup_command` contains `{password}`": _password_in_backup,
    "revision with a byte that is not UTF-8": _not_utf8,
    "report cannot be written after a successful upgrade": _nothing,
    "`-x env=` (an unset variable)": _nothing,
    "`-x env=` names no environment": _nothing,
    "`--env` names an environment misspelt": _nothing,
    "`-x env` given twice with different names": _nothing,
    "`-x` key that means `env` but is spelt otherwise": _nothing,
}


def _cell(text: str) -> str:
    text = text.strip().replace("\\|", "|")
    if text.startswith("`` ") and text.endswith(" ``"):
        return text[3:-3]
    if text.startswith("`") and text.endswith("`"):
        return text[1:-1]
    return text


def table() -> list[tuple[str, str, int, str]]:
    """(case, command, exit code, message) of every row of the Bad input table."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("\n## Bad input\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if not line.startswith("| ") or line.startswith(("| case ", "|---")):
            continue
        cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
        case, command, code, message = (c.strip() for c in cells)
        rows.append((case, _cell(command), int(code), _cell(message)))
    return rows


def test_every_case_has_a_row_and_every_row_a_case() -> None:
    assert [row[0] for row in table()] == list(CASES)


@pytest.mark.parametrize("case, command, code, message", table(), ids=[r[0] for r in table()])
def test_row(tmp_path: Path, case: str, command: str, code: int, message: str) -> None:
    import shutil

    root = tmp_path / "shop"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("*.db", "__pycache__"))
    CASES[case](root)
    argv = shlex.split(command)
    assert argv[0] == "sluice"
    if ">" in argv:  # a redirection: the real command in a real process
        target = argv[argv.index(">") + 1]
        if not os.path.exists(target):
            pytest.skip(f"{target} does not exist here")
        exe = Path(sys.executable).parent / "sluice"
        with open(target, "w") as out:
            proc = subprocess.run([str(exe), *argv[1:argv.index(">")]], cwd=root,
                                  stdout=out, stderr=subprocess.PIPE, text=True)
        exit_code, stderr = proc.returncode, proc.stderr
    else:
        forget_modules(root)
        old = Path.cwd()
        os.chdir(root)
        try:
            result = run_cli(argv[1:])
        finally:
            os.chdir(old)
        exit_code, stderr = result.exit_code, result.stderr
    assert (exit_code, message) == (code, message if message in stderr.splitlines()
                                    else stderr), stderr
