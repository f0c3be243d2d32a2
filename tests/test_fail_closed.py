"""Fail closed: a missing versions folder, files written only where the user said."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.modules import forget_modules

MISSING = ("sluice: error: alembic.ini: [alembic] script_location: migrations/versions (its "
           "versions folder) does not exist; Sluice stops instead of passing on zero revisions")


def sluice(project: Path, *args: str) -> tuple[int, str, str]:
    forget_modules(project)
    # Alembic reads relative version locations from the current folder
    result = run_cli([*args, "-c", "alembic.ini"], cwd=project)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("args", [["lint"], ["graph"], ["heads"], ["lock"],
                                  ["check", "--only", "graph"], ["check", "--only", "upgrade"],
                                  ["plan"], ["upgrade", "-y"]])
def test_missing_versions_folder_is_exit_2_naming_folder_and_key(shop: Path,
                                                                  args: list[str]) -> None:
    (shop / "sluice.sum").unlink(missing_ok=True)
    (shop / "migrations" / "versions").rename(shop / "migrations" / "old_versions")
    code, out, err = sluice(shop, *args)
    assert code == 2, out + err
    assert err.splitlines()[0] == MISSING
    assert not (shop / "sluice.sum").exists()


NESTED = ("sluice: error: alembic.ini: [alembic] script_location: migrations/versions holds no "
          "revision file, but its sub-folders postgresql/, sqlite/ do; Sluice stops instead "
          "of passing on zero revisions")


@pytest.mark.parametrize("nest", ["", "/2026/12"])
@pytest.mark.parametrize("args", [["lint"], ["lock"], ["check", "--only", "graph"],
                                  ["upgrade", "-y"]])
def test_revisions_only_in_sub_folders_is_exit_2_naming_them(shop: Path, args: list[str],
                                                              nest: str) -> None:
    """One folder of revisions per dialect, the one to use picked by env.py at run time
    (or a date-based file_template two folders deep): Alembic's default reading of the
    versions folder sees none, and so would every gate."""
    (shop / "sluice.sum").unlink(missing_ok=True)
    versions = shop / "migrations" / "versions"
    for dialect in ("postgresql", "sqlite"):
        (versions / (dialect + nest)).mkdir(parents=True)
        for path in versions.glob("*.py"):
            (versions / (dialect + nest) / path.name).write_bytes(path.read_bytes())
    for path in versions.glob("*.py"):
        path.unlink()
    code, out, err = sluice(shop, *args)
    assert code == 2, out + err
    assert err.splitlines()[0] == NESTED
    assert "recursive_version_locations = true" in err
    assert not (shop / "sluice.sum").exists()
    ini = shop / "alembic.ini"  # naming one of them is a project again
    ini.write_text(ini.read_text().replace(
        "[alembic]\n",
        f"[alembic]\nversion_locations = %(here)s/migrations/versions/sqlite{nest}\n", 1))
    code, out, err = sluice(shop, "lint")
    assert code in (0, 1) and "0 revisions" not in out, out + err


def test_a_helper_package_beside_no_revision_is_a_fresh_project(shop: Path) -> None:
    """A new project whose versions folder holds only the helpers its revisions will
    import: no revision anywhere, so zero revisions is the truth."""
    (shop / "sluice.sum").unlink(missing_ok=True)
    versions = shop / "migrations" / "versions"
    for path in versions.glob("*.py"):
        path.unlink()
    (versions / "helpers").mkdir()
    (versions / "helpers" / "__init__.py").write_text("")
    (versions / "helpers" / "util.py").write_text("def batch():\n    return 100\n")
    code, out, err = sluice(shop, "lint")
    assert code == 0 and "0 revisions" in out, out + err


def test_version_locations_key_is_named(shop: Path) -> None:
    ini = shop / "alembic.ini"
    ini.write_text(ini.read_text().replace(
        "[alembic]\n", "[alembic]\nversion_locations = %(here)s/migrations/gone\n", 1))
    (shop / "migrations" / "gone").write_text("a file, not a folder")
    code, _, err = sluice(shop, "lint")
    assert code == 2
    assert err.splitlines()[0] == (
        "sluice: error: alembic.ini: [alembic] version_locations: migrations/gone is not a "
        "folder; Sluice stops instead of passing on zero revisions")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any folder")
def test_unreadable_versions_folder(shop: Path) -> None:  # pragma: no cover - not as root
    versions = shop / "migrations" / "versions"
    versions.chmod(0)
    try:
        code, _, err = sluice(shop, "graph")
    finally:
        versions.chmod(0o755)
    assert code == 2 and "cannot be read (permission denied)" in err


def test_empty_versions_folder_is_a_fresh_project(shop: Path) -> None:
    versions = shop / "migrations" / "versions"
    for f in versions.glob("*.py"):
        f.unlink()
    code, out, _ = sluice(shop, "lint")
    assert code == 0 and "0 revisions" in out
    code, out, _ = sluice(shop, "graph")
    assert code == 0 and "0 revisions" in out
    code, out, _ = sluice(shop, "lock")
    assert code == 0
    assert (shop / "sluice.sum").read_text().endswith("\nheads: \n")


# --------------------------------------------------------------------------- sluice.sum


def test_lock_refuses_a_symlinked_sum_file(shop: Path) -> None:
    victim = shop.parent / "victim.txt"
    victim.write_text("precious\n")
    (shop / "sluice.sum").unlink(missing_ok=True)
    (shop / "sluice.sum").symlink_to(victim)
    code, _, err = sluice(shop, "lock")
    assert code == 2
    assert err.splitlines()[0] == (
        f"sluice: error: sluice.sum is a symlink to {victim} (check.sum_file); Sluice does "
        "not write through symlinks: remove the link or point the setting at a real file")
    assert victim.read_text() == "precious\n"
    assert (shop / "sluice.sum").is_symlink()


def test_lock_never_replaces_a_device_node(shop: Path) -> None:
    (shop / "sluice.sum").unlink(missing_ok=True)
    (shop / "sluice.sum").symlink_to("/dev/null")
    code, _, err = sluice(shop, "lock")
    assert code == 2 and "is a symlink to /dev/null" in err
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.parametrize("value, why", [
    ("/tmp/elsewhere.sum", "is an absolute path"),
    ("../outside.sum", "leads out of the project folder"),
])
def test_lock_refuses_a_sum_file_outside_the_project(shop: Path, value: str, why: str) -> None:
    (shop / "sluice.toml").write_text(
        (shop / "sluice.toml").read_text() + f'\n[check]\nsum_file = "{value}"\n')
    code, _, err = sluice(shop, "lock")
    assert code == 2, err
    assert err.startswith(f"sluice: error: check.sum_file = {value!r} {why}")
    assert not Path("/tmp/elsewhere.sum").exists() and not (shop.parent / "outside.sum").exists()


def test_lock_refuses_a_sum_file_in_a_symlinked_folder_outside(shop: Path) -> None:
    outside = shop.parent / "elsewhere"
    outside.mkdir()
    (shop / "locks").symlink_to(outside)
    (shop / "sluice.toml").write_text(
        (shop / "sluice.toml").read_text() + '\n[check]\nsum_file = "locks/sluice.sum"\n')
    code, _, err = sluice(shop, "lock")
    assert code == 2 and "leads out of the project folder" in err
    assert not list(outside.iterdir())


def test_lock_keeps_the_permissions_of_the_sum_file(shop: Path) -> None:
    sum_file = shop / "sluice.sum"
    sum_file.write_text("old\n")
    sum_file.chmod(0o640)
    code, _, _ = sluice(shop, "lock")
    assert code == 0
    assert stat.S_IMODE(sum_file.stat().st_mode) == 0o640
    assert sum_file.read_text().startswith("# sluice.sum")
    assert [p.name for p in shop.iterdir() if p.name.startswith(".sluice")] == []


# --------------------------------------------------------------------------- not UTF-8


@pytest.mark.parametrize("args", [["plan"], ["upgrade", "--env", "prod", "-y"]])
def test_non_utf8_byte_names_file_line_and_offset(shop: Path, args: list[str]) -> None:
    path = shop / "migrations" / "versions" / "0002_orders_and_demo_data.py"
    data = path.read_bytes() + b"# caf\xe9\n"
    path.write_bytes(data)
    code, _, err = sluice(shop, *args)
    assert code == 2
    offset = len(data) - 2  # the byte before the final newline
    line = data.count(b"\n", 0, offset) + 1
    assert err.splitlines() == [
        f"sluice: error: migrations/versions/0002_orders_and_demo_data.py:{line}: byte 0xe9 "
        f"at offset {offset} is not UTF-8; Python and Alembic read revision files as "
        "UTF-8: save the file as UTF-8"]
    for db in shop.glob("*.db"):  # nothing was migrated
        import sqlite3

        tables = sqlite3.connect(db).execute("select name from sqlite_master").fetchall()
        assert ("alembic_version",) not in tables


# --------------------------------------------------------------------------- report


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("fmt", ["json", "text"])
def test_report_that_cannot_be_written_does_not_fail_a_done_upgrade(shop: Path,
                                                                    fmt: str) -> None:
    import subprocess
    import sys

    exe = Path(sys.executable).parent / "sluice"
    with open("/dev/full", "w") as full:
        proc = subprocess.run([str(exe), "upgrade", "-y", "--format", fmt], cwd=shop,
                              stdout=full, stderr=subprocess.PIPE, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines()[-1] == (
        "sluice: the upgrade succeeded, but its report could not be written to stdout (No "
        "space left on device); `sluice history --env dev` shows what ran")
    assert "Traceback" not in proc.stderr
