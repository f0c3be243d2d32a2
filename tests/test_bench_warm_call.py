"""bench/process.py ``lint-warm-call``: the edit before each run changes a call that
``sluice fix`` rewrites, so the text lint draws that call's diff anew.

The "1 call edited" rows of docs/lint.md come from this case; an edit that left the call
as it was (or a call no recipe rewrites) would time the cheaper path and flatter Sluice.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

from tests.support.bench import bench_process


def _bench() -> ModuleType:
    return bench_process()


REVISION = '''\
"""r1"""
from alembic import op
import sqlalchemy as sa

revision = "r1"
down_revision = None


def upgrade():
    op.create_index("ix_orders_user", "orders", ["user_id"]{extra})


def downgrade():
    op.drop_index("ix_orders_user", table_name="orders")
'''


def _project(root: Path, extra: str = "") -> Path:
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "alembic.ini").write_text(
        "[alembic]\nscript_location = migrations\n"
        "sqlalchemy.url = postgresql://u@localhost/db\n")
    (root / "migrations" / "env.py").write_text("")
    victim = versions / "r1.py"
    victim.write_text(REVISION.format(extra=extra))
    return victim


def test_the_edit_renames_the_fixable_call_anew_each_time() -> None:
    bench = _bench()
    text = REVISION.format(extra="")
    once = bench._FIXABLE_CALL.sub(lambda m: f"{m[1]}{m[2]}{m[3]}_e1{m[2]}", text, count=1)
    assert 'op.create_index("ix_orders_user_e1", "orders"' in once
    assert 'op.drop_index("ix_orders_user", ' in once  # only the first such call


def test_the_premise_is_checked_with_the_text_lint(tmp_path: Path) -> None:
    bench = _bench()
    lint = [str(Path(sys.executable).parent / "sluice"), "lint"]
    plain = _project(tmp_path / "plain")
    assert bench._draws_fix(lint, plain.parents[2], {}, plain, plain.read_text())
    done = _project(tmp_path / "done", extra=", postgresql_concurrently=True")
    assert not bench._draws_fix([*lint, "--format", "json"], done.parents[2], {}, done,
                                done.read_text())
