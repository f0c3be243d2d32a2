"""The dataclasses' compiled methods kept between runs of ``sluice lint``
(sluice.integrations.cli.codecache): classes built from kept code behave as classes built
from the text; a file of another build, or a broken one, is ignored; nothing is written
when bytecode is not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.lint import project

MODULE = '''\
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Point:
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()


@dataclass
class Box:
    """A box."""

    name: str
    items: list[Point] = field(default_factory=list)
    size: float = field(default=1.5, repr=False)

    def total(self) -> int:
        return sum(p.x + p.y for p in self.items)
'''

PROBE = '''\
import inspect, json, sys
sys.path.insert(0, sys.argv[2])
from sluice.integrations.cli import codecache
cache = codecache.install(sys.argv[1]) if sys.argv[1] != "-" else None
import shapes
P, B = shapes.Point, shapes.Box
facts = {
    "sig": [str(inspect.signature(c.__init__)) for c in (P, B)],
    "ann": [repr(c.__init__.__annotations__) for c in (P, B)],
    "repr": repr(B("b", [P(1, 2, ("t",))])),
    "eq": [P(1) == P(1), P(1) == P(2), B("a") == B("a"), hash(P(1)) == hash(P(1))],
    "frozen": None,
    "total": B("b", [P(1, 2), P(3)]).total(),
    "code": [c.__init__.__code__.co_filename for c in (P, B)],
}
try:
    P(1).x = 2
except Exception as exc:
    facts["frozen"] = type(exc).__name__
if cache is not None:
    codecache.uninstall(cache)
    facts["misses"] = cache.misses
print(json.dumps(facts))
'''


def _probe(tmp_path: Path, cache: str, *, env: dict[str, str] | None = None) -> dict[str, object]:
    (tmp_path / "mods").mkdir(exist_ok=True)
    (tmp_path / "mods" / "shapes.py").write_text(MODULE)
    env = env if env is not None else {k: v for k, v in os.environ.items()
                                       if k != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run([sys.executable, "-c", PROBE, cache, str(tmp_path / "mods")],
                          capture_output=True, text=True, check=True, env=env)
    facts: dict[str, object] = json.loads(done.stdout)
    return facts


def test_a_second_run_compiles_nothing_and_builds_the_same_classes(tmp_path: Path) -> None:
    path = tmp_path / "code.marshal"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    plain = _probe(tmp_path, "-", env=env)
    first = _probe(tmp_path, str(path), env=env)
    second = _probe(tmp_path, str(path), env=env)
    assert first.pop("misses") > 0 and path.exists()
    assert second.pop("misses") == 0
    assert plain == first == second
    assert plain["frozen"] == "FrozenInstanceError" and plain["code"] == ["<string>"] * 2
    assert plain["repr"] == "Box(name='b', items=[Point(x=1, y=2, tags=('t',))])"


def test_a_broken_or_foreign_file_is_ignored_and_replaced(tmp_path: Path) -> None:
    import marshal

    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    plain = _probe(tmp_path, "-", env=env)
    for content in (b"\x00garbage", marshal.dumps(("Python 2.7|0", {})), b""):
        path = tmp_path / "code.marshal"
        path.write_bytes(content)
        again = _probe(tmp_path, str(path), env=env)
        assert again.pop("misses") > 0
        assert again == plain
        assert path.read_bytes() != content


def test_nothing_is_written_when_bytecode_is_not(tmp_path: Path) -> None:
    path = tmp_path / "code.marshal"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    facts = _probe(tmp_path, str(path), env=env)
    assert facts["misses"] and not path.exists()


def test_sluice_lint_serves_dataclasses_only_while_it_runs(tmp_path: Path) -> None:
    """The console script's plain ``sluice lint`` installs the cache before its imports
    (its dataclasses come from it) and removes it when the lint is over."""
    project(tmp_path)
    path = tmp_path / "code.marshal"
    probe = ("import dataclasses, sys\n"
             "from sluice.integrations.cli import codecache\n"
             "install = codecache.install\n"
             f"codecache.install = lambda path=None: install({str(path)!r})\n"
             "from sluice.integrations.cli.fast import run\n"
             "try:\n    run(['lint'])\nexcept SystemExit:\n    pass\n"
             "print('exec' in vars(dataclasses))\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True,
                          text=True, check=True, env=env)
    assert done.stdout.splitlines()[-1] == "False"
    assert b"__create_fn__" in path.read_bytes()  # the texts dataclasses wrote, compiled


def test_two_commands_that_build_different_classes_keep_each_others_code(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`sluice lint` and `sluice upgrade` share the file: one command's save must not drop
    what the other compiled (else each would compile again after the other ran)."""
    from sluice.integrations.cli.codecache import CodeCache

    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    path = str(tmp_path / "code.marshal")
    lint_like = ["def a(self): return 1\n", "def b(self): return 2\n"]
    upgrade_like = ["def c(self): return 3\n"]
    for sources in (lint_like, upgrade_like):
        cache = CodeCache(path)
        for src in sources:
            cache.exec(src, {})
        cache.save()
    again = CodeCache(path)
    for src in lint_like + upgrade_like:
        again.exec(src, {})
    assert again.misses == 0


def test_the_kept_code_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sluice.integrations.cli import codecache

    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.setattr(codecache, "LIMIT", 3)
    path = str(tmp_path / "code.marshal")
    for n in range(3):
        cache = codecache.CodeCache(path)
        for i in range(2):
            cache.exec(f"def f{n}_{i}(self): return {i}\n", {})
        cache.save()
    kept = codecache.CodeCache(path).kept
    assert set(kept) == {"def f2_0(self): return 0\n", "def f2_1(self): return 1\n"}


def test_only_the_code_of_the_texts_executed_is_read(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Each text's code is read back when that text runs: a text nobody runs costs
    nothing, a damaged one is compiled again."""
    import marshal

    from sluice.integrations.cli import codecache

    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    path = tmp_path / "code.marshal"
    good, bad, other = ("def f(self): return 1\n", "def g(self): return 2\n",
                        "def h(self): return 3\n")
    cache = codecache.CodeCache(str(path))
    for src in (good, bad, other):
        cache.exec(src, {})
    cache.save()
    stamp, kept = marshal.loads(path.read_bytes())
    kept[bad] = b"\x00garbage"
    kept[other] = marshal.dumps(42)  # marshal data that is not code
    path.write_bytes(marshal.dumps((stamp, kept)))
    again = codecache.CodeCache(str(path))
    space: dict[str, object] = {}
    again.exec(good, space)
    assert again.misses == 0
    for src in (bad, other):
        again.exec(src, space)
    assert again.misses == 2
    assert {"f", "g", "h"} <= set(space)
