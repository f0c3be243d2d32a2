"""The project ``alembic init -t async migrations`` makes, wired by ``sluice init``.

Both commands run as real processes, once per test process, in a folder of their own;
:func:`async_init` copies what they made. Neither command writes the folder's path or a
database URL into the files (``script_location = %(here)s/migrations``, the URL a
placeholder; ``sluice init`` reads env.py and script.py.mako only), so each copy is
byte for byte what running the two commands in the test's own folder makes.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from tests.support.cli import BIN, SLUICE, run_process

__all__ = ["PLACEHOLDER_URL", "async_init"]

#: The ``sqlalchemy.url`` of the ini ``alembic init`` writes.
PLACEHOLDER_URL = "driver://user:pass@localhost/dbname"

_made: list[Path] = []


def _template() -> Path:
    if not _made:
        where = Path(tempfile.mkdtemp(prefix="sluice_async_init_"))
        atexit.register(shutil.rmtree, where, ignore_errors=True)
        root = where / "project"
        root.mkdir()
        run_process([BIN / "alembic", "init", "-t", "async", "migrations"], cwd=root,
                    check=True)
        run_process([SLUICE, "init"], cwd=root, check=True)
        _made.append(root)
    return _made[0]


def async_init(root: Path) -> Path:
    """``root`` (new) as ``alembic init -t async migrations`` and then ``sluice init`` run
    in it leave it; its alembic.ini."""
    shutil.copytree(_template(), root)
    return root / "alembic.ini"
