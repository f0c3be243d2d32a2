"""What the start-up shortcuts of ``sluice lint`` (stand-in modules for inspect, copy,
urllib.parse and ntpath; the process ended without the interpreter's teardown) must not
change: code a lint runs (a revision rendered, the helper module it imports) sees the
modules it would see otherwise, and the process writes, prints and exits as the click
command does."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import SLUICE, run_process
from tests.support.lint import helper_project

#: The environment of a user's shell: output to a file or pipe is block-buffered.
USER = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
#: ``sluice lint ARGS`` through the click command (the fast way steps aside for it).
CLICK = "import sys\nfrom sluice.integrations.cli import main\nmain(sys.argv[1:])\n"

HEADER = '''\
"""r{n}

Revision ID: r{n:04d}
"""
import sqlalchemy as sa
from alembic import op

import projhelp

revision = "r{n:04d}"
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
    projhelp.widen("orders_{n}")


def downgrade() -> None:
    pass
'''

#: A helper that uses each deferred module, at import and when a revision calls it.
HELPER = '''\
import copy
import dataclasses
import inspect
import types
from copy import deepcopy
from pathlib import Path, PureWindowsPath
from urllib.parse import urlparse, quote_from_bytes

import sqlalchemy as sa
from alembic import op

assert isinstance(inspect, types.ModuleType) and isinstance(copy, types.ModuleType)


@dataclasses.dataclass
class Spec:
    columns: list


def widen(table: str) -> None:
    spec = Spec(["a", "b"])
    plain = dataclasses.asdict(spec)
    params = list(inspect.signature(widen).parameters)
    host = urlparse("postgresql://u@db.example/app").hostname
    uri = Path("/tmp/a b").as_uri()
    win = str(PureWindowsPath("C:/x/y"))
    quoted = quote_from_bytes(b"a b")
    assert deepcopy(plain) == copy.copy(plain) == {"columns": ["a", "b"]}
    assert (params, host, uri, win, quoted) == (["table"], "db.example", "file:///tmp/a%20b",
                                                "C:\\\\x\\\\y", "a%20b"), (params, host, uri)
    op.add_column(table, sa.Column(plain["columns"][0], sa.Integer(), nullable=False))
'''


def helped(root: Path, revisions: int, helper: str = HELPER) -> Path:
    """A project whose ``revisions`` revisions each call a helper (so each renders)."""
    helper_project(root, "projhelp", helper)
    down = None
    for n in range(revisions):
        (root / "migrations" / "versions" / f"r{n:04d}.py").write_text(
            HEADER.format(n=n, down=down))
        down = f"r{n:04d}"
    return root


def fast_and_click(tmp_path: Path, revisions: int, *args: str,
                   helper: str = HELPER) -> tuple[subprocess.CompletedProcess[str], ...]:
    fast = helped(tmp_path / "fast", revisions, helper)
    full = tmp_path / "full"
    shutil.copytree(fast, full)
    return (run_process([SLUICE, "lint", *args], cwd=fast, env=USER),
            run_process([sys.executable, "-c", CLICK, "lint", *args], cwd=full, env=USER))


def same(a: subprocess.CompletedProcess[str], b: subprocess.CompletedProcess[str]) -> None:
    assert (a.returncode, a.stdout.replace("/fast/", "/full/"),
            a.stderr.replace("/fast/", "/full/")) == (b.returncode, b.stdout, b.stderr)


@pytest.mark.parametrize("fmt", [[], ["--format", "json"], ["--format", "sarif"],
                                 ["--format=github"]])
def test_a_rendered_helper_using_the_deferred_modules_gives_click_s_findings(
        tmp_path: Path, fmt: list[str]) -> None:
    fast, click = fast_and_click(tmp_path, 2, *fmt)
    same(fast, click)
    assert "SL" in fast.stdout and "Traceback" not in fast.stderr + fast.stdout
    assert "not rendered" not in fast.stdout.lower()


def test_revisions_rendered_in_forked_workers_give_click_s_findings(tmp_path: Path) -> None:
    """Past the pool threshold the renders run in worker processes forked from the lint
    (with its stand-ins in ``sys.modules``)."""
    from sluice.lint.pool import POOL_THRESHOLD

    fast, click = fast_and_click(tmp_path, POOL_THRESHOLD, "--format", "json")
    same(fast, click)
    assert "static-only" not in fast.stdout and "SL106" in fast.stdout


# ------------------------------------------------------------------ the end of the process

EXITING = HELPER + '''
import atexit
import os
import threading
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _append(name: str, text: str) -> None:
    with open(os.path.join(HERE, name), "a") as fh:
        fh.write(text)


def _late() -> None:
    time.sleep(0.3)
    _append("thread.log", "thread\\n")


if not os.environ.get("NO_EXIT_HOOKS"):
    atexit.register(_append, "atexit.log", "atexit\\n")
    threading.Thread(target=_late).start()
'''


def test_exit_handlers_and_threads_of_rendered_code_run_before_the_process_ends(
        tmp_path: Path) -> None:
    fast, click = fast_and_click(tmp_path, 2, helper=EXITING)
    same(fast, click)
    for root in (tmp_path / "fast", tmp_path / "full"):
        # each revision imports the helper once per process: one handler, one thread
        assert (root / "atexit.log").read_text() == "atexit\n"
        assert (root / "thread.log").read_text() == "thread\n"


def test_output_redirected_to_a_file_is_complete(tmp_path: Path) -> None:
    """A report larger than any pipe or stdio buffer, written to a file the fast way."""
    fast = helped(tmp_path / "fast", 120)
    full = tmp_path / "full"
    shutil.copytree(fast, full)
    for fmt in ([], ["--format", "json"]):
        outs = []
        for argv, root in (([SLUICE], fast), ([sys.executable, "-c", CLICK], full)):
            target = root / "out.txt"
            with open(target, "w") as fh:
                code = subprocess.run([*map(str, argv), "lint", *fmt], cwd=root, stdout=fh,
                                      stderr=subprocess.PIPE, text=True, env=USER).returncode
            outs.append((code, target.read_text()))
        assert outs[0] == outs[1] and outs[0][0] == 1 and len(outs[0][1]) > 100_000
        if fmt:
            assert len(json.loads(outs[0][1])["revisions"]) == 120


def test_a_reader_that_closes_the_pipe_early_sees_click_s_exit_code_and_no_traceback(
        tmp_path: Path) -> None:
    fast = helped(tmp_path / "fast", 120)
    full = tmp_path / "full"
    shutil.copytree(fast, full)
    script = 'set -o pipefail; {} lint | head -1; echo "exit ${{PIPESTATUS[0]}}" >&2'
    results = []
    for cmd, root in ((str(SLUICE), fast), (f"{sys.executable} -c '{CLICK}'", full)):
        for _ in range(2):  # cold, then warm (from the cache)
            done = subprocess.run(["bash", "-c", script.format(cmd)], cwd=root,
                                  capture_output=True, text=True, env=USER)
            results.append((done.stdout, done.stderr))
    assert results[:2] == results[2:]
    assert all("Traceback" not in err and "Exception ignored" not in err
               and err.endswith("exit 1\n") for _, err in results)


def test_a_clean_project_exits_0_and_writes_a_complete_cache(tmp_path: Path) -> None:
    from sluice.lint.cache import read_sealed

    clean = helped(tmp_path / "fast", 3, HELPER.replace("nullable=False", "nullable=True"))
    full = tmp_path / "full"
    shutil.copytree(clean, full)
    for _ in range(2):
        a = run_process([SLUICE, "lint", "--format", "json"], cwd=clean, env=USER)
        b = run_process([sys.executable, "-c", CLICK, "lint", "--format", "json"], cwd=full,
                        env=USER)
        same(a, b)
        assert a.returncode == 0
    import marshal

    for root in (clean, full):
        body = read_sealed(root / ".sluice_cache", "lint.cache")
        assert body is not None
        entries = marshal.loads(body)["entries"]
        assert sorted(Path(p).name for p in entries) == ["r0000.py", "r0001.py", "r0002.py"]


# ------------------------------------------------------------------ the stand-ins themselves

#: What code run by a lint may do with a deferred module, each case run in a fresh
#: interpreter with and without the stand-ins ``sluice lint`` puts in ``sys.modules``.
CASES = {
    "signature": "import inspect; out = str(inspect.signature(lambda a, b=1: None))",
    "from import": "from copy import deepcopy; out = deepcopy([1, [2]])",
    "import star": "exec('from copy import *', ns := {}); out = sorted(k for k in ns if k[0] != '_')",
    "is a module": "import types, inspect, copy, ntpath, urllib.parse as up\n"
                   "out = [isinstance(m, types.ModuleType) for m in (inspect, copy, ntpath, up)]",
    "asdict": "import dataclasses\n@dataclasses.dataclass\nclass A:\n    x: list\n"
              "out = dataclasses.asdict(A([[1]]))",
    "dataclass doc": "import dataclasses\n@dataclasses.dataclass\nclass B:\n    x: int\n"
                     "out = B.__doc__",
    "urlparse": "from urllib.parse import urlparse; out = urlparse('postgresql://u@h:5/db').port",
    "as_uri": "from pathlib import Path; out = Path('/tmp/a b').as_uri()",
    "windows path": "from pathlib import PureWindowsPath; out = str(PureWindowsPath('C:/a/b'))",
    "module file": "import inspect; out = inspect.__file__.rsplit('/', 1)[-1]",
    "reload before use": "import importlib, copy; out = importlib.reload(copy).copy([1])",
    "pickle a function": "import pickle, urllib.parse; "
                         "out = pickle.loads(pickle.dumps(urllib.parse.urlsplit)).__name__",
    "find_spec": "import importlib.util; "
                 "out = [importlib.util.find_spec(n).name for n in ('inspect', 'copy', 'ntpath')]",
    "reload after use": "import importlib, copy; copy.copy(1); out = importlib.reload(copy).__name__",
    "patch seen by importers": "import copy; copy.copy(1); import dataclasses\n"
                               "copy.deepcopy = lambda x, memo=None: 'patched'\n"
                               "@dataclasses.dataclass\nclass C:\n    x: list\n"
                               "out = dataclasses.asdict(C([1]))",
    "pickle the forwarded function": "import pickle; from urllib.parse import quote_from_bytes\n"
                                     "out = pickle.loads(pickle.dumps(quote_from_bytes))(b'a b')",
}

PROBE = """
import json, sys
if sys.argv[1] == "deferred":
    from sluice.integrations.cli import deferred
    for name, functions in (("inspect", ()), ("copy", ()), ("ntpath", ()),
                            ("urllib.parse", ("quote_from_bytes",))):
        deferred.defer(name, functions=functions)
ns = {}
try:
    exec(sys.argv[2], ns)
    out = repr(ns["out"])
except Exception as exc:
    out = "raised " + type(exc).__name__ + ": " + str(exc)
print(json.dumps(out))
"""

@pytest.mark.parametrize("case", list(CASES))
def test_code_run_by_a_lint_sees_the_deferred_modules_as_the_modules(case: str) -> None:
    def run(mode: str) -> str:
        done = subprocess.run([sys.executable, "-c", PROBE, mode, CASES[case]],
                              capture_output=True, text=True, check=True)
        return str(json.loads(done.stdout))

    plain = run("plain")
    assert not plain.startswith("raised ")
    assert run("deferred") == plain


FIND_SPEC = '''\
import importlib.util

import sqlalchemy as sa
from alembic import op

STDLIB = [importlib.util.find_spec(name).origin for name in ("copy", "ntpath")]


def widen(table: str) -> None:
    op.add_column(table, sa.Column("a", sa.Integer(), nullable=False))
'''


def test_a_helper_that_looks_up_a_deferred_module_s_spec_renders(tmp_path: Path) -> None:
    fast, click = fast_and_click(tmp_path, 1, helper=FIND_SPEC)
    assert "SL106" in click.stdout and click.returncode == 1
    same(fast, click)


STAND_INS_LEFT = """
import json, sys
from sluice.integrations.cli import fast
from sluice.integrations.cli.deferred import Deferred
if sys.argv[1] == "raise":
    import sluice.integrations.cli.lint_run as lint_run

    class Boom(BaseException):
        pass

    def broken(*args, **kwargs):
        raise Boom  # not an Exception: nothing reports it, it ends the command

    lint_run.lint_output = broken
try:
    fast.run(["lint"])
except BaseException as exc:
    outcome = type(exc).__name__
print(json.dumps([outcome, sorted(n for n, m in sys.modules.items() if isinstance(m, Deferred))]))
"""


@pytest.mark.parametrize("how", ["error", "raise"])
def test_no_stand_in_is_left_in_sys_modules_after_a_lint_that_fails(tmp_path: Path,
                                                                   how: str) -> None:
    done = subprocess.run([sys.executable, "-c", STAND_INS_LEFT, how], cwd=tmp_path,
                          capture_output=True, text=True, check=True)
    outcome, left = json.loads(done.stdout)
    assert (outcome, left) == ("SystemExit" if how == "error" else "Boom", [])


def test_the_caches_a_text_lint_writes_are_complete_when_the_process_ends(
        tmp_path: Path) -> None:
    """lint.cache, and fix.cache for the diff drawn under a recipe's finding, written by
    the console script (which ends without the interpreter's teardown) read back whole."""
    from sluice.lint.cache import read_sealed
    from tests.support.lint import INDEX, project

    project(tmp_path)
    (tmp_path / "migrations" / "versions" / "b000.py").write_text(INDEX)
    first = run_process([SLUICE, "lint", "--show-fixes"], cwd=tmp_path, env=USER)
    assert first.returncode == 1 and "available fix" in first.stdout
    cache = tmp_path / ".sluice_cache"
    for name in ("lint.cache", "fix.cache"):
        assert read_sealed(cache, name) is not None, name
    (tmp_path / "migrations" / "versions" / "b000.py").write_text(INDEX + "\n# edited\n")
    edited = run_process([SLUICE, "lint", "--show-fixes"], cwd=tmp_path, env=USER)
    assert edited.returncode == 1 and "available fix" in edited.stdout
    assert read_sealed(cache, "lint.recent") is not None


# ------------------------------------------------------------------ one pattern for the kinds

def test_the_combined_kind_pattern_picks_the_first_kind_that_matches() -> None:
    """A kind's pattern with a capturing group of its own would shift the numbering the
    combined pattern reads the kind from."""
    import itertools
    import re

    from sluice.rules import _sql

    assert _sql._kind_pattern().groups == len(_sql._KINDS)
    words = ["CREATE", "UNIQUE", "INDEX", "DROP", "TEMPORARY", "TABLE", "TABLES", "SCHEMA",
             "DATABASE", "TYPE", "MATERIALIZED", "VIEW", "TRUNCATE", "ALTER", "SYSTEM",
             "GLOBAL", "TEMP", "UNLOGGED", "TABLESPACE", "RENAME", "VACUUM", "CLUSTER", "LOCK",
             "REINDEX", "REFRESH", "UPDATE", "DELETE", "INSERT", "REPLACE", "SELECT", "WITH",
             "OPTIMIZE", "SET", "X", "INDEXES"]
    for n in (1, 2, 3):
        for combo in itertools.product(words, repeat=n):
            norm = " ".join(combo)
            loop = next((name for pattern, name in _sql._KINDS
                         if re.match(pattern + r"\b", norm)), "OTHER")
            found = _sql._kind_pattern().match(norm)
            assert (_sql._KINDS[found.lastindex - 1][1] if found and found.lastindex
                    else "OTHER") == loop, norm


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_output_to_a_full_disk_is_reported_as_an_error_not_a_traceback(tmp_path: Path) -> None:
    fast = helped(tmp_path / "fast", 2)
    full = tmp_path / "full"
    shutil.copytree(fast, full)
    for _ in range(2):  # cold, then warm (a shorter text report)
        for argv, root in (([SLUICE], fast), ([sys.executable, "-c", CLICK], full)):
            with open("/dev/full", "w") as sink:
                done = subprocess.run([*map(str, argv), "lint"], cwd=root, stdout=sink,
                                      stderr=subprocess.PIPE, text=True, env=USER)
            assert "Traceback" not in done.stderr and done.returncode == 2, done.stderr
            assert done.stderr.startswith("sluice: error: OSError: [Errno 28]")
