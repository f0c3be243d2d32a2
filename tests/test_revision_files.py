"""Listing revision files (sluice.core.history.revision_files) the way Alembic does:
real paths, each file once, symlinked folders not entered."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sluice.core.history import revision_files

pytestmark = pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")


def test_symlinks_are_listed_by_their_real_path_once(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    elsewhere = tmp_path / "elsewhere"
    versions.mkdir()
    elsewhere.mkdir()
    (versions / "a_first.py").write_text("revision = 'a'\n")
    (elsewhere / "b_shared.py").write_text("revision = 'b'\n")
    (versions / "b_link.py").symlink_to(elsewhere / "b_shared.py")
    (versions / "c_again.py").symlink_to(versions / "a_first.py")  # same file twice
    (versions / "d_dangling.py").symlink_to(tmp_path / "missing.py")
    (versions / "e_folder.py").mkdir()  # a folder named like a revision
    (versions / "__init__.py").write_text("")
    (versions / "notes.txt").write_text("")
    assert revision_files([versions]) == [versions / "a_first.py",
                                          (elsewhere / "b_shared.py").resolve()]


def test_recursive_listing_skips_symlinked_folders_and_pycache(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    (versions / "b_sub").mkdir(parents=True)
    (versions / "a_sub").mkdir()
    (versions / "__pycache__").mkdir()
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.py").write_text("revision = 'x'\n")
    (versions / "c_link").symlink_to(other, target_is_directory=True)
    (versions / "z.py").write_text("revision = 'z'\n")
    (versions / "b_sub" / "b.py").write_text("revision = 'b'\n")
    (versions / "a_sub" / "a.py").write_text("revision = 'a'\n")
    (versions / "__pycache__" / "p.py").write_text("")
    assert revision_files([versions], recursive=True) == [
        versions / "z.py", versions / "a_sub" / "a.py", versions / "b_sub" / "b.py"]
    assert revision_files([versions]) == [versions / "z.py"]


def test_a_location_reached_through_a_symlink_lists_real_paths(tmp_path: Path) -> None:
    real = tmp_path / "real_versions"
    real.mkdir()
    (real / "a.py").write_text("revision = 'a'\n")
    link = tmp_path / "versions"
    link.symlink_to(real, target_is_directory=True)
    assert revision_files([link]) == [real.resolve() / "a.py"]
