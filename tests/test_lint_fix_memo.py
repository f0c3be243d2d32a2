"""`sluice lint` keeps what the recipes made of each call in its cache folder: after an
edit that leaves the rewritten calls as they were, text output draws the same diffs byte
for byte without Alembic or SQLAlchemy; an edit of a call, of the imports or of the
configuration draws them again; a memo that does not validate is ignored; `--no-cache`
neither reads nor writes it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sluice.config import SluiceConfig
from sluice.lint.fixmemo import FixMemo
from sluice.recipes import source
from tests.support.cli import run_cli
from tests.support.lint import RUN
from tests.support.paths import EXAMPLE

HEAD = '''\
"""{title}

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

'''

#: Every PostgreSQL recipe; two calls with a blank line between (one sequence, the first
#: with its comment); a reviewed call; a backfill, whose import is added.
EVERY_PG = HEAD.format(title="every recipe") + '''
def upgrade() -> None:
    op.create_index("ix_users_full_name", "users", ["full_name"])  # lookups by name

    op.create_foreign_key("fk_orders_product", "orders", "products", ["product_id"], ["id"])
    # one at a time below
    op.create_unique_constraint("uq_users_email", "users", ["email"])
    # --
    op.create_primary_key("pk_tags", "tags", ["id"])
    # --
    op.create_check_constraint("ck_orders_total", "orders", "total > 0")
    # --
    op.alter_column("users", "email", existing_type=sa.String(200), nullable=False)
    # --
    op.add_column("users", sa.Column("score", sa.Integer(), nullable=False,
                                     server_default=sa.text("random()")))
    # --
    op.alter_column("orders", "qty", existing_type=sa.Integer(), type_=sa.BigInteger())
    # sluice: ignore[SL201] reviewed: tiny table
    op.create_index("ix_users_nick", "users", ["nick"])
    # --
    op.drop_index("ix_orders_old", table_name="orders")


def downgrade() -> None:
    pass
'''

MYSQL = HEAD.format(title="a column") + '''
def upgrade() -> None:
    op.add_column("users", sa.Column("nick", sa.String(20)))
    op.add_column("users", sa.Column("bio", sa.Text()))


def downgrade() -> None:
    op.drop_column("users", "bio")
    op.drop_column("users", "nick")
'''

INDEX = HEAD.format(title="an index") + '''
def upgrade() -> None:
    op.create_index("ix_users_full_name", "users", ["full_name"])


def downgrade() -> None:
    op.drop_index("ix_users_full_name", table_name="users")
'''


def shop(tmp_path: Path, text: str) -> Path:
    root = tmp_path / "shop"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("*.db", "__pycache__"))
    revision(root).write_text(text, encoding="utf-8")
    return root


def revision(root: Path) -> Path:
    return root / "migrations" / "versions" / "0003_index.py"


def lint(root: Path, *args: str, dialect: str = "postgresql") -> str:
    result = run_cli(["lint", "-c", str(root / "alembic.ini"), "--show-fixes", "--dialect", dialect,
                      "--all-findings", *args])
    assert result.exit_code in (0, 1), result.output
    return result.stdout


def spy(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the chains the recipes are run on (what the memo did not have)."""
    computed: list[int] = []
    real: Callable[..., Any] = source.fix_chains

    def counting(plan: Any, chains: list[Any], ctx: Any) -> Any:
        computed.append(len(chains))
        return real(plan, chains, ctx)

    monkeypatch.setattr(source, "fix_chains", counting)
    return computed


@pytest.mark.parametrize(("dialect", "text", "diffs"),
                         [("postgresql", EVERY_PG, 9), ("mysql", MYSQL, 2)])
def test_a_diff_from_the_memo_is_the_one_drawn_afresh(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dialect: str, text: str,
        diffs: int) -> None:
    root = shop(tmp_path, text)
    with (root / "sluice.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[lint]\ntarget_mysql_version = "5.7"\n')  # adding a column rebuilds
    cold = lint(root, dialect=dialect)
    assert cold.count(f"available fix (sluice fix --dialect {dialect} -c "
                      f"{root / 'alembic.ini'}):") == diffs
    assert (root / ".sluice_cache" / "fix.cache").is_file()
    revision(root).write_text(text + "# a comment at the end\n", encoding="utf-8")
    computed = spy(monkeypatch)
    warm = lint(root, dialect=dialect)
    assert computed == []  # every chain from the memo
    fresh = lint(root, "--no-cache", dialect=dialect)
    assert computed  # the same lint without the memo runs the recipes
    assert warm == fresh
    if dialect == "mysql":  # the two calls: one sequence, one lock wait timeout
        assert warm.count("+    op.execute('SET SESSION lock_wait_timeout = 5')") == 1
        assert "    rewritten together with line " in warm
    else:
        assert "+from sluice.data import batched_update" in warm
        assert "+    # lookups by name\n" in warm
        assert '     op.create_index("ix_users_nick", "users", ["nick"])' in warm


def test_a_warm_lint_after_a_comment_imports_neither_alembic_nor_sqlalchemy(
        tmp_path: Path) -> None:
    root = shop(tmp_path, INDEX)
    report = tmp_path / "modules.json"

    def run() -> tuple[str, list[str]]:
        done = subprocess.run([sys.executable, "-c", RUN, str(report), "lint", "-c",
                               str(root / "alembic.ini"), "--show-fixes", "--dialect",
                               "postgresql"],
                              cwd=tmp_path, capture_output=True, text=True, check=True)
        data = json.loads(report.read_text())
        assert data["exit"] == 1, done.stdout
        return done.stdout, data["modules"]

    cold, modules = run()
    assert "alembic" in modules  # the first lint drew the diff with Alembic
    revision(root).write_text(
        INDEX.replace("def upgrade() -> None:\n", "def upgrade() -> None:\n    # why\n"),
        encoding="utf-8")
    warm, modules = run()
    assert f"available fix (sluice fix --dialect postgresql -c {root / 'alembic.ini'}):" \
        in warm
    assert '-    op.create_index("ix_users_full_name", "users", ["full_name"])' in warm
    assert "+    # why\n" not in warm  # the comment is context, not the call's diff
    # (Alembic's alembic/util/exc.py alone is how SluiceError is a CommandError)
    packages = {m.split(".")[0] for m in set(modules) - {"alembic.util.exc"}}
    assert not packages & {"alembic", "sqlalchemy"}
    assert not [m for m in modules if m.startswith("sluice.recipes")]


@pytest.mark.parametrize("edit", ["call", "imports", "config", "env"])
def test_what_the_recipes_read_changed_they_run_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: str) -> None:
    root = shop(tmp_path, INDEX)
    lint(root)
    args: tuple[str, ...] = ()
    if edit == "call":
        revision(root).write_text(INDEX.replace('["full_name"])', '["full_name", "id"])', 1),
                                  encoding="utf-8")
    elif edit == "imports":
        revision(root).write_text(INDEX.replace("from alembic import op\n",
                                                "from alembic import op\nimport os\n"),
                                  encoding="utf-8")
    elif edit == "config":
        with (root / "sluice.toml").open("a", encoding="utf-8") as fh:
            fh.write('lock_timeout = "2s"\n')  # the file ends in [environments.prod]
    else:
        with (root / "sluice.toml").open("a", encoding="utf-8") as fh:
            fh.write('\n[environments.quick]\nlock_timeout = "750ms"\n')
        args = ("--env", "quick")
    computed = spy(monkeypatch)
    warm = lint(root, *args)
    # the edited call's chain (not the downgrade's), or every chain of the file
    assert computed == ([1] if edit == "call" else [2])
    assert warm == lint(root, "--no-cache", *args)
    expect = {"call": "['full_name', 'id']", "imports": "+    with op.get_context()",
              "config": "SET lock_timeout = '2s'", "env": "SET lock_timeout = '750ms'"}
    assert expect[edit] in warm


#: What the recipes read beyond a chain's own calls, before and after an edit: an index
#: made by SQL or inside a block on the column a type change rebuilds, a constraint
#: dropped by SQL before one is made again.
_TYPE_CHANGE = 'op.alter_column("users", "age", existing_type=sa.Integer(), type_=sa.BigInteger())'
ELSEWHERE = {
    "sql": (HEAD.format(title="a type change") + f'''
def upgrade() -> None:
    op.execute("CREATE INDEX ix_users_x ON users (score)")
    # the type
    {_TYPE_CHANGE}


def downgrade() -> None:
    pass
''', "(score)", "(age)"),
    "block": (HEAD.format(title="a type change") + f'''
def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index("ix_users_x", "users", ["score"], postgresql_concurrently=True)
    {_TYPE_CHANGE}


def downgrade() -> None:
    pass
''', '["score"]', '["age"]'),
    "drop": (HEAD.format(title="a foreign key") + '''
def upgrade() -> None:
    op.execute("ALTER TABLE orders DROP CONSTRAINT fk_orders_user")
    # made again
    op.create_foreign_key("fk_orders_user", "orders", "users", ["user_id"], ["id"])


def downgrade() -> None:
    pass
''', "ALTER TABLE orders", "ALTER TABLE tags"),
}


@pytest.mark.parametrize("edit", sorted(ELSEWHERE))
def test_an_edit_of_what_a_recipe_reads_elsewhere_draws_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: str) -> None:
    """The chain's key covers what the recipes read outside the chain: after an edit of
    it, a lint with the memo draws what a lint without it draws, both ways."""
    text, old, new = ELSEWHERE[edit]
    root = shop(tmp_path, text)
    for before, after in ((old, new), (new, old)):
        first = lint(root)
        revision(root).write_text(revision(root).read_text().replace(before, after),
                                  encoding="utf-8")
        warm = lint(root)
        assert warm == lint(root)  # (the second run reads what the first wrote)
        fresh = lint(root, "--no-cache")
        assert warm == fresh
        assert warm.count("available fix") != first.count("available fix")


DOWNGRADE = HEAD.format(title="a type change") + f'''
def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index("ix_users_x", "users", ["score"], postgresql_concurrently=True)


def downgrade() -> None:
    {_TYPE_CHANGE}
'''


def test_an_edit_of_the_upgrade_draws_the_downgrade_again(tmp_path: Path) -> None:
    """In a downgrade the recipes read what the upgrade made (lint shows no diff there,
    `sluice fix` rewrites it): the memo draws what is drawn without it, both ways."""
    config = SluiceConfig()
    path = "migrations/versions/0003_index.py"

    def draw(text: str, folder: Path | None) -> str:
        memo = FixMemo(folder, config, None)
        after = memo.draw(text, path=path, dialect="postgresql").after
        memo.save()
        return after

    text = DOWNGRADE
    for before, after in (('["score"]', '["age"]'), ('["age"]', '["score"]')):
        first = draw(text, tmp_path / "cache")
        text = text.replace(before, after)
        warm = draw(text, tmp_path / "cache")
        assert warm == draw(text, None)
        assert (warm == text) != (first == text.replace(after, before))


def test_a_tampered_memo_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = shop(tmp_path, INDEX)
    memo = root / ".sluice_cache" / "fix.cache"
    lint(root)
    data = memo.read_bytes()
    assert b"RESET lock_timeout" in data
    memo.write_bytes(data.replace(b"RESET lock_timeout", b"DROP TABLE users!!"))
    revision(root).write_text(INDEX + "# edited\n", encoding="utf-8")
    computed = spy(monkeypatch)
    warm = lint(root)
    assert computed == [2]
    assert "DROP TABLE users!!" not in warm and "RESET lock_timeout" in warm
    assert b"DROP TABLE users!!" not in memo.read_bytes()  # written again, valid


def test_no_cache_neither_reads_nor_writes_the_memo(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = shop(tmp_path, INDEX)
    memo = root / ".sluice_cache" / "fix.cache"
    lint(root, "--no-cache")
    assert not memo.exists()
    lint(root)
    before = memo.read_bytes()
    computed = spy(monkeypatch)
    lint(root, "--no-cache")
    assert computed == [2]
    assert memo.read_bytes() == before
