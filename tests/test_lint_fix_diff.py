"""`sluice lint` text output shows, under a finding a recipe answers, the diff `sluice fix`
would make to that call (as ruff shows its fixes); machine formats do not, and a lint
with no such finding imports no recipe code."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sluice.integrations.cli.lint_fixes import RECIPE_RULES
from sluice.recipes import all_recipes
from tests.support.cli import run_cli
from tests.support.lint import RUN
from tests.support.lint import project as static_project
from tests.support.paths import EXAMPLE

REVISION = '''\
"""index, column and foreign key

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_users_full_name", "users", ["full_name"])
    op.add_column("users", sa.Column("nick", sa.String(20)))
    op.create_foreign_key("fk_orders_product", "orders", "products", ["product_id"], ["id"])


def downgrade() -> None:
    op.drop_constraint("fk_orders_product", "orders", type_="foreignkey")
    op.drop_column("users", "nick")
    op.drop_index("ix_users_full_name", table_name="users")
'''


def shop_with_revision(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("*.db", "__pycache__"))
    (root / "migrations" / "versions" / "0003_index.py").write_text(REVISION, encoding="utf-8")
    return root


def lint(root: Path, *args: str) -> tuple[int, str]:
    result = run_cli(["lint", "-c", "alembic.ini", "--show-fixes", "--dialect",
                      "postgresql", "--no-cache", *args], cwd=root)
    return result.exit_code, result.stdout


def blocks(text: str) -> dict[str, str]:
    """Each finding's block of text output, by rule id."""
    out = {}
    for block in text.split("\n\n"):
        head = block.split("\n", 1)[0]
        for rule in ("SL201", "SL203"):
            if f"  {rule} " in head:
                out[rule] = block
    return out


def test_recipe_rules_are_the_registry_s() -> None:
    want: dict[str, set[str]] = {}
    for recipe in all_recipes():
        want.setdefault(recipe.dialect, set()).update(recipe.rules)
    assert {d: set(r) for d, r in RECIPE_RULES.items()} == {d: r for d, r in want.items() if r}


def test_text_output_shows_each_finding_s_fix_as_a_diff(tmp_path: Path) -> None:
    root = shop_with_revision(tmp_path)
    code, text = lint(root)
    assert code == 1
    found = blocks(text)
    index, fk = found["SL201"], found["SL203"]
    for block in (index, fk):
        # (named relative to the project: the working folder is elsewhere)
        assert "  available fix (sluice fix --dialect postgresql):\n"  \
               "    --- a/migrations/versions/0003_index.py\n" \
               "    +++ b/migrations/versions/0003_index.py\n    @@ " in block
    # each diff rewrites its own call only
    assert '    -    op.create_index("ix_users_full_name", "users", ["full_name"])' in index
    assert "    +    with op.get_context().autocommit_block():" in index
    assert "postgresql_concurrently=True, if_not_exists=True" in index
    assert "NOT VALID" not in index
    assert '    -    op.create_foreign_key("fk_orders_product"' in fk
    assert "FOREIGN KEY(product_id) REFERENCES products (id) NOT VALID" in fk
    assert "postgresql_concurrently" not in fk
    assert '     op.create_index("ix_users_full_name", "users", ["full_name"])' in fk

    # what the diffs show is what `sluice fix` writes
    fixed = run_cli(["fix", "-c", str(root / "alembic.ini"), "--dialect",
                     "postgresql"])
    assert fixed.exit_code == 0, fixed.output
    after = (root / "migrations" / "versions" / "0003_index.py").read_text(encoding="utf-8")
    for block in (index, fk):
        added = [ln[5:] for ln in block.splitlines()
                 if ln.startswith("    +") and not ln.startswith("    +++")]
        assert added and all(a in after.splitlines() for a in added), block
    code, text = lint(root)
    assert "available fix" not in text


def test_machine_formats_carry_no_diff(tmp_path: Path) -> None:
    root = shop_with_revision(tmp_path)
    code, out = lint(root, "--format", "json")
    assert code == 1
    data = json.loads(out)
    findings = data["findings"] if isinstance(data, dict) else data
    assert {f["rule"] for f in findings} >= {"SL201", "SL203"}
    assert "available fix" not in out and "+++ b/" not in out


def test_a_finding_without_recipe_gets_no_diff_and_no_recipe_import(tmp_path: Path) -> None:
    ini = static_project(tmp_path / "p")
    report = tmp_path / "modules.json"
    done = subprocess.run([sys.executable, "-c", RUN, str(report), "lint", "-c", str(ini),
                           "--no-cache", "--fail-on", "info"],
                          cwd=tmp_path, capture_output=True, text=True, check=True)
    data = json.loads(report.read_text())
    assert data["exit"] == 1, done.stdout  # there are findings, none a recipe answers
    assert "available fix" not in done.stdout
    assert not [m for m in data["modules"] if m.startswith("sluice.recipes")]


def test_a_suppressed_or_reviewed_call_gets_no_diff(tmp_path: Path) -> None:
    """A call under a reviewed comment is left alone by `sluice fix`, so its finding (if
    the comment does not silence it) shows no diff."""
    root = shop_with_revision(tmp_path)
    path = root / "migrations" / "versions" / "0003_index.py"
    path.write_text(REVISION.replace(
        '    op.create_index("ix_users_full_name"',
        "    # sluice: ignore[SL203] reviewed: orders is tiny\n"
        '    op.create_index("ix_users_full_name"'), encoding="utf-8")
    code, text = lint(root)
    found = blocks(text)
    assert "available fix" not in found["SL201"]
    assert "available fix" in found["SL203"]


def test_past_max_files_one_summary_line_and_no_recipe_import(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A long history's first lint: the fixable findings are counted in one line, no diff
    is drawn (and Alembic's renderer is not imported for them)."""
    from sluice.integrations.cli import lint_fixes

    root = shop_with_revision(tmp_path)
    second = REVISION.replace('"0003"', '"0004"').replace('down_revision = "0004"',
                                                         'down_revision = "0003"')
    second = second.replace("Revision ID: 0004\nRevises: 0002", "Revision ID: 0004\nRevises: 0003")
    second = second.replace("ix_users_full_name", "ix_users_email").replace(
        '["full_name"]', '["email"]').replace("fk_orders_product", "fk_orders_user2").replace(
        '"products", ["product_id"]', '"users", ["user_id"]').replace(
        '"nick"', '"nick2"')
    (root / "migrations" / "versions" / "0004_more.py").write_text(second, encoding="utf-8")
    monkeypatch.setattr(lint_fixes, "MAX_FILES", 1)
    called: list[object] = []
    monkeypatch.setattr("sluice.lint.fixmemo.FixMemo.draw", lambda *a, **k: called.append(a))
    code, text = lint(root)
    assert code == 1
    assert "available fix" not in text and not called
    assert ("4 findings in 2 files have a postgresql recipe: `sluice fix --dialect "
            "postgresql --diff` shows the rewrite, `sluice fix --dialect postgresql` makes "
            "it") in text
    monkeypatch.undo()  # ten files at most: both get their diffs
    code, text = lint(root)
    assert text.count("available fix (sluice fix --dialect postgresql):") == 4


@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_fix_keeps_the_file_s_line_endings(tmp_path: Path, newline: str) -> None:
    """A revision written with CRLF line endings (a Windows checkout, a team's
    .gitattributes) is rewritten with CRLF: only the rewritten operations change."""
    root = shop_with_revision(tmp_path)
    path = root / "migrations" / "versions" / "0003_index.py"
    path.write_bytes(REVISION.replace("\n", newline).encode())
    done = run_cli(["fix", "-c", str(root / "alembic.ini"), "--dialect", "postgresql"])
    assert done.exit_code == 0, done.output
    data = path.read_bytes()
    assert b"postgresql_concurrently=True" in data
    lines = data.split(b"\n")[:-1]
    assert all(line.endswith(b"\r") == (newline == "\r\n") for line in lines)
    untouched = REVISION.splitlines()[:12]  # the header, before upgrade()
    added = "from sluice.recipes.naming import conventional_name"  # what the rewrite needs
    header = data.decode().split(newline)[:13]
    assert added in header and [ln for ln in header if ln != added] == untouched


@pytest.mark.parametrize("kind", ["latin-1", "bom"])
def test_fix_keeps_the_file_s_encoding(tmp_path: Path, kind: str) -> None:
    """A revision that declares latin-1 (PEP 263) is fixed and written back in latin-1;
    one with a UTF-8 byte order mark keeps it."""
    root = shop_with_revision(tmp_path)
    path = root / "migrations" / "versions" / "0003_index.py"
    text = REVISION.replace('"""index, column', '"""caf\u00e9: index, column')
    if kind == "latin-1":
        path.write_bytes(("# -*- coding: latin-1 -*-\n" + text).encode("latin-1"))
    else:
        path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    done = run_cli(["fix", "-c", str(root / "alembic.ini"), "--dialect", "postgresql"])
    assert done.exit_code == 0, done.output
    data = path.read_bytes()
    assert b"postgresql_concurrently=True" in data
    if kind == "latin-1":
        assert b"caf\xe9: index" in data and data.startswith(b"# -*- coding: latin-1")
    else:
        assert data.startswith(b"\xef\xbb\xbf\"\"\"caf\xc3\xa9: index")


def test_calls_rewritten_as_one_block_show_it_once(tmp_path: Path) -> None:
    """Adjacent calls the recipes rewrite together (one autocommit block): the first
    finding shows the block's diff, a later one says where it is; no finding shows a diff
    of the imports alone, which would not fix it."""
    root = shop_with_revision(tmp_path)
    path = root / "migrations" / "versions" / "0003_index.py"
    text = path.read_text(encoding="utf-8").replace(
        '    op.add_column("users", sa.Column("nick", sa.String(20)))\n', "")
    path.write_text(text, encoding="utf-8")
    code, out = lint(root)
    assert code == 1
    found = blocks(out)
    index, fk = found["SL201"], found["SL203"]
    assert "    -    op.create_index(" in index and "    -    op.create_foreign_key(" in index
    assert "NOT VALID" in index
    assert "+++ b/" not in fk and "@@" not in fk
    assert "  available fix (sluice fix --dialect postgresql):\n"  \
           "    rewritten together with line 16: the diff " \
           "under migrations/versions/0003_index.py:16 above" in fk


def test_a_revision_sluice_sum_records_gets_no_diff_fix_would_not_make(
        tmp_path: Path) -> None:
    """`sluice fix` leaves reviewed history alone: lint --all shows its findings, no diff
    under them, and one line naming the command that does rewrite them."""
    root = shop_with_revision(tmp_path)
    # (recorded as reviewed as it is: its findings are the point)
    assert run_cli(["lock", "-c", str(root / "alembic.ini"), "--no-lint"]).exit_code == 0
    code, text = lint(root, "--all")
    assert code == 1 and set(blocks(text)) == {"SL201", "SL203"}
    assert "available fix" not in text and "+++ b/" not in text
    assert ("2 findings in 1 file recorded in sluice.sum have a postgresql recipe, left "
            "alone by `sluice fix` (reviewed history): `sluice fix --include-locked "
            "--dialect postgresql --diff` shows the rewrite; `sluice fix --include-locked "
            "--dialect postgresql` makes it, then `sluice lock`") in text
    ini = str(root / "alembic.ini")
    left = run_cli(["fix", "-c", ini, "--dialect", "postgresql", "--diff"])
    assert left.exit_code == 0 and left.stdout == "", left.output
    named = run_cli(["fix", "-c", ini, "--include-locked", "--dialect", "postgresql", "--diff"])
    assert named.exit_code == 1 and "+++ b/migrations/versions/0003_index.py" in named.stdout


def test_several_dialects_count_files_and_name_the_dialect(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Linted for several dialects (none named on the command line): the summary counts
    files, not files times dialects, and names the command that works: `sluice fix`
    alone needs the one dialect."""
    from sluice.integrations.cli import lint_fixes

    root = shop_with_revision(tmp_path)
    with (root / "sluice.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[lint]\ndialects = ["postgresql", "mysql"]\n')
    second = REVISION.replace("0003", "0004").replace('down_revision = "0002"',
                                                      'down_revision = "0003"')
    second = second.replace("Revises: 0002", "Revises: 0003").replace(
        "ix_users_full_name", "ix_users_email").replace('["full_name"]', '["email"]')
    (root / "migrations" / "versions" / "0004_more.py").write_text(second, encoding="utf-8")
    ini = str(root / "alembic.ini")
    monkeypatch.setattr(lint_fixes, "MAX_FILES", 1)
    text = run_cli(["lint", "-c", "alembic.ini", "--no-cache", "--show-fixes"], cwd=root).stdout
    assert ("4 findings in 2 files have a postgresql recipe: `sluice fix --dialect "
            "postgresql --diff` shows the rewrite, `sluice fix --dialect postgresql` makes "
            "it") in text, text
    monkeypatch.undo()
    text = run_cli(["lint", "-c", ini, "--no-cache", "--show-fixes"]).stdout
    assert text.count(f"available fix (sluice fix --dialect postgresql -c {ini}):") == 4
    assert "available fix (sluice fix -c" not in text  # never without the dialect
    assert run_cli(["fix", "-c", ini, "--diff"]).exit_code == 2  # needs the one dialect
    assert run_cli(["fix", "-c", ini, "--dialect", "postgresql", "--diff"]).exit_code == 1


def test_by_default_one_line_counts_them_and_nothing_is_rewritten(tmp_path: Path) -> None:
    """Without --show-fixes the text output names the command that shows and makes the
    rewrite, in one line, and draws no diff: neither the recipes nor Alembic's renderer
    nor SQLAlchemy is imported."""
    root = shop_with_revision(tmp_path)
    report = tmp_path / "modules.json"
    done = subprocess.run([sys.executable, "-c", RUN, str(report), "lint", "-c",
                           "alembic.ini", "--dialect", "postgresql"],
                          cwd=root, capture_output=True, text=True, check=True)
    data = json.loads(report.read_text())
    assert data["exit"] == 1, done.stdout
    assert set(blocks(done.stdout)) == {"SL201", "SL203"}
    assert "available fix" not in done.stdout and "+++ b/" not in done.stdout
    assert ("2 findings in 1 file have a postgresql recipe: `sluice fix --dialect "
            "postgresql --diff` shows the rewrite, `sluice fix --dialect postgresql` makes "
            "it") in done.stdout
    assert not [m for m in data["modules"]
                if m.startswith(("sluice.recipes", "alembic.autogenerate", "sqlalchemy"))]


def test_show_fixes_in_the_configuration_and_no_show_fixes_over_it(tmp_path: Path) -> None:
    root = shop_with_revision(tmp_path)
    with (root / "sluice.toml").open("a", encoding="utf-8") as fh:
        fh.write("\n[lint]\nshow_fixes = true\n")
    ini = str(root / "alembic.ini")
    shown = run_cli(["lint", "-c", ini, "--dialect", "postgresql", "--no-cache"]).stdout
    # the heading names the command that makes the diff, -c included
    assert shown.count(f"available fix (sluice fix --dialect postgresql -c {ini}):") == 2
    plain = run_cli(["lint", "-c", ini, "--dialect", "postgresql", "--no-cache",
                     "--no-show-fixes"]).stdout
    assert f"`sluice fix --dialect postgresql --diff -c {ini}`" in plain  # -c repeated
    assert "available fix" not in plain and "2 findings in 1 file have a" in plain
    (root / "sluice.toml").write_text((root / "sluice.toml").read_text().replace(
        "show_fixes = true", 'show_fixes = "yes"'))
    bad = run_cli(["lint", "-c", ini, "--dialect", "postgresql"])
    assert bad.exit_code == 2 and "show_fixes" in bad.stderr and "sluice.toml" in bad.stderr


def test_a_call_sluice_fix_leaves_alone_is_not_counted(tmp_path: Path) -> None:
    """Index names built in a loop: the finding stands, but `sluice fix` rewrites only a
    call that is a statement of its own, so the summary line promises no rewrite."""
    root = shop_with_revision(tmp_path)
    path = root / "migrations" / "versions" / "0003_index.py"
    path.write_text(REVISION.replace(
        '    op.create_index("ix_users_full_name", "users", ["full_name"])\n',
        '    for column in ("full_name", "email"):\n'
        '        op.create_index(f"ix_users_{column}", "users", [column])\n'), encoding="utf-8")
    result = run_cli(["lint", "-c", "alembic.ini", "--dialect", "postgresql", "--no-cache"],
                     cwd=root)
    code, text = result.exit_code, result.stdout
    assert code == 1 and "SL201" in text
    assert ("1 finding in 1 file has a postgresql recipe: `sluice fix --dialect postgresql "
            "--diff` shows the rewrite") in text, text  # the foreign key's, not the loop's
