"""A Python source Sluice rewrites (a revision by ``sluice lock --rebase`` or ``sluice
fix``) never runs as its old bytecode: Python trusts a cached file whose recorded size and
modification time (whole seconds) match, which a same-size rewrite within that second
keeps."""

from __future__ import annotations

import importlib.util
import os
import py_compile
import subprocess
import sys
from pathlib import Path

from sluice.files import forget_bytecode, write_atomic
from sluice.recipes import RecipeContext, fix_file

#: A revision with an index built without CONCURRENTLY on an existing table: sluice fix
#: rewrites it for PostgreSQL.
REVISION = '''\
"""index

Revision ID: a1
"""
from alembic import op

revision = "a1"
down_revision = None


def upgrade() -> None:
    op.create_index("ix_orders_user_id", "orders", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_orders_user_id", table_name="orders")
'''


def _cached(source: Path) -> Path:
    cached = Path(importlib.util.cache_from_source(str(source)))
    py_compile.compile(str(source), cfile=str(cached), doraise=True)
    assert cached.exists()
    return cached


def test_a_same_size_rewrite_within_the_second_runs_the_new_code(tmp_path: Path) -> None:
    module = tmp_path / "rev_a1.py"
    module.write_text("down_revision = '0002'\n", encoding="utf-8")
    before = os.stat(module)
    _cached(module)
    write_atomic(module, "down_revision = 'a1a1'\n")
    os.utime(module, ns=(before.st_atime_ns, before.st_mtime_ns))  # the same second
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run([sys.executable, "-c", "import rev_a1; print(rev_a1.down_revision)"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "a1a1"


def test_only_the_rewritten_source_s_bytecode_goes(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "a.b.py").write_text("x = 2\n")
    (tmp_path / "ab.py").write_text("x = 3\n")
    kept = [_cached(tmp_path / name) for name in ("a.b.py", "ab.py")]
    gone = _cached(tmp_path / "a.py")
    optimised = gone.with_name(gone.name.replace(".pyc", ".opt-1.pyc"))
    optimised.write_bytes(gone.read_bytes())
    forget_bytecode(tmp_path / "a.py")
    assert not gone.exists() and not optimised.exists()
    assert all(path.exists() for path in kept)
    forget_bytecode(tmp_path / "nowhere" / "c.py")  # no __pycache__: nothing to do


def test_sluice_fix_drops_the_bytecode_of_the_revision_it_rewrites(tmp_path: Path) -> None:
    rev = tmp_path / "a1_index.py"
    rev.write_text(REVISION, encoding="utf-8")
    rev.chmod(0o640)
    cached = _cached(rev)
    result = fix_file(rev, RecipeContext("postgresql"), write=True)
    assert result.changed and rev.read_text(encoding="utf-8") == result.after
    assert not cached.exists()
    assert rev.stat().st_mode & 0o777 == 0o640
