"""What a warm ``sluice lint`` (the console script's fast path, its cache filled, one
revision edited) loads: each case runs the command in a fresh interpreter and looks at
what is in ``sys.modules`` afterwards."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.lint import INDEX, project

PROBE = """
import json, sys
from sluice.integrations.cli.fast import run
try:
    run(sys.argv[2:])
except SystemExit as exc:
    code = exc.code
modules = sorted(sys.modules)
import dataclasses
# dataclasses writes a docstring from inspect.signature for a class without its own
generated = sorted(f"{name}.{value.__name__}" for name, module in list(sys.modules.items())
                   if name.startswith("sluice")
                   for value in list(vars(module).values())
                   if isinstance(value, type) and value.__module__ == name
                   and dataclasses.is_dataclass(value)
                   and (value.__doc__ or "").startswith(value.__name__ + "("))
with open(sys.argv[1], "w") as out:
    json.dump({"exit": code, "modules": modules, "generated": generated}, out)
"""


def warm_lint(tmp_path: Path, *argv: str) -> dict[str, Any]:
    """Lint a small project twice (the first fills the cache), edit one revision, lint
    again: what that last process had loaded."""
    root = tmp_path / "p"
    project(root)
    (root / "migrations" / "versions" / "b000.py").write_text(INDEX)
    report = tmp_path / "report.json"
    for edit in (False, True):
        if edit:
            path = root / "migrations" / "versions" / "a001.py"
            path.write_text(path.read_text() + "\n# edited\n")
        done = subprocess.run([sys.executable, "-c", PROBE, str(report), "lint", *argv],
                              cwd=root, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(report.read_text())
    assert data["exit"] == 1  # the index without CONCURRENTLY
    return data


def test_every_dataclass_a_warm_lint_builds_has_its_own_docstring(tmp_path: Path) -> None:
    """dataclasses computes the signature of a class without a docstring (with
    :mod:`inspect`) to write one."""
    assert warm_lint(tmp_path)["generated"] == []


def test_a_warm_lint_imports_neither_inspect_nor_copy_nor_urllib(tmp_path: Path) -> None:
    """dataclasses imports inspect and copy (and dis, weakref ...), pathlib urllib.parse
    (and ipaddress) and ntpath, for what a lint does not use."""
    for argv in ((), ("--format", "json")):
        modules = set(warm_lint(tmp_path / "-".join(argv), *argv)["modules"])
        assert not modules & {"inspect", "copy", "dis", "urllib.parse", "ipaddress",
                              "ntpath"}


DEFERRED = """
import json, sys
from sluice.integrations.cli import deferred
made = deferred.defer("colorsys", "json")  # json is imported already: left alone
import colorsys
before = type(colorsys).__name__, "colorsys" in sys.modules
rgb = colorsys.rgb_to_hsv(1.0, 0.0, 0.0)
real = sys.modules["colorsys"]
unused = deferred.defer("fractions")
deferred.restore(made + unused)
try:
    colorsys.no_such_name
    missing = None
except AttributeError as exc:
    missing = str(exc)
print(json.dumps({"made": [m.__name__ for m in made], "before": before, "rgb": rgb,
                  "real": type(real).__name__, "same": real.rgb_to_hsv is colorsys.rgb_to_hsv,
                  "kept": sys.modules["colorsys"] is real,
                  "fractions": "fractions" in sys.modules, "missing": missing}))
"""


FORWARDED = """
import json, sys
from sluice.integrations.cli import deferred
made = deferred.defer("email.base64mime", functions=("header_length",))
from email.base64mime import header_length
import email.base64mime
loaded = "binascii" in sys.modules, type(sys.modules["email.base64mime"]).__name__
length = header_length(b"abcd")
real = sys.modules["email.base64mime"]
deferred.restore(made)
print(json.dumps({"loaded": loaded, "length": length, "real": type(real).__name__,
                  "package": email.base64mime.header_length is real.header_length,
                  "kept": sys.modules["email.base64mime"] is real}))
"""


def test_a_forwarded_function_imports_its_module_when_called() -> None:
    done = subprocess.run([sys.executable, "-c", FORWARDED], capture_output=True, text=True,
                          check=True)
    assert json.loads(done.stdout) == {"loaded": [False, "Deferred"], "length": 8,
                                       "real": "module", "package": True, "kept": True}


def test_a_deferred_module_is_imported_on_first_use() -> None:
    done = subprocess.run([sys.executable, "-c", DEFERRED], capture_output=True, text=True,
                          check=True)
    assert json.loads(done.stdout) == {
        "made": ["colorsys"], "before": ["Deferred", True], "rgb": [0.0, 1.0, 1.0],
        "real": "module", "same": True, "kept": True, "fractions": False,
        "missing": "module 'colorsys' has no attribute 'no_such_name'"}


def test_a_warm_lint_does_not_load_openssl(tmp_path: Path) -> None:
    """The cache's hashes and MAC are BLAKE2b, which the interpreter has without
    hashlib's import of OpenSSL (``_hashlib``)."""
    modules = set(warm_lint(tmp_path)["modules"])
    assert "_blake2" in modules
    assert not modules & {"hashlib", "_hashlib", "hmac"}


def test_a_warm_lint_reads_alembic_ini_without_configparser(tmp_path: Path) -> None:
    assert "configparser" not in warm_lint(tmp_path)["modules"]


def test_a_warm_lint_of_revisions_without_suppressions_does_not_tokenize(
        tmp_path: Path) -> None:
    """Suppression comments are found with tokenize, in files that mention sluice only."""
    assert not set(warm_lint(tmp_path)["modules"]) & {"tokenize", "token"}


def test_a_warm_lint_decodes_revisions_without_the_utf_8_sig_codec(tmp_path: Path) -> None:
    """Revision files are read as ``utf-8-sig`` reads them (a leading byte order mark
    dropped), without importing that codec's module."""
    from sluice.core.source import decode_source as _decode

    assert "encodings.utf_8_sig" not in warm_lint(tmp_path)["modules"]
    bom = b"\xef\xbb\xbf"
    for raw in (b"", bom, bom + b"x = 1\n", bom + bom + b"x", bom[:2] + b"x", b"\xef",
                "caf\u00e9 \u2603\n".encode(), bom + b"\xff", b"ok\xc3"):
        try:
            expected: str | None = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            expected = None
        assert _decode(raw) == expected, raw


PACKAGE = """
import json, sys
from sluice.integrations.cli import deferred
made = deferred.defer("importlib.metadata", functions=("entry_points",))
from importlib.metadata import entry_points
before = "email" in sys.modules, type(sys.modules["importlib.metadata"]).__name__
found = [ep.name for ep in entry_points(group="console_scripts", name="sluice")]
import importlib.metadata
version = importlib.metadata.version("sqlglot")  # a submodule-using name, after loading
deferred.restore(made)
print(json.dumps({"before": before, "found": found, "version": bool(version),
                  "real": type(sys.modules["importlib.metadata"]).__name__,
                  "kept": sys.modules["importlib.metadata"] is importlib.metadata}))
"""


def test_a_deferred_package_imports_its_submodules_when_it_runs() -> None:
    """importlib.metadata (deferred while sqlglot imports ``entry_points`` from it) is a
    package: its code imports ``._adapters`` and ``._meta`` when it finally runs."""
    done = subprocess.run([sys.executable, "-c", PACKAGE], capture_output=True, text=True,
                          check=True)
    assert json.loads(done.stdout) == {"before": [False, "Deferred"], "found": ["sluice"],
                                       "version": True, "real": "module", "kept": True}


def test_a_cold_lint_that_parses_sql_does_not_import_importlib_metadata(
        tmp_path: Path) -> None:
    root = tmp_path / "p"
    project(root)
    path = root / "migrations" / "versions" / "a001.py"
    path.write_text(path.read_text().replace(
        "UPDATE accounts SET plan = 'free' WHERE plan IS NULL",
        "UPDATE accounts SET plan = lower(plan) WHERE id IN (SELECT id FROM old)"))
    report = tmp_path / "report.json"
    done = subprocess.run([sys.executable, "-c", PROBE, str(report), "lint", "--no-cache"],
                          cwd=root, capture_output=True, text=True)
    assert done.returncode in (0, 1), done.stderr
    modules = set(json.loads(report.read_text())["modules"])
    assert "sqlglot" in modules and "importlib.metadata" not in modules
