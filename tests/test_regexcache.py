"""Regular expressions' programs kept between runs of ``sluice lint``
(sluice.integrations.cli.regexcache): a kept program builds the pattern :mod:`re` builds;
a file of another build, a broken file or a broken entry is ignored; a program this
Python assembles otherwise is not kept; nothing is written when bytecode is not."""

from __future__ import annotations

import marshal
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sluice.integrations.cli import regexcache
from tests.support.lint import project

COMPILER: Any = getattr(re, "_compiler", None)
pytestmark = pytest.mark.skipif(COMPILER is None, reason="this Python's re has no re._compiler")

#: Patterns of the kinds Sluice and the SQL parser compile: flags, named and numbered
#: groups, lookarounds, case folding, bytes, verbose layout.
PATTERNS: list[tuple[str | bytes, int]] = [
    (r"^\(*\s*[\"`]?(\w+)[\"`]?\s+IS\s+NOT\s+NULL\s*\)*$", re.I),
    (r"(?P<table>[\w$]+)\.(?P<column>\w+)(?=\s*=)", 0),
    (r"--|(?<![A-Za-z_])(?:BEGIN|CASE|END)(?![A-Za-z0-9_])|^[ \t\r]*GO[ \t\r]*$", re.I | re.M),
    (r"""(?x) ALTER \s+ TABLE \s+ (\w+)   # the table
         \s+ ADD \s+ (?:COLUMN\s+)? (\w+)""", 0),
    (rb"\x00+|[^\x00-\x7f]", 0),
    (r"café|ǅ", re.I | re.U),
]
TEXTS = ["  (Name IS NOT NULL)", "accounts.id = 1", "end\nGO\n", "CASE x",
         "alter table t add column c", "CAFÉ", "ǆ"]


def _plain(pattern: str | bytes, flags: int) -> Any:
    return COMPILER.compile(pattern, flags)


def _uses(compiled: Any) -> list[object]:
    texts = [t.encode() for t in TEXTS] if isinstance(compiled.pattern, bytes) else TEXTS
    return [[m.span() for m in compiled.finditer(t)] for t in texts]


def test_a_second_run_compiles_nothing_and_builds_the_same_patterns(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    path = str(tmp_path / "regex.marshal")
    first = regexcache.RegexCache(path)
    built = [first.compile(p, f) for p, f in PATTERNS]
    first.save()
    assert first.misses == len(PATTERNS)
    second = regexcache.RegexCache(path)
    again = [second.compile(p, f) for p, f in PATTERNS]
    assert second.misses == 0
    for (pattern, flags), one, two in zip(PATTERNS, built, again, strict=True):
        plain = _plain(pattern, flags)
        assert one == plain and two == plain  # text, flags and program
        assert (two.flags, two.groups, two.groupindex) == \
            (plain.flags, plain.groups, plain.groupindex)
        assert _uses(two) == _uses(plain)


def test_a_broken_or_foreign_file_is_ignored_and_replaced(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    pattern, flags = PATTERNS[0]
    for content in (b"\x00garbage", marshal.dumps(("0|Python 2.7", {(pattern, int(flags)): b""})),
                    b""):
        path = tmp_path / "regex.marshal"
        path.write_bytes(content)
        cache = regexcache.RegexCache(str(path))
        assert cache.compile(pattern, flags) == _plain(pattern, flags)
        assert cache.misses == 1
        cache.save()
        assert path.read_bytes() != content


def test_a_damaged_entry_is_compiled_again(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    path = tmp_path / "regex.marshal"
    cache = regexcache.RegexCache(str(path))
    for pattern, flags in PATTERNS[:3]:
        cache.compile(pattern, flags)
    cache.save()
    stamp, kept = marshal.loads(path.read_bytes())
    kept[(PATTERNS[1][0], int(PATTERNS[1][1]))] = b"\x00garbage"
    kept[(PATTERNS[2][0], int(PATTERNS[2][1]))] = marshal.dumps((0, [1, 2, 3], 0, {}, ()))  # a program _sre refuses
    path.write_bytes(marshal.dumps((stamp, kept)))
    again = regexcache.RegexCache(str(path))
    for pattern, flags in PATTERNS[:3]:
        assert again.compile(pattern, flags) == _plain(pattern, flags)
    assert again.misses == 2


def test_a_program_assembled_otherwise_is_not_kept(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """What is kept is checked against what re built: a program that builds another
    pattern (another Python's assembly) is never served."""
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    pattern, flags = PATTERNS[0]
    real = regexcache._program
    monkeypatch.setattr(regexcache, "_program",
                        lambda p, f: real(p, f & ~re.I))  # case folding lost
    path = tmp_path / "regex.marshal"
    cache = regexcache.RegexCache(str(path))
    assert cache.compile(pattern, flags) == _plain(pattern, flags)
    assert cache.misses == 0
    cache.save()
    assert not path.exists()


def test_nothing_is_written_when_bytecode_is_not(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    path = tmp_path / "regex.marshal"
    cache = regexcache.RegexCache(str(path))
    cache.compile(*PATTERNS[0])
    cache.save()
    assert cache.misses == 1 and not path.exists()


def test_sluice_lint_serves_patterns_only_while_it_runs(tmp_path: Path) -> None:
    """The console script's plain ``sluice lint`` installs the cache before its imports
    (the rules' patterns come from it, kept for the next run) and removes it when the lint
    is over."""
    project(tmp_path)
    path = tmp_path / "regex.marshal"
    probe = ("import re, sys\n"
             "from sluice.integrations.cli import regexcache\n"
             "install = regexcache.install\n"
             f"regexcache.install = lambda path=None: install({str(path)!r})\n"
             "original = re._compiler.compile\n"
             "from sluice.integrations.cli.fast import run\n"
             "try:\n    run(['lint'])\nexcept SystemExit:\n    pass\n"
             "print(re._compiler.compile is original)\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True,
                          text=True, check=True, env=env)
    assert done.stdout.splitlines()[-1] == "True"
    stamp, kept = marshal.loads(path.read_bytes())
    # a pattern the lint engine compiles at import, kept
    from sluice.core import sql

    assert (sql._PLAIN_TOKEN.pattern, sql._PLAIN_TOKEN.flags & ~re.U) in kept


def test_the_kept_patterns_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.setattr(regexcache, "LIMIT", 3)
    path = str(tmp_path / "regex.marshal")
    for n in range(3):
        cache = regexcache.RegexCache(path)
        for i in range(2):
            cache.compile(f"a{n}b{i}", 0)
        cache.save()
    assert set(regexcache.RegexCache(path).kept) == {("a2b0", 0), ("a2b1", 0)}
