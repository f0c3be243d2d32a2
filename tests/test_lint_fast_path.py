"""``sluice lint`` with no option but ``--format`` and flags runs without click (the console
script's fast path); it prints the same bytes and exits with the same code as the click
command, cold, warm, after edits and on errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import SLUICE, run_process
from tests.support.lint import FAST, INDEX, project

FULL = "import sys\nfrom sluice.integrations.cli import main\nmain(sys.argv[1:])\n"


def twins(tmp_path: Path) -> tuple[Path, Path]:
    """Two copies of one project: the fast way runs in one, click in the other."""
    project(tmp_path / "fast")
    (tmp_path / "fast" / "migrations" / "versions" / "b000.py").write_text(INDEX)
    shutil.copytree(tmp_path / "fast", tmp_path / "full")
    return tmp_path / "fast", tmp_path / "full"


def both(fast: Path, full: Path, *args: str,
         edit: str | None = None) -> tuple[subprocess.CompletedProcess[str], ...]:
    """``sluice lint ARGS`` the fast way (the console script) and through click, each in
    its copy (``edit``: a revision file edited alike in both first)."""
    for root in (fast, full):
        if edit is not None:
            path = root / "migrations" / "versions" / edit
            path.write_text(path.read_text() + "\n# edited\n")
    return (run_process([SLUICE, "lint", *args], cwd=fast),
            run_process([sys.executable, "-c", FULL, "lint", *args], cwd=full))


def same(a: subprocess.CompletedProcess[str], b: subprocess.CompletedProcess[str]) -> None:
    """The same exit code and output (an absolute path names the copy it ran in)."""
    assert (a.returncode, a.stdout, a.stderr.replace("/fast/", "/full/")) \
        == (b.returncode, b.stdout, b.stderr)


@pytest.mark.parametrize("fmt", [[], ["--format", "json"], ["--format=json"],
                                 ["--no-cache"], ["--no-render", "--format", "json"],
                                 ["--all", "--all-findings", "--no-cache"],
                                 ["--show-fixes"], ["--show-fixes", "--no-cache"]])
def test_cold_warm_and_edited_lints_print_what_click_prints(tmp_path: Path,
                                                            fmt: list[str]) -> None:
    fast, full = twins(tmp_path)
    cold = both(fast, full, *fmt)
    same(*cold)
    assert cold[0].returncode == 1 and "SL201" in cold[0].stdout
    same(*both(fast, full, *fmt))
    edited = both(fast, full, *fmt, edit="b000.py")
    same(*edited)
    if fmt == ["--show-fixes"]:  # the edited revision's finding, with its fix diff
        assert "b000.py:14" in edited[0].stdout and "postgresql_concurrently=True" \
            in edited[0].stdout
        assert "not listed again" in edited[0].stdout
    elif not fmt:  # the finding, and one line naming the command that fixes it
        assert "b000.py:14" in edited[0].stdout
        assert "available fix" not in edited[0].stdout
        assert "1 finding in 1 file has a recipe: `sluice fix --diff` shows the rewrite" \
            in edited[0].stdout
    elif "json" in fmt:
        assert len(json.loads(edited[0].stdout)["revisions"]) == 3


def test_errors_print_what_click_prints(tmp_path: Path) -> None:
    fast, full = twins(tmp_path)
    for root in (fast, full):
        (root / "alembic.ini").rename(root / "other.ini")
    missing = both(fast, full)
    same(*missing)
    assert missing[0].returncode == 2 and "alembic.ini: no such file" in missing[0].stderr
    for root in (fast, full):
        (root / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/nowhere\n")
    broken = both(fast, full, "--format", "json")
    same(*broken)
    assert broken[0].returncode == 2 and broken[0].stderr.startswith("sluice: error: ")


def probe(cwd: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, object]:
    """The exit code of ``sluice ARGS`` through the console script, and whether it
    imported click."""
    report = cwd / "probe.json"
    subprocess.run([sys.executable, "-c", FAST, str(report), *args], cwd=cwd, env=env,
                   capture_output=True, check=True)
    data = json.loads(report.read_text())
    return {"exit": data["exit"], "click": "click" in data["modules"]}


def test_only_a_plain_lint_goes_without_click(tmp_path: Path) -> None:
    fast, _ = twins(tmp_path)
    assert probe(fast, "lint") == {"exit": 1, "click": False}
    assert probe(fast, "lint", "--format", "json") == {"exit": 1, "click": False}
    for flags in (["--no-cache"], ["--no-cache", "--no-render", "--format=json"],
                  ["--all-findings", "--all"], ["--show-fixes"], ["--no-show-fixes"]):
        assert probe(fast, "lint", *flags) == {"exit": 1, "click": False}, flags
    for other in (["lint", "--no-cache", "--no-cache"], ["lint", "--format", "nope"],
                  ["lint", "-c", "alembic.ini"], ["rules"], ["lint", "--format"],
                  ["lint", "--no-cache", "--since", "b000"], ["lint", "--no-cach"],
                  ["lint", "--format", "json", "--format", "text"], ["lint", "--", "x.py"],
                  ["lint", "--show-fixes", "--no-show-fixes"]):
        assert probe(fast, *other)["click"] is True, other
    for name, value in (("ALEMBIC_CONFIG", "alembic.ini"), ("SLUICE_DEBUG", "1"),
                        ("_SLUICE_COMPLETE", "")):
        env = {**os.environ, name: value}
        assert probe(fast, "lint", env=env)["click"] is True, name


def test_a_reader_that_closes_the_pipe_early_ends_both_quietly(tmp_path: Path) -> None:
    project(tmp_path / "fast", revisions=150)  # JSON larger than a pipe's buffer
    shutil.copytree(tmp_path / "fast", tmp_path / "full")
    ends = []
    for argv, cwd in (([str(SLUICE), "lint", "--format", "json"], tmp_path / "fast"),
                      ([sys.executable, "-c", FULL, "lint", "--format", "json"],
                       tmp_path / "full")):
        proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.read(1) == b"{"
        proc.stdout.close()
        ends.append((proc.wait(timeout=120), proc.stderr.read()))
        proc.stderr.close()
    assert ends[0] == ends[1]
    assert ends[0][1] == b""  # no BrokenPipeError line


TEARDOWN = """
import atexit, os, sys
end = os._exit
def quick(code):
    os.write(2, b"ended at once\\n")
    end(code)
os._exit = quick
if sys.argv[1] == "atexit":
    atexit.register(print, "atexit ran", file=sys.stderr)
sys.argv = ["sluice", "lint", *(["--show-fixes"] if sys.argv[1] == "cold" else [])]
from sluice.integrations.cli.fast import run
sys.exit(run())
"""


def test_the_console_script_ends_without_the_interpreter_teardown(tmp_path: Path) -> None:
    """A plain lint as the console script runs it (``run()`` reads the command line) ends
    the process once its output is flushed: nothing is freed one by one. With an exit
    handler registered (the cold lint drew a fix diff with Alembic, whose logging registers
    one), the process ends as usual (the handler runs)."""
    fast, _ = twins(tmp_path)
    ends = {}
    for mode in ("cold", "plain", "atexit"):
        done = subprocess.run([sys.executable, "-c", TEARDOWN, mode], cwd=fast,
                              capture_output=True, text=True)
        ends[mode] = (done.returncode, "1 error" in done.stdout, done.stderr.split("\n"))
    assert ends["cold"] == (1, True, [""])
    assert ends["plain"] == (1, True, ["ended at once", ""])
    assert ends["atexit"] == (1, True, ["atexit ran", ""])
