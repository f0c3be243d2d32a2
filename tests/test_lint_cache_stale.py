"""A warm lint never answers from a stale cache entry: a file rewritten with the same size
in the same clock tick, its mtime put back, a deleted or added revision, a graph edit, a
configuration or ``-x`` change are all seen (each checked against a cold lint)."""

from __future__ import annotations

import marshal
import os
from pathlib import Path

import pytest

from sluice.config import parse_config
from sluice.lint.engine import lint_project
from tests.support.lint import project

# a revision whose finding depends on one word of the same length
CLEAN = "    op.execute(\"UPDATE accounts SET plan = 'free' WHERE plan IS NULL\")\n"
DIRTY = "    op.execute(\"DELETE FROM accounts                                \")\n"


def rules_seen(ini: Path, **options: object) -> list[tuple[str, str, int | None]]:
    result = lint_project(ini, **options)  # type: ignore[arg-type]
    return [(f.rule, Path(f.path or "").name, f.line) for f in result.findings]


def cold(ini: Path, **options: object) -> list[tuple[str, str, int | None]]:
    return rules_seen(ini, use_cache=False, **options)


@pytest.mark.parametrize("racy_ns", [None, 0])
def test_a_same_size_rewrite_with_its_times_put_back_is_read_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, racy_ns: int | None) -> None:
    """(``racy_ns=0``: without the clock-tick rule below, the ctime alone tells.)"""
    if racy_ns is not None:
        monkeypatch.setattr("sluice.lint.cache.RACY_NS", racy_ns)
    ini = project(tmp_path / "p", revisions=2)
    path = tmp_path / "p" / "migrations" / "versions" / "a001.py"
    assert len(CLEAN) == len(DIRTY)
    text = path.read_text()
    assert CLEAN in text
    before = os.stat(path)
    assert rules_seen(ini) == cold(ini)  # fills the cache
    path.write_text(text.replace(CLEAN, DIRTY))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # same size, same mtime
    assert os.stat(path).st_size == before.st_size
    warm = rules_seen(ini)
    assert warm == cold(ini)
    assert ("SL008", "a001.py", 16) in warm


def test_a_file_changed_in_the_clock_tick_of_the_lint_keeps_no_stamp(tmp_path: Path) -> None:
    """A file changed just before or while a lint reads it could change again within the
    same tick of a coarse clock with the same size, and so the same size and times: its
    entry is not vouched for by them (the next lint hashes the file), as git's index
    treats a racily clean file."""
    ini = project(tmp_path / "p", revisions=2)
    path = tmp_path / "p" / "migrations" / "versions" / "a001.py"
    path.write_text(path.read_text())  # just now
    assert rules_seen(ini) == cold(ini)
    stamps = {Path(p).name: e.get("stamp") for p, e in _entries(ini).items()}
    assert stamps["a001.py"] == []
    warm = lint_project(ini)
    assert (warm.cache_hits, warm.cache_misses) == (2, 0)  # found by the content's hash


def _entries(ini: Path) -> dict[str, dict[str, object]]:
    raw = (ini.parent / ".sluice_cache" / "lint.cache").read_bytes()
    data = marshal.loads(raw.partition(b"\n")[2])
    entries: dict[str, dict[str, object]] = data["entries"]
    return entries


def test_deleted_added_and_regraphed_revisions(tmp_path: Path) -> None:
    ini = project(tmp_path / "p", revisions=3)
    versions = tmp_path / "p" / "migrations" / "versions"
    assert rules_seen(ini) == cold(ini)
    (versions / "a002.py").unlink()
    assert rules_seen(ini) == cold(ini)
    (versions / "b000.py").write_text((versions / "a001.py").read_text()
                                      .replace('"a001"', '"b000"'))
    warm = lint_project(ini)
    assert [(f.rule, f.line) for f in warm.findings if (f.path or "").endswith("b000.py")] \
        == [(f.rule, f.line) for f in lint_project(ini, use_cache=False).findings
            if (f.path or "").endswith("b000.py")]
    assert any(f.rule == "SL910" or f.name.startswith("duplicate") for f in warm.findings) \
        == any(f.rule == "SL910" or f.name.startswith("duplicate")
               for f in lint_project(ini, use_cache=False).findings)
    a001 = versions / "a001.py"
    a001.write_text(a001.read_text().replace("down_revision = 'a000'", "down_revision = None"))
    assert {r.path: r.down_revision for r in lint_project(ini).revisions} \
        == {r.path: r.down_revision for r in lint_project(ini, use_cache=False).revisions}
    assert rules_seen(ini) == cold(ini)


def test_configuration_dialect_and_x_changes(tmp_path: Path) -> None:
    ini = project(tmp_path / "p", revisions=2)
    quiet = parse_config({"lint": {"disable": ["SL502"]}})
    assert rules_seen(ini) == cold(ini)
    assert rules_seen(ini, config=quiet) == cold(ini, config=quiet)
    assert not any(r == "SL502" for r, _, _ in rules_seen(ini, config=quiet))
    assert rules_seen(ini) == cold(ini)
    assert rules_seen(ini, dialects=["mysql"]) == cold(ini, dialects=["mysql"])
    x = ("url=mysql://app@db/app",)
    assert lint_project(ini, x_args=x).cache_misses == 2
    assert rules_seen(ini, x_args=x) == cold(ini, x_args=x)


def test_findings_read_back_from_the_cache_are_the_findings_that_were_stored() -> None:
    """unpack_findings fills each finding's namespace directly: the result must be what
    ``Finding(...)`` makes (same fields, same order, equal, same hash), never a finding
    that went through ``__init__`` only in one case."""
    import dataclasses

    from sluice.core.findings import Finding
    from sluice.lint import cache

    stored = [Finding("SL001", "drop-table", "error", "m", "f", "a.py", 3, "r1", "postgresql",
                      None, "reviewed"),
              Finding("SL002", "drop-column", "warning", "m2", "", "b.py", None, None, None,
                      None, None, "graph", "details\nhere")]
    back = cache.unpack_findings(cache.pack_findings(stored, "a.py"), "a.py")
    assert back == stored and [hash(f) for f in back] == [hash(f) for f in stored]
    assert [list(vars(f).items()) for f in back] == [list(vars(f).items()) for f in stored]
    assert cache._PLAIN == tuple(f.name for f in dataclasses.fields(Finding))


def test_a_few_changed_entries_are_written_beside_the_cache_not_into_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Editing a revision rewrites lint.recent (its entry), not lint.cache; past
    RECENT_LIMIT changed entries, or when a revision is gone, lint.cache is written whole
    and lint.recent removed. Every lint still answers as a cold one."""
    monkeypatch.setattr("sluice.lint.cache.RECENT_LIMIT", 2)
    monkeypatch.setattr("sluice.lint.cache.RACY_NS", 0)  # no entry restamped later
    ini = project(tmp_path / "p", revisions=4)
    versions, folder = tmp_path / "p" / "migrations" / "versions", tmp_path / "p" / ".sluice_cache"
    assert rules_seen(ini) == cold(ini)
    whole = (folder / "lint.cache").read_bytes()
    for name in ("a001.py", "a002.py"):
        path = versions / name
        path.write_text(path.read_text().replace(CLEAN, DIRTY))
        assert rules_seen(ini) == cold(ini)
        assert (folder / "lint.cache").read_bytes() == whole
        assert (folder / "lint.recent").is_file()
    warm = lint_project(ini)
    assert (warm.cache_hits, warm.cache_misses) == (4, 0)
    path = versions / "a003.py"
    path.write_text(path.read_text().replace(CLEAN, DIRTY))  # a third changed entry
    assert rules_seen(ini) == cold(ini)
    assert (folder / "lint.cache").read_bytes() != whole
    assert not (folder / "lint.recent").exists()
    path.write_text(path.read_text() + "\n")
    assert rules_seen(ini) == cold(ini)
    assert (folder / "lint.recent").is_file()
    (versions / "a003.py").unlink()  # an entry gone: written whole
    assert rules_seen(ini) == cold(ini)
    assert not (folder / "lint.recent").exists()
    assert set(Path(p).name for p in _entries(ini)) == {"a000.py", "a001.py", "a002.py"}
