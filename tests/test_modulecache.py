"""Modules kept in one file between runs of ``sluice lint``
(sluice.integrations.cli.modulecache): a module served from the file is the one the import
system gives (spec, file, bytecode path, package path, source); an edited module is
imported from its file again; a file of another build, or a broken one, is ignored;
nothing is written when bytecode is not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.lint import project

#: Imports ``shapes`` (with and without the kept modules of ``argv[1]``, "-": without)
#: from the folder ``argv[2]`` and writes what the modules look like to stdout.
PROBE = '''\
import inspect, json, sys
sys.path.insert(0, sys.argv[2])
from sluice.integrations.cli import modulecache
finder = None
if sys.argv[1] != "-":
    finder = modulecache.install(sys.argv[1], packages=["shapes"])
import shapes.area, shapes.sub.deep
mods = [shapes, shapes.area, shapes.sub, shapes.sub.deep]
facts = {
    "served": sorted(finder.served) if finder else [],
    "file": [m.__file__ for m in mods],
    "cached": [m.__cached__ for m in mods],
    "path": [getattr(m, "__path__", None) for m in mods],
    "origin": [m.__spec__.origin for m in mods],
    "parent": [m.__spec__.parent for m in mods],
    "loader": [type(m.__loader__).__mro__[-2].__name__ for m in mods],
    "source": inspect.getsource(shapes.area.area),
    "value": shapes.area.area(3),
    "deep": shapes.sub.deep.WHERE,
    "doc": shapes.area.__doc__,
}
if finder is not None:
    modulecache.uninstall(finder)
print(json.dumps(facts))
'''


def _package(root: Path, factor: int = 2) -> None:
    (root / "shapes" / "sub").mkdir(parents=True, exist_ok=True)
    (root / "shapes" / "__init__.py").write_text("")
    (root / "shapes" / "area.py").write_text(
        f'"""Areas."""\n\n\ndef area(x):\n    return x * {factor}\n')
    (root / "shapes" / "sub" / "__init__.py").write_text("")
    (root / "shapes" / "sub" / "deep.py").write_text("WHERE = __name__\n")


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _probe(kept: str, folder: Path, env: dict[str, str] | None = None) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", PROBE, kept, str(folder)],
                          capture_output=True, text=True, check=True, env=env or _env())
    facts: dict[str, object] = json.loads(done.stdout)
    return facts


def test_a_kept_module_is_the_module_the_import_system_gives(tmp_path: Path) -> None:
    _package(tmp_path)
    kept = str(tmp_path / "modules.marshal")
    plain = _probe("-", tmp_path)
    first = _probe(kept, tmp_path)  # nothing kept yet: imported as usual, then kept
    assert first["served"] == [] and Path(kept).is_file()
    second = _probe(kept, tmp_path)
    assert second["served"] == ["shapes.area", "shapes.sub", "shapes.sub.deep"]
    for facts in (first, second):
        assert {k: v for k, v in facts.items() if k != "served"} == \
            {k: v for k, v in plain.items() if k != "served"}
    assert second["value"] == 6


def test_an_edited_module_is_imported_from_its_file_again(tmp_path: Path) -> None:
    _package(tmp_path)
    kept = str(tmp_path / "modules.marshal")
    _probe(kept, tmp_path)
    _package(tmp_path, factor=50)
    edited = _probe(kept, tmp_path)
    assert edited["value"] == 150
    assert "shapes.area" not in edited["served"]  # type: ignore[operator]
    again = _probe(kept, tmp_path)  # kept anew
    assert again["value"] == 150 and "shapes.area" in again["served"]  # type: ignore[operator]


def test_a_broken_or_foreign_file_is_ignored(tmp_path: Path) -> None:
    _package(tmp_path)
    kept = tmp_path / "modules.marshal"
    for content in (b"not marshal", b"\xe3garbage", b""):
        kept.write_bytes(content)
        facts = _probe(str(kept), tmp_path)
        assert facts["value"] == 6 and facts["served"] == []
    import marshal
    kept.write_bytes(marshal.dumps(("0|another build", {"shapes.area": b"x"})))
    assert _probe(str(kept), tmp_path)["served"] == []


def test_nothing_is_written_when_bytecode_is_not(tmp_path: Path) -> None:
    _package(tmp_path)
    kept = tmp_path / "modules.marshal"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    assert _probe(str(kept), tmp_path, env)["value"] == 6
    assert not kept.exists()


def test_a_warm_lint_imports_sluice_from_the_kept_file_and_prints_the_same(
        tmp_path: Path) -> None:
    ini = project(tmp_path / "p")
    kept = tmp_path / "kept.marshal"
    probe = (
        "import sys\n"
        "from sluice.integrations.cli import modulecache\n"
        "modulecache.default_path = lambda: sys.argv[1]\n"
        "from sluice.integrations.cli.fast import run\n"
        "run(['lint'])\n")
    outs = [subprocess.run([sys.executable, "-c", probe, str(kept)], cwd=ini.parent,
                           capture_output=True, text=True, env=_env())
            for _ in range(3)]
    assert kept.is_file()
    # the first run is cold (it lists every finding); the next ones are warm, the last
    # served from the file the second wrote
    assert len({(o.returncode, o.stdout, o.stderr) for o in outs[1:]}) == 1, outs
    assert outs[2].returncode == 0 and "unchanged revisions" in outs[2].stdout


#: Imports the modules named in ``argv[3:]`` with the kept modules of ``argv[1]`` from the
#: folder ``argv[2]`` and prints which were served.
SOME = '''\
import importlib, json, sys
sys.path.insert(0, sys.argv[2])
from sluice.integrations.cli import modulecache
finder = modulecache.install(sys.argv[1], packages=["shapes"])
for name in sys.argv[3:]:
    importlib.import_module(name)
modulecache.uninstall(finder)
print(json.dumps(sorted(finder.served)))
'''


def test_the_file_follows_what_runs_import(tmp_path: Path) -> None:
    """A run that imports a module the file lacks, or uses less than USED of it, leaves
    the file holding its own modules: a cold lint's extra modules are not read by every
    warm lint after it."""
    _package(tmp_path)
    for name in "abcde":
        (tmp_path / "shapes" / f"{name}.py").write_text(f"NAME = {name!r}\n")
    kept = str(tmp_path / "modules.marshal")

    def run(*names: str) -> list[str]:
        done = subprocess.run([sys.executable, "-c", SOME, kept, str(tmp_path),
                               *(f"shapes.{n}" for n in names)],
                              capture_output=True, text=True, check=True, env=_env())
        served: list[str] = json.loads(done.stdout)
        return [s.removeprefix("shapes.") for s in served]

    assert run(*"abcde") == []
    assert run(*"abcde") == list("abcde")
    assert run("a") == ["a"]  # 1 of 5 used: the file now holds a alone
    assert run("a", "b") == ["a"]  # b is new: kept with a
    assert run("a", "b") == ["a", "b"]


def test_another_installation_of_the_package_is_imported_from_its_own_files(
        tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    _package(first)
    _package(second, factor=7)
    kept = str(tmp_path / "modules.marshal")
    _probe(kept, first)
    assert _probe(kept, first)["served"] != []
    other = _probe(kept, second)  # the same names, found in another folder
    assert other["value"] == 21 and other["served"] == []
