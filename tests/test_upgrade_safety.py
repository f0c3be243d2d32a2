"""What a careful user relies on around ``sluice upgrade`` and ``downgrade``, whatever the
runner does to be fast: what env.py and the revisions wrote reaches its files when the
process exits, and the audit rows read back as written."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path
from typing import Any

import click
import pytest
from sqlalchemy import create_engine, text

from sluice.runner import audit, audit_bulk
from sluice.runner.result import MigrationFailed
from tests.support.cli import SLUICE, run_process
from tests.support.project import edit
from tests.support.runner import ENV_PY, Rev, chain, go, make_project, rows

# env.py and a revision write to files they never close (module globals of modules Alembic
# loads itself, not in sys.modules): the interpreter's exit frees them, and flushes the files
LEAK = """
import os as _os
_TRACE = open(_os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "..", "{name}"), "w")
_TRACE.write("{text}\\n")
"""


def _leaky_shop(shop: Path) -> Path:
    env = shop / "migrations" / "env.py"
    edit(env, "config = context.config\n", "config = context.config\n"
         + LEAK.format(name="env-trace.txt", text="env.py loaded"))
    rev = shop / "migrations" / "versions" / "0001_users_and_products.py"
    edit(rev, "from alembic import op\n", "from alembic import op\n"
         + LEAK.format(name="../rev-trace.txt", text="0001 loaded"))
    return shop / "alembic.ini"


@pytest.mark.parametrize("command", ["upgrade", "downgrade"])
def test_files_env_py_and_revisions_leave_open_are_flushed_at_exit(
        shop: Path, tmp_path: Path, command: str) -> None:
    ini = _leaky_shop(shop)
    url = f"sqlite:///{tmp_path / 'a.db'}"
    if command == "downgrade":
        run_process([SLUICE, "upgrade", "head", "-c", ini, "--url", url], check=True)
        for trace in ("env-trace.txt", "rev-trace.txt"):
            (shop / trace).unlink()
        run_process([SLUICE, "downgrade", "base", "-c", ini, "--url", url, "-y"], check=True)
    else:
        run_process([SLUICE, "upgrade", "head", "-c", ini, "--url", url], check=True)
    assert (shop / "env-trace.txt").read_text() == "env.py loaded\n"
    assert (shop / "rev-trace.txt").read_text() == "0001 loaded\n"


# the raw file made before its buffer: freed in one collector pass, the raw file is
# finalised (closed) first and the buffer's flush finds it closed (bpo-17852); plain
# ``alembic upgrade`` loses the line
RAW_FIRST = """
import io as _io
import os as _os
_RAW = open(_os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "..", "{name}"),
            "wb", buffering=0)
_TRACE = _io.TextIOWrapper(_io.BufferedWriter(_RAW))
_TRACE.write("{text}\\n")
"""


@pytest.mark.parametrize("command", ["upgrade", "downgrade"])
def test_a_file_left_open_whose_raw_file_goes_first_keeps_what_was_written(
        tmp_path: Path, command: str) -> None:
    revs = chain(2)
    revs[0].header = RAW_FIRST.format(name="../rev-trace.txt", text="r0001 loaded")
    ini = make_project(tmp_path / "p", revs, env_py=ENV_PY.replace(
        "config = context.config\n",
        "config = context.config\n" + RAW_FIRST.format(name="env-trace.txt",
                                                        text="env.py loaded")))
    url = f"sqlite:///{tmp_path / 'a.db'}"
    run_process([SLUICE, "upgrade", "-c", ini, "--url", url], check=True)
    if command == "downgrade":
        for trace in ("env-trace.txt", "rev-trace.txt"):
            (tmp_path / "p" / trace).unlink()
        run_process([SLUICE, "downgrade", "base", "-c", ini, "--url", url], check=True)
    assert (tmp_path / "p" / "env-trace.txt").read_text() == "env.py loaded\n"
    assert (tmp_path / "p" / "rev-trace.txt").read_text() == "r0001 loaded\n"


ODD_TEXTS = {
    "quotes": "it's \"x\"; '' $$ $q$ %s %(x)s :rows ? {} [] ,",
    "backslashes": "C:\\path\\to \\ \\\\ \\n \\u0041 \\\"",
    "unicode": "größe 漢字 😀 \u200b \u2028 \u2029 \ufeff é",
    "control": "tab\tnl\ncr\r\x01\x1f\x7f",
    "long": "x" * 300_000 + "ü",
    "empty": "",
}


def _odd_run(name: str, value: str) -> audit.RunRecord:
    step = audit.StepRecord(f"rev'{name}\\é", "upgrade", "prev\"ü", f"rev'{name}\\é", "c" * 64)
    step.status, step.error, step.duration_ms = "failed", value, 2_000_000_000
    step.started = dt.datetime(2026, 2, 28, 23, 59, 59, 999999)
    step.finished = dt.datetime(2026, 3, 1, 0, 0, 1)
    step.statements = {"applied": [value], "failed": value}
    return audit.RunRecord(audit.new_run_id(), value[:100], value[:255], "h", 7, value[:100],
                           [step])


def _history(conn: Any, run_id: str) -> tuple[Any, ...]:
    return tuple(conn.execute(text(
        "SELECT revision, from_revision, to_revision, direction, environment, username, via, "
        "status, started, finished, duration_ms, error, statements, checksum "
        "FROM sluice_history WHERE run_id = :r"), {"r": run_id}).one())


@pytest.mark.parametrize("name", sorted(ODD_TEXTS))
def test_the_postgresql_json_batch_reads_back_as_the_per_row_batch(
        pg_url: str, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Quotes, backslashes, text other than ASCII, control characters and long texts in
    the revision ids, error and statements: the rows the one-statement batch of psycopg 3
    writes read back as those of the per-row batch, and as given."""
    value = ODD_TEXTS[name]
    engine = create_engine(pg_url)
    try:
        with engine.connect() as conn:
            audit.ensure_table(conn)
            batched, per_row = _odd_run(name, value), _odd_run(name, value)
            assert audit_bulk.supported(conn)
            audit.insert_pending(conn, batched)
            audit.write_final(conn, batched.steps)
            with monkeypatch.context() as m:
                m.setattr(audit_bulk, "supported", lambda c: False)
                audit.insert_pending(conn, per_row)
                audit.write_final(conn, per_row.steps)
            got = _history(conn, batched.run_id)
            assert got == _history(conn, per_row.run_id)
    finally:
        engine.dispose()
    assert got[11] == value
    assert got[0] == f"rev'{name}\\é" and got[1] == "prev\"ü"
    assert got[8] == dt.datetime(2026, 2, 28, 23, 59, 59, 999999)
    assert got[10] == 2_000_000_000


def _revision_file(versions: Path, rev: str, down: Any, labels: Any = None,
                   depends: Any = None) -> None:
    (versions / f"{rev}.py").write_text(
        f'"""{rev}"""\nrevision = {rev!r}\ndown_revision = {down!r}\n'
        f"branch_labels = {labels!r}\ndepends_on = {depends!r}\n\n\n"
        "def upgrade() -> None:\n    pass\n\n\ndef downgrade() -> None:\n    pass\n",
        encoding="utf-8")


@pytest.fixture
def branchy(tmp_path: Path) -> Path:
    """Two branches merged, a labelled branch, and a second base depending on a revision
    and on a branch label."""
    ini = make_project(tmp_path / "p", [])
    versions = ini.parent / "migrations" / "versions"
    _revision_file(versions, "r1", None)
    _revision_file(versions, "r2a", "r1", labels=("left",))
    _revision_file(versions, "r2b", "r1")
    _revision_file(versions, "m", ("r2a", "r2b"))
    _revision_file(versions, "s1", None, labels=("side",), depends="r2b")
    _revision_file(versions, "s2", "s1", depends="left")
    return ini


@pytest.mark.parametrize(("heads", "applied"), [
    (["m", "s2"], {"r1", "r2a", "r2b", "m", "s1", "s2"}),
    (["s2"], {"r1", "r2a", "r2b", "s1", "s2"}),
    (["r2a", "s1"], {"r1", "r2a", "r2b", "s1"}),
    (["r1"], {"r1"}),
])
def test_applied_revisions_follow_merges_labels_and_depends_on(
        branchy: Path, heads: list[str], applied: set[str]) -> None:
    from alembic.script import ScriptDirectory  # lazy: this test only

    from sluice.core.project import alembic_config
    from sluice.runner.heads import applied_revisions

    script = ScriptDirectory.from_config(alembic_config(branchy))
    assert applied_revisions(script, heads) == applied


def test_a_version_table_revision_without_a_file_stops_the_upgrade(
        branchy: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    run_process([SLUICE, "upgrade", "heads", "-c", branchy, "--url", url], check=True)
    (branchy.parent / "migrations" / "versions" / "s2.py").unlink()
    done = run_process([SLUICE, "upgrade", "heads", "-c", branchy, "--url", url])
    assert done.returncode != 0
    assert "s2" in done.stderr


@pytest.mark.parametrize("odd", ["\x00", "\udcff"], ids=["nul", "lone-surrogate"])
def test_a_failed_revision_s_error_with_a_nul_or_a_lone_surrogate_is_recorded(
        db_url: str, tmp_path: Path, odd: str) -> None:
    """A revision whose exception text holds a character no text column takes (a NUL byte
    on PostgreSQL, a lone surrogate anywhere): the run ends as the failure of that revision
    and its audit row says why, instead of the audit write failing in turn."""
    ini = make_project(tmp_path / "p", [*chain(1), Rev(
        "r0002", f"raise RuntimeError({'bad value ' + odd + ' in row'!r})")])
    with pytest.raises(MigrationFailed, match="revision r0002 failed: RuntimeError: bad value"):
        go(ini, db_url)
    by_revision = {e.revision: e for e in rows(db_url)}
    assert by_revision["r0002"].status == "failed"
    error = by_revision["r0002"].error or ""
    assert error.startswith("RuntimeError: bad value ") and error.endswith(" in row")
    assert odd not in error


@pytest.mark.parametrize("odd", ["größe", "\x1b[31mred\x1b[0m"], ids=["non-ascii", "ansi"])
def test_progress_lines_on_an_ascii_stderr_read_as_click_writes_them(
        tmp_path: Path, odd: str) -> None:
    """stderr set to ASCII (PYTHONIOENCODING=ascii), not a terminal: a progress line whose
    revision id has text other than ASCII is written in UTF-8, and a colour code is left
    out, as click.echo writes the command's other lines (not ``\\xf6`` escapes)."""
    rev = Rev(f"r_{odd}", "pass")
    ini = make_project(tmp_path / "p", [rev])
    url = f"sqlite:///{tmp_path / 'a.db'}"
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    done = subprocess.run([str(SLUICE), "upgrade", "head", "-c", str(ini), "--url", url],
                          capture_output=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    shown = click.unstyle(f"r_{odd}").encode("utf-8")
    assert done.stderr.splitlines()[0].startswith(b"sluice: " + shown + b" done in "), done.stderr


def test_flush_left_open_flushes_writable_open_files_only(tmp_path: Path) -> None:
    from sluice.runner.leftopen import flush_left_open

    written = open(tmp_path / "w.txt", "w")  # noqa: SIM115 - left open on purpose
    written.write("kept")
    closed = open(tmp_path / "c.txt", "w")  # noqa: SIM115
    closed.close()
    (tmp_path / "r.txt").write_text("r")
    read = open(tmp_path / "r.txt")  # noqa: SIM115
    try:
        namespace = {"a": written, "b": closed, "c": read, "d": "text", "e": 1}
        assert flush_left_open([namespace, namespace]) == 1
        assert (tmp_path / "w.txt").read_text() == "kept"
        assert not written.closed
    finally:
        written.close()
        read.close()
