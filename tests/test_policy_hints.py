"""The ``alembic`` commands an autogenerate refusal prints repeat the options of the refused
run (``-c``, ``-n``, every ``-x``), with the addition the hint is about (``-x allow=...``,
``--head``, ``--version-path``, ``-x service=NAME``, a merge), so that copied as printed
they act on the same project, section, environment and service.

The refused runs here are real ``alembic`` processes, run from the folder above a copy of
examples/multiservice (``-c ms/alembic.ini``) whose env.py refuses to run without ``-x
tenant=acme``. Before, the merge hint of a branch with two heads, the ``--version-path``
of a revision starting the trunk, the ``-x service=NAME`` of changes no service owns, the
hand-written ``alembic revision -m`` of an empty autogenerate and the ``-n`` of a service
with its own version table printed bare ``alembic ...`` commands: run as printed they
found no alembic.ini, or (in the project's folder) failed in env.py or on "Multiple heads
are present"; the override step of SL005 (protected tables) in a refusal left out the
run's options too. Each test runs every printed command and checks that it did what the
hint says. Run from beside the project (``-c ../ms/alembic.ini``), a service's revision
was refused by Alembic ("Path ... is not represented in current version locations"): its
folder was given resolved, not as Alembic holds it.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.db import columns, versions
from tests.support.multiservice import (
    TENANT,
    MsProject,
    edit,
    module_value,
    ms_process_project,
)

MODELS = Path("msapp") / "models.py"

#: The refused run of most tests: billing's service, the dev environment.
BILLING = ("service=billing", "env=dev")


def _printed(message: str) -> list[list[str]]:
    """The ``alembic`` commands of a message: in backticks, else from ``alembic `` to the
    end of the line."""
    found = []
    for line in message.splitlines():
        quoted = re.findall(r"`([^`]+)`", line)
        if quoted:
            found += [code for code in quoted if code.startswith("alembic ")]
        elif "alembic " in line:
            found.append(line[line.index("alembic "):])
    return [shlex.split(code) for code in found]


def _sluice_printed(message: str) -> list[list[str]]:
    return [shlex.split(code) for code in re.findall(r"`([^`\n]+)`", message)
            if code.startswith("sluice ")]


def _repeats(argv: list[str], ms: MsProject, x: tuple[str, ...], name: str = "alembic") -> None:
    """``argv`` names the run's alembic.ini, section and every ``-x``, before the
    subcommand."""
    assert argv[:3] == ["alembic", "-c", ms.ini_arg], argv
    words = " ".join(argv)
    assert ("-n " + name in words) == (name != "alembic"), argv
    for arg in (TENANT, *x):
        assert f"-x {arg}" in words, (arg, argv)
    last_x = max(i for i, w in enumerate(argv) if w == "-x")
    assert all(not w.startswith("-") or w in ("-c", "-n", "-x")
               for w in argv[1:last_x]), argv  # options first (-x before the subcommand)


def _refused(ms: MsProject, *x: str, name: str = "alembic") -> str:
    done = ms.alembic(*ms.options(*x, name=name), "revision", "--autogenerate", "-m", "more")
    assert done.returncode != 0, done.stdout + done.stderr
    return done.stderr


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.glob("*.py")}


def _written(ms: MsProject, folder: str, before: set[str]) -> str:
    """The text of the one revision file written in ``folder`` since ``before``, after a
    line naming its down_revision."""
    [new] = _files(ms.versions(folder)) - before
    path = ms.versions(folder) / new
    return f"down_revision = {module_value(path, 'down_revision')!r}\n" \
        + path.read_text(encoding="utf-8")


def test_the_allow_hints_of_a_refused_drop_write_it_on_the_service_branch(
        tmp_path: Path) -> None:
    ms = ms_process_project(tmp_path)
    edit(ms.project / MODELS, "    paid_at: Mapped[datetime] = mapped_column(server_default="
         "func.now())\n", "")
    edit(ms.project / "sluice.toml", 'exclude_tables = ["tmp_*"]\n',
         'exclude_tables = ["tmp_*"]\nprotected_tables = ["invoices"]\n')
    edit(ms.project / MODELS, '        sa.Enum(InvoiceStatus, name="invoice_status"), '
         'server_default="draft"\n    )\n',
         '        sa.Enum(InvoiceStatus, name="invoice_status"), '
         'server_default="draft"\n    )\n    note: Mapped[str | None] = mapped_column(String(20))\n')
    out = _refused(ms, *BILLING)
    assert "refused 2 dangerous operations" in out, out
    commands = _printed(out.split("FAILED:")[-1])
    # SL005's own step, each op's allow command, and both overrides in one command
    assert len(commands) == 4, commands
    assert {"allow=drop_column:payments.paid_at", "allow=add_column:invoices.note"} <= set(
        commands[-1])
    for argv in commands:
        _repeats(argv, ms, BILLING)
    allows = {w for argv in commands for w in argv if w.startswith("allow=")}
    assert allows == {"allow=drop_column:payments.paid_at", "allow=add_column:invoices.note"}

    first = next(a for a in commands if "allow=drop_column:payments.paid_at" in a)
    refused_again = ms.alembic(*first[1:])  # one override is not enough: the other op
    assert refused_again.returncode != 0
    assert "add_column invoices.note" in refused_again.stderr
    before = _files(ms.versions("billing"))
    everything = [*first[1:first.index("revision")], "-x", "allow=add_column:invoices.note",
                  *first[first.index("revision"):]]
    _ok(ms.alembic(*everything))
    text = _written(ms, "billing", before)
    assert "allowed drop_column:payments.paid_at" in text
    assert "allowed add_column:invoices.note" in text
    assert "down_revision = 'b0001'" in text


def test_the_rename_hint_keeps_the_drop_on_the_service_branch(tmp_path: Path) -> None:
    ms = ms_process_project(tmp_path)
    edit(ms.project / MODELS, "    paid_at: Mapped[datetime]", "    paid_on: Mapped[datetime]")
    out = _refused(ms, *BILLING)
    assert "possible rename" in out, out
    [allow] = _printed(out.split("FAILED:")[-1])
    _repeats(allow, ms, BILLING)
    assert "allow=drop_column:payments.paid_at" in allow
    before = _files(ms.versions("billing"))
    _ok(ms.alembic(*allow[1:]))
    text = _written(ms, "billing", before)
    assert "drop_column('paid_at')" in text and "paid_on" in text


@pytest.mark.parametrize("sibling", [False, True], ids=["below", "beside"])
def test_the_empty_revision_hint_writes_a_hand_written_revision_on_the_branch(
        tmp_path: Path, sibling: bool) -> None:
    ms = ms_process_project(tmp_path, sibling=sibling)
    out = _refused(ms, *BILLING)
    assert "no schema changes detected" in out, out
    [hand] = _printed(out.split("FAILED:")[-1])
    _repeats(hand, ms, BILLING)
    assert "--autogenerate" not in hand
    before = _files(ms.versions("billing"))
    _ok(ms.alembic(*hand[1:]))
    text = _written(ms, "billing", before)
    assert "down_revision = 'b0001'" in text and "op." not in text


def test_the_empty_revision_hint_of_a_section_writes_into_that_section(
        tmp_path: Path) -> None:
    ms = ms_process_project(tmp_path)
    out = _refused(ms, "env=dev", name="reporting")
    assert "no schema changes detected" in out, out
    [hand] = _printed(out.split("FAILED:")[-1])
    _repeats(hand, ms, ("env=dev",), name="reporting")
    before = {f: _files(ms.versions(f)) for f in ("reporting", "shared", "billing")}
    _ok(ms.alembic(*hand[1:]))
    text = _written(ms, "reporting", before["reporting"])
    assert "down_revision = 'r0001'" in text
    assert _files(ms.versions("shared")) == before["shared"]
    assert _files(ms.versions("billing")) == before["billing"]


def test_the_merge_hint_of_a_branch_with_two_heads_joins_them(tmp_path: Path) -> None:
    ms = ms_process_project(tmp_path)
    for rev in ("b0002a", "b0002b"):
        (ms.versions("billing") / f"{rev}.py").write_text(
            f'"""{rev}"""\nrevision = "{rev}"\ndown_revision = "b0001"\n'
            "branch_labels = None\ndepends_on = None\n\n\n"
            "def upgrade() -> None:\n    pass\n\n\ndef downgrade() -> None:\n    pass\n",
            encoding="utf-8")
    _ok(ms.alembic(*ms.options(), "upgrade", "heads"))
    edit(ms.project / MODELS, "    paid_at: Mapped[datetime]",
         "    note: Mapped[str | None] = mapped_column(String(20))\n    paid_at: Mapped[datetime]")
    out = _refused(ms, *BILLING)
    assert "branch 'billing' has 2 heads" in out, out
    message = out.split("FAILED:")[-1]
    [merge] = _printed(message)
    _repeats(merge, ms, BILLING)
    assert merge[-2:] == ["b0002a", "b0002b"], merge
    [heads] = _sluice_printed(message)
    assert heads[:2] == ["sluice", "heads"] and f"-c {ms.ini_arg}" in " ".join(heads), heads
    explained = run_cli(heads[1:], cwd=ms.cwd)
    assert explained.exit_code == 1 and "b0002a" in explained.stdout, explained.output

    before = _files(ms.versions("billing"))
    _ok(ms.alembic(*merge[1:]))
    assert "down_revision = ('b0002a', 'b0002b')" in _written(ms, "billing", before)
    _ok(ms.alembic(*ms.options(), "upgrade", "heads"))
    _ok(ms.alembic(*ms.options(*BILLING), "revision", "--autogenerate", "-m", "more"))


@pytest.mark.parametrize("sibling", [False, True], ids=["below", "beside"])
def test_the_version_path_hint_of_a_new_trunk_writes_it_there(tmp_path: Path,
                                                              sibling: bool) -> None:
    ms = ms_process_project(tmp_path, sibling=sibling)
    (ms.project / "multiservice.db").unlink()
    for folder in ("shared", "billing", "catalog"):
        for path in ms.versions(folder).glob("*.py"):
            path.unlink()
    edit(ms.project / "sluice.toml", 'tables = ["users"]', 'tables = ["nothing_yet"]')
    out = _refused(ms, "env=dev")
    assert "starts the trunk" in out, out
    [placed] = _printed(out.split("FAILED:")[-1])
    _repeats(placed, ms, ("env=dev",))
    assert "--version-path" in placed
    _ok(ms.alembic(*placed[1:]))
    [trunk] = _files(ms.versions("shared"))
    assert "op.create_table('users'" in (ms.versions("shared") / trunk).read_text()
    [billing] = _files(ms.versions("billing"))  # split off, in billing's own folder
    assert "op.create_table('invoices'" in (ms.versions("billing") / billing).read_text()


def test_a_service_revision_generated_from_beside_the_project_goes_to_its_folder(
        tmp_path: Path) -> None:
    """``-c ../ms/alembic.ini``: Alembic holds the version locations as ``.../work/../ms/...``
    and refused the service's folder given resolved ("Path ... is not represented in
    current version locations")."""
    ms = ms_process_project(tmp_path, sibling=True)
    edit(ms.project / MODELS, "    paid_at: Mapped[datetime]",
         "    note: Mapped[str | None] = mapped_column(String(20))\n    paid_at: Mapped[datetime]")
    before = _files(ms.versions("billing"))
    _ok(ms.alembic(*ms.options(*BILLING), "revision", "--autogenerate", "-m", "note"))
    assert "batch_op.add_column(sa.Column('note'" in _written(ms, "billing", before)


def test_the_service_hint_for_unowned_changes_generates_them_for_that_service(
        tmp_path: Path) -> None:
    ms = ms_process_project(tmp_path)
    edit(ms.project / "sluice.toml", 'tables = ["users"]', 'tables = ["nothing_yet"]')
    edit(ms.project / MODELS, "    email: Mapped[str]",
         "    nickname: Mapped[str | None] = mapped_column(String(20))\n    email: Mapped[str]")
    out = _refused(ms, "env=dev")
    assert "every head belongs to a service branch" in out, out
    [generate] = _printed(out.split("FAILED:")[-1])
    _repeats(generate, ms, ("env=dev", "service=NAME"))
    # step 2 of the hint: add the table to a service, then name it
    edit(ms.project / "sluice.toml", 'tables = ["invoice*", "payment*"]',
         'tables = ["invoice*", "payment*", "users"]')
    before = _files(ms.versions("billing"))
    _ok(ms.alembic(*[w.replace("service=NAME", "service=billing") for w in generate[1:]]))
    assert "batch_op.add_column(sa.Column('nickname'" in _written(ms, "billing", before)


def test_a_service_with_its_own_version_table_points_at_its_section(tmp_path: Path) -> None:
    ms = ms_process_project(tmp_path)
    edit(ms.project / MODELS, '    total: Mapped[Decimal] = mapped_column(Numeric(12, 2), '
         'server_default="0")',
         '    total: Mapped[Decimal] = mapped_column(Numeric(12, 2), server_default="0")\n'
         "    note: Mapped[str | None] = mapped_column(String(20))")
    out = _refused(ms, "service=reporting", "env=dev")
    assert "keeps its own version_table" in out, out
    message = out.split("FAILED:")[-1]
    [section] = _printed(message)
    _repeats(section, ms, ("env=dev",), name="reporting")
    assert "service=reporting" not in section
    assert section[-1] == "...", section
    before = _files(ms.versions("reporting"))
    _ok(ms.alembic(*section[1:-1], "revision", "--autogenerate", "-m", "note"))
    assert "batch_op.add_column(sa.Column('note'" in _written(ms, "reporting", before)

    found = _sluice_printed(message)
    assert [argv[1] for argv in found] == ["check", "upgrade"], found
    for argv in found:
        words = " ".join(argv)
        assert f"-c {ms.ini_arg} -n reporting" in words and "--env dev" in words, argv
        assert f"-x {TENANT}" in words and "service=" not in words, argv
    url = f"sqlite:///{ms.project / 'multiservice.db'}"
    upgraded = run_cli(found[1][1:], cwd=ms.cwd)
    assert upgraded.exit_code == 0, upgraded.output
    assert "note" in columns(url, "report_daily_sales")
    assert len(versions(url, "reporting_version")) == 1
