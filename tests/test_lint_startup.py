"""What `sluice lint` imports: a revision the static layer reads alone needs neither Alembic
nor SQLAlchemy (each case runs in a fresh interpreter and looks at ``sys.modules``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.lint import RUN, project


def lint_modules(tmp_path: Path, *argv: str) -> tuple[object, set[str]]:
    report = tmp_path / "modules.json"
    subprocess.run([sys.executable, "-c", RUN, str(report), "lint", *argv], cwd=tmp_path,
                   capture_output=True, check=True)
    data = json.loads(report.read_text())
    # Alembic's alembic/util/exc.py alone is how SluiceError is a CommandError
    modules = set(data["modules"]) - {"alembic.util.exc"}
    return data["exit"], {m.split(".")[0] for m in modules}


def test_a_static_only_lint_imports_neither_alembic_nor_sqlalchemy(tmp_path: Path) -> None:
    ini = project(tmp_path / "p")
    code, packages = lint_modules(tmp_path, "-c", str(ini), "--no-cache")
    assert code in (0, 1)
    assert not packages & {"alembic", "sqlalchemy", "rich"}


def test_a_warm_lint_imports_neither_alembic_nor_sqlalchemy_nor_sqlglot(tmp_path: Path) -> None:
    ini = project(tmp_path / "p")
    lint_modules(tmp_path, "-c", str(ini))  # fills the cache
    code, packages = lint_modules(tmp_path, "-c", str(ini))
    assert code in (0, 1)
    assert not packages & {"alembic", "sqlalchemy", "sqlglot", "rich"}


def test_a_revision_that_needs_rendering_still_renders(tmp_path: Path) -> None:
    ini = project(tmp_path / "p", revisions=1)
    path = tmp_path / "p" / "migrations" / "versions" / "a000.py"
    path.write_text(path.read_text().replace(
        "    op.execute(", "    if op.get_bind().dialect.name == \"postgresql\":\n        op.execute("))
    done = subprocess.run([sys.executable, "-m", "sluice", "lint", "-c", str(ini), "--no-cache"],
                          cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode in (0, 1), done.stderr
    assert "1 rendered offline" in done.stdout


CHECK_ERRORS = """
import json, sys
first = sys.argv[1]
if first == "sluice":
    from sluice.errors import PolicyViolation, SluiceError
    alone = "alembic" not in sys.modules and "sqlalchemy" not in sys.modules
    import alembic.util, alembic.util.exc
    from alembic.config import CommandLine
else:
    import alembic.util, alembic.util.exc
    from alembic.config import CommandLine
    from sluice.errors import PolicyViolation, SluiceError
    alone = None
caught = False
try:
    raise PolicyViolation("refused")
except alembic.util.CommandError:
    caught = True
print(json.dumps({"alone": alone, "caught": caught,
                  "subclass": issubclass(SluiceError, alembic.util.CommandError),
                  "one_class": alembic.util.exc.CommandError is alembic.util.CommandError}))
"""


def test_sluice_errors_are_alembic_command_errors_whichever_is_imported_first(
        tmp_path: Path) -> None:
    """A plain ``alembic`` command prints a Sluice error raised in env.py as one line
    (it catches CommandError), also when sluice.errors was imported before Alembic."""
    for first in ("sluice", "alembic"):
        done = subprocess.run([sys.executable, "-c", CHECK_ERRORS, first], cwd=tmp_path,
                              capture_output=True, text=True, check=True)
        found = json.loads(done.stdout)
        assert found["caught"] and found["subclass"] and found["one_class"], (first, found)
        if first == "sluice":
            assert found["alone"] is True


def test_the_operations_known_without_alembic_are_alembic_s_own() -> None:
    """needs.py knows Alembic's operations without importing it: exactly the installed
    Alembic's (one it lacks would hide a custom operation; one it misses would render
    revisions that need no rendering)."""
    from sluice.lint.needs import _ALEMBIC_OPERATIONS, alembic_operations, is_alembic_operation

    assert _ALEMBIC_OPERATIONS == alembic_operations()
    assert all(is_alembic_operation(k) for k in alembic_operations())
    assert not is_alembic_operation("sync_enum_values")


def test_a_custom_operation_is_told_without_importing_alembic() -> None:
    code = ("import sys\n"
            "from sluice.lint.needs import is_alembic_operation\n"
            "assert not is_alembic_operation('sync_enum_values')\n"
            "assert is_alembic_operation('add_column')\n"
            "print('alembic' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"


def test_sql_no_rule_reads_into_is_not_parsed(tmp_path: Path) -> None:
    # SL503 looks for writes to version and Sluice tables: an INSERT whose text names none
    # of them is not summarised (reading a statement's table parses it with sqlglot)
    ini = project(tmp_path / "p", revisions=1)
    path = tmp_path / "p" / "migrations" / "versions" / "a000.py"
    path.write_text(path.read_text().replace(
        "    op.execute(", "    op.execute(\"INSERT INTO flags (id, on_) VALUES ('a', lower('X'))\")\n"
                          "    op.execute(", 1))
    code, packages = lint_modules(tmp_path, "-c", str(ini), "--no-cache")
    assert code in (0, 1)
    assert "sqlglot" not in packages
