"""What the runner looks up once per revision or per run, done without the costly way:
applied revisions found by id in Alembic's loaded map (not resolved one by one), revision
files hashed through their file descriptor (no buffered file object each), and the lock
holder's row read as the driver's own SQL (nothing compiled) where the driver returns its
time as a time."""

from __future__ import annotations

import builtins
import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import event

from sluice.core.project import alembic_config
from sluice.runner import audit
from sluice.runner.heads import applied_revisions
from sluice.runner.lock import Holder, MigrationLock
from tests.support.runner import chain, make_project


def _script(tmp_path: Path, n: int) -> ScriptDirectory:
    ini = make_project(tmp_path / "p", chain(n))
    return ScriptDirectory.from_config(alembic_config(ini))


def test_applied_revisions_are_found_by_id(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    script = _script(tmp_path, 6)
    calls: list[str] = []
    real = ScriptDirectory.get_revision

    def get_revision(self: ScriptDirectory, id_: str) -> Any:
        calls.append(id_)
        return real(self, id_)

    monkeypatch.setattr(ScriptDirectory, "get_revision", get_revision)
    assert applied_revisions(script, ["r0004"]) == {"r0001", "r0002", "r0003", "r0004"}
    assert applied_revisions(script, []) == set()
    assert calls == []
    with pytest.raises(CommandError, match="zzzz"):  # Alembic still says what is wrong
        applied_revisions(script, ["zzzz"])
    assert calls == ["zzzz"]


def test_revision_files_are_hashed_without_a_file_object(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "r.py"
    path.write_bytes(b"revision = 'x'\n" * 10_000)
    expected = hashlib.sha256(path.read_bytes()).hexdigest()

    def no_open(*args: Any, **kw: Any) -> Any:
        raise AssertionError("a buffered file object was opened")

    monkeypatch.setattr(builtins, "open", no_open)
    assert audit.checksum_file(path) == expected
    assert audit.checksum_file(tmp_path / "missing.py") is None
    assert audit.checksum_file(tmp_path) is None  # a directory: no checksum, no error
    assert audit.checksum_file(None) is None


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
def test_the_holder_row_is_read_without_compiling(backend: str,
                                                   request: pytest.FixtureRequest) -> None:
    url = str(request.getfixturevalue("pg_url" if backend == "postgresql" else "mysql_url"))
    lock = MigrationLock(url, timeout_ms=0, holder=Holder(environment="prod",
                                                           command="sluice upgrade"))
    lock.acquire()
    try:
        assert lock.conn is not None
        compiled: list[str] = []

        def on_statement(conn: Any, cursor: Any, statement: str, parameters: Any,
                         context: Any, executemany: bool) -> None:
            if getattr(context, "compiled", None) is not None:
                compiled.append(statement)

        event.listen(lock.conn, "before_cursor_execute", on_statement)
        holder = lock.read_holder()
        assert compiled == []
        assert holder is not None
        assert replace(holder, session=None) == lock.holder
        assert holder.since is not None and holder.since.year >= 2026
        assert holder.session is not None and holder.session == lock.session_id()
    finally:
        lock.release()
