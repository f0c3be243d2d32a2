"""`sluice lock` and the checksums check."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sluice.check import lock
from sluice.core.sumfile import HEADER, parse_sum
from sluice.errors import SluiceError
from tests.support.check import config, overlay, problems, run
from tests.support.cli import run_cli
from tests.support.project import edit

V1 = "migrations/versions/0001_users_and_products.py"
V2 = "migrations/versions/0002_orders_and_demo_data.py"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_lock_writes_sorted_checksums_and_heads(shop: Path) -> None:
    (shop / "sluice.sum").unlink()  # the example ships locked
    result = lock(shop / "alembic.ini")
    assert result.changed and result.files == 2 and result.heads == ["0002"]
    assert result.added == [V1, V2]
    text = (shop / "sluice.sum").read_text()
    assert text == (f"{HEADER}\n{sha(shop / V1)}  {V1}\n{sha(shop / V2)}  {V2}\nheads: 0002\n")
    again = lock(shop / "alembic.ini")
    assert not again.changed
    assert run(shop, "checksums").result("checksums").summary == \
        "2 revision files match sluice.sum"


def test_missing_sum_file_is_skipped_with_the_command(shop: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    (shop / "sluice.sum").unlink(missing_ok=True)
    monkeypatch.chdir(shop)  # alembic.ini here: the command leaves out -c
    report = run(shop, "checksums")
    result = report.result("checksums")
    assert (result.status, result.problems) == ("skip", [])
    assert result.summary == ("no sluice.sum: run `sluice lock` to record the revision "
                              "files' checksums, and commit it")
    assert report.exit_code == 0


def test_missing_sum_file_fails_when_the_lock_is_required(shop: Path) -> None:
    (shop / "sluice.sum").unlink(missing_ok=True)
    config(shop, "[check]\nrequire_lock = true\n")
    report = run(shop, "checksums")
    [p] = problems(report, "checksums")
    assert p.kind == "no-sum-file" and report.exit_code == 1
    # alembic.ini is not in the working folder: the command names it
    assert p.fix == (f"Run `sluice lock -c {shop / 'alembic.ini'}` and commit sluice.sum "
                     "with the migrations.")


def test_edited_revision_fails_naming_the_file(shop: Path) -> None:
    lock(shop / "alembic.ini")
    edit(shop / V1, 'sa.Column("sku", sa.String(length=40)', 'sa.Column("sku", sa.String(length=64)')
    report = run(shop, "checksums")
    assert report.exit_code == 1
    [p] = problems(report, "checksums")
    assert p.kind == "edited" and p.path == V1
    assert p.message.startswith("changed after it was locked (sluice.sum:2 records sha256 ")
    assert "put the change in a new revision" in p.fix
    # updating the sum file in the same change makes it pass
    result = lock(shop / "alembic.ini")
    assert result.modified == [V1]
    assert run(shop, "checksums").exit_code == 0


def test_new_and_removed_revision_files(shop: Path) -> None:
    lock(shop / "alembic.ini")
    overlay(shop, "merged")
    (shop / V2).rename(shop / "migrations" / "versions" / "0002_renamed.py")
    found = {(p.kind, p.path) for p in problems(run(shop, "checksums"), "checksums")}
    assert found == {
        ("removed", "sluice.sum"),
        ("unrecorded", "migrations/versions/0002_renamed.py"),
        ("unrecorded", "migrations/versions/0003_add_tags.py"),
        ("unrecorded", "migrations/versions/0004_add_coupons.py"),
        ("unrecorded", "migrations/versions/0005_merge.py"),
    }
    result = lock(shop / "alembic.ini")
    assert result.heads == ["0005"] and result.removed == [V2]
    assert run(shop, "checksums").exit_code == 0


def test_heads_line_must_match(shop: Path) -> None:
    lock(shop / "alembic.ini")
    sum_file = shop / "sluice.sum"
    sum_file.write_text(sum_file.read_text().replace("heads: 0002", "heads: 0001"))
    [p] = problems(run(shop, "checksums"), "checksums")
    assert (p.kind, p.line) == ("heads-changed", 4)
    assert p.message == "sluice.sum records heads 0001, the revision files have 0002"


def test_two_branches_adding_a_revision_conflict_in_the_heads_line(shop: Path) -> None:
    """What git leaves when two branches each add a revision on 0002 and lock."""
    lock(shop / "alembic.ini")
    base = (shop / "sluice.sum").read_text().splitlines()
    overlay(shop, "two_heads")
    ours, theirs = "a" * 64, "b" * 64
    merged = base[:3] + [
        f"<<<<<<< HEAD\n{ours}  migrations/versions/0003_add_tags.py\nheads: 0003\n=======\n"
        f"{theirs}  migrations/versions/0004_add_coupons.py\nheads: 0004\n>>>>>>> feature"]
    (shop / "sluice.sum").write_text("\n".join(merged) + "\n")
    kinds = {p.kind: p for p in problems(run(shop, "checksums"), "checksums")}
    conflict = kinds["merge-conflict"]
    assert (conflict.path, conflict.line) == ("sluice.sum", 4)
    assert "set down_revision of the newer one" in conflict.fix
    assert "edited" in kinds  # the conflicting lines do not match the files either


def test_bad_line_is_reported_with_its_number(shop: Path) -> None:
    lock(shop / "alembic.ini")
    with (shop / "sluice.sum").open("a") as fh:
        fh.write("garbage\n")
    [p] = problems(run(shop, "checksums"), "checksums")
    assert (p.kind, p.line) == ("bad-line", 5)


def test_line_endings_do_not_change_the_checksum(shop: Path) -> None:
    lock(shop / "alembic.ini")
    path = shop / V1
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert run(shop, "checksums").exit_code == 0


def test_lock_never_imports_revisions(shop: Path) -> None:
    """A pre-commit hook runs without the application installed."""
    overlay(shop, "import_error")
    result = lock(shop / "alembic.ini")
    assert result.heads == ["0003"] and result.files == 3
    assert run(shop, "checksums").exit_code == 0


def test_dynamic_revision_ids_fall_back_to_importing(shop: Path) -> None:
    overlay(shop, "merged")
    edit(shop / "migrations" / "versions" / "0005_merge.py",
         'down_revision = ("0003", "0004")', 'down_revision = tuple(["0003", "0004"])')
    assert lock(shop / "alembic.ini").heads == ["0005"]


def test_sum_file_location_from_config(shop: Path) -> None:
    config(shop, '[check]\nsum_file = "migrations/sluice.sum"\n')
    result = lock(shop / "alembic.ini")
    assert result.path == shop / "migrations" / "sluice.sum"
    assert parse_sum(result.path.read_text()).heads == ["0002"]
    assert run(shop, "checksums").exit_code == 0


@pytest.mark.parametrize("value", ["../x.sum", "/tmp/x.sum"])
def test_check_refuses_the_sum_file_lock_refuses(shop: Path, value: str) -> None:
    """check read a sum file outside the project quietly ("no ../x.sum: run sluice lock")
    while lock refused to write it: the same setting, the same one-line error."""
    config(shop, f'[check]\nsum_file = "{value}"\n')
    checked = run_cli(["check", "-c", str(shop / "alembic.ini"), "--only", "checksums"])
    locked = run_cli(["lock", "-c", str(shop / "alembic.ini")])
    assert checked.exit_code == locked.exit_code == 2
    assert checked.stderr == locked.stderr
    assert checked.stderr.startswith(f"sluice: error: check.sum_file = '{value}' ")
    assert len(checked.stderr.splitlines()) == 1


def test_one_revision_file_matches(shop: Path) -> None:
    (shop / "migrations" / "versions" / "0002_orders_and_demo_data.py").unlink()
    lock(shop / "alembic.ini")
    assert run(shop, "checksums").result("checksums").summary == \
        "1 revision file matches sluice.sum"


def test_lock_with_missing_ini(tmp_path: Path) -> None:
    with pytest.raises(SluiceError, match="no such file"):
        lock(tmp_path / "alembic.ini")


def test_lock_refuses_a_syntax_error_naming_file_and_line(shop: Path) -> None:
    overlay(shop, "two_heads")
    broken = shop / "migrations" / "versions" / "0004_add_coupons.py"
    broken.write_text(broken.read_text().replace("def upgrade() -> None:",
                                                 "def upgrade() -> None:\n    op.execute((\n"))
    before = (shop / "sluice.sum").read_bytes()
    result = run_cli(["lock", "-c", str(shop / "alembic.ini")])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "sluice: error: migrations/versions/0004_add_coupons.py:16: SyntaxError: '(' was "
        "never closed; sluice lock records only revisions that Alembic can load, nothing "
        "was written")
    assert (shop / "sluice.sum").read_bytes() == before


@pytest.mark.parametrize("case", ["duplicate", "missing-parent", "cycle"])
def test_lock_refuses_a_broken_graph_without_writing(shop: Path, case: str) -> None:
    lock(shop / "alembic.ini")
    before = (shop / "sluice.sum").read_bytes()
    versions = shop / "migrations" / "versions"
    v1 = (shop / V1).read_text()
    if case == "duplicate":
        (versions / "0003_copy.py").write_text(
            (shop / V2).read_text().replace('None] = "0001"', 'None] = "0002"'))
        expected = ("migrations/versions/0003_copy.py:15: revision id '0002' is also declared "
                    "by migrations/versions/0002_orders_and_demo_data.py")
    elif case == "missing-parent":
        edit(shop / V2, 'None] = "0001"', 'None] = "0abc"')
        expected = ("migrations/versions/0002_orders_and_demo_data.py:16: down_revision '0abc' "
                    "of revision 0002 does not exist (no revision file declares it)")
    else:
        (shop / V1).write_text(v1.replace("None] = None", 'None] = "0002"', 1))
        expected = ("migrations/versions/0001_users_and_products.py:14: revision cycle "
                    "0001 -> 0002 -> 0001")
    result = run_cli(["lock", "-c", str(shop / "alembic.ini")])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"sluice: error: {expected}"), result.stderr
    assert "sluice lock refuses to record a broken revision graph, nothing was written" \
        in result.stderr
    assert (shop / "sluice.sum").read_bytes() == before


def test_unreadable_revision_id_is_left_out_of_the_heads(shop: Path) -> None:
    overlay(shop, "two_heads")
    broken = shop / "migrations" / "versions" / "0004_add_coupons.py"
    broken.write_text(broken.read_text().replace('revision = "0004"', "revision = make_id()"))
    result = run_cli(["lock", "-c", str(shop / "alembic.ini")])
    assert result.exit_code == 0
    assert result.stderr == (
        "sluice: warning: migrations/versions/0004_add_coupons.py: cannot read its revision "
        "id; the heads line leaves it out (run `sluice check --only graph -c "
        f"{shop / 'alembic.ini'}`)\n")
    assert (shop / "sluice.sum").read_text().endswith("heads: 0003\n")
    report = run(shop, "checksums")
    assert report.exit_code == 0
    assert report.result("checksums").notes == [
        "migrations/versions/0004_add_coupons.py: revision id unreadable, heads not compared"]
