"""What ``sluice upgrade`` leaves out when it does not need it. A dev upgrade (no lint
guard, no confirmation, no downgrade refusal) does not load what only those guards use:
the plan, the lint guard and the static analyzer behind it, table sizes, the data-step
reader (start-up is a good part of a short upgrade's cost); production, with the lint
guard on, loads them. The plan works out a file's path as the project shows it only
for an error message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.runner import SLUICE_TOML, chain, make_project

GUARD_ONLY = ("sluice.runner.plan", "sluice.runner.lintguard", "sluice.lint.static",
              "sluice.runner.tablesizes", "sluice.runner.datasteps", "sqlite3")
#: What the lint guard alone (production with ``--yes``, a backup command on PostgreSQL)
#: loads of them: no table sizes nor data steps (the plan's details, for the
#: confirmation), no SQLite driver (a SQLite database's backup).
LINT_GUARD = ("sluice.runner.plan", "sluice.runner.lintguard", "sluice.lint.static")

PROBE = """
import sys
from sluice.integrations.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
except SystemExit as exc:
    assert not exc.code, exc.code
print("loaded:" + ",".join(m for m in {modules!r} if m in sys.modules))
"""


@pytest.mark.parametrize("args, loaded", [
    (["upgrade"], ()),
    (["upgrade", "--env", "prod", "-y"], LINT_GUARD),
])
def test_only_the_guards_load_the_plan(tmp_path: Path, args: list[str],
                                       loaded: tuple[str, ...],
                                       request: pytest.FixtureRequest) -> None:
    toml = SLUICE_TOML.replace("[environments.prod]\n",
                               "[environments.prod]\nbackup_command = 'true'\n")
    ini = make_project(tmp_path / "p", chain(2), toml=toml)
    url = str(request.getfixturevalue("pg_url"))
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(modules=GUARD_ONLY), *args, "-c", str(ini),
         "--url", url], capture_output=True, text=True, cwd=ini.parent, check=False)
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("loaded:"))
    found = [m for m in line.removeprefix("loaded:").split(",") if m]
    assert set(found) == set(loaded), found


def test_the_plan_names_a_file_only_when_it_is_not_utf8(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Each revision is checked for UTF-8 before it is planned; the path as the project
    shows it (resolved, relative: a few system calls per file) is worked out only for a
    file that fails, not for each of hundreds that do not."""
    from sluice.errors import SluiceError
    from sluice.runner import plan as plan_module
    from sluice.runner.api import make_plan

    shown: list[str] = []
    real = plan_module.display_path

    def display_path(*args: Any) -> str:
        shown.append(real(*args))
        return shown[-1]

    monkeypatch.setattr(plan_module, "display_path", display_path)
    ini = make_project(tmp_path / "p", chain(3))
    (Path(ini).parent / "app.db").touch()  # plan reads it: a missing file is exit 2
    assert [r.revision for r in make_plan(ini, with_sql=False).revisions] == [
        "r0001", "r0002", "r0003"]
    assert shown == []
    bad = ini.parent / "migrations" / "versions" / "r0002.py"
    bad.write_bytes(bad.read_bytes() + b"# caf\xe9\n")
    with pytest.raises(SluiceError, match=r"^migrations/versions/r0002\.py:\d+: byte 0xe9"):
        make_plan(ini, with_sql=False)
    assert shown == ["migrations/versions/r0002.py"]


RENDERERS = ("sluice.output.findings", "sluice.output.jsonout", "sluice.core.findings")


@pytest.mark.parametrize("fmt, loaded", [
    ("text", set()),
    ("json", {"sluice.output.jsonout", "sluice.core.findings"}),
])
def test_format_choices_load_no_renderer(tmp_path: Path, fmt: str, loaded: set[str]) -> None:
    """Every command's ``--format`` choices come from the output registry's metadata: a
    dev upgrade loads no findings renderer, JSON encoder or finding types, except the
    encoder (and the types it reads) when it writes JSON."""
    ini = make_project(tmp_path / "p", chain(2))
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(modules=RENDERERS), "upgrade", "--format", fmt,
         "-c", str(ini)],
        capture_output=True, text=True, cwd=ini.parent, check=False)
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("loaded:"))
    assert {m for m in line.removeprefix("loaded:").split(",") if m} == loaded


def test_lint_guard_selects_the_revisions_to_apply_by_their_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The production lint guard hands the lint the files of the revisions Alembic is about
    to apply: the lint builds no revision map of its own to resolve their ids, and lints
    those revisions and no others."""
    from sluice.errors import PolicyViolation
    from sluice.lint import scope
    from tests.support.runner import Rev, go, version

    built: list[int] = []
    real = scope.build_history

    def build_history(*args: Any, **kw: Any) -> Any:
        built.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(scope, "build_history", build_history)
    drop = Rev("r0004", 'op.drop_table("t0003")',
               'op.create_table("t0003", sa.Column("id", sa.Integer(), primary_key=True))')
    ini = make_project(tmp_path / "p", [*chain(3), drop])
    url = f"sqlite:///{tmp_path / 'a.db'}"
    assert go(ini, url, env="prod", yes=True, target="r0003").status == "applied"
    with pytest.raises(PolicyViolation, match="upgrade refused in prod"):
        go(ini, url, env="prod", yes=True)
    assert version(url) == ["r0003"]
    assert built == []


def test_an_upgrade_runs_with_few_garbage_collector_passes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``sluice upgrade`` runs with what start-up loaded left out of the cyclic collector's
    passes, and a pass every 50,000 allocations (hundreds of revisions loaded, few freed);
    the collector is as it was afterwards, whether the run succeeded or failed."""
    import gc

    from sluice.errors import SluiceError
    from sluice.runner import api
    from tests.support.cli import run_cli
    from tests.support.runner import version

    before = gc.get_threshold()
    seen: list[tuple[int, bool]] = []
    real = api.migrate

    def migrate(*args: Any, **kw: Any) -> Any:
        seen.append((gc.get_threshold()[0], gc.get_freeze_count() > 0))
        if len(seen) == 2:
            raise SluiceError("stopped here")
        return real(*args, **kw)

    monkeypatch.setattr(api, "migrate", migrate)
    ini = make_project(tmp_path / "p", chain(2))
    url = f"sqlite:///{tmp_path / 'a.db'}"
    res = run_cli(["upgrade", "-c", str(ini), "--url", url], catch_exceptions=False)
    assert res.exit_code == 0, res.stderr
    assert version(url) == ["r0002"]
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    res = run_cli(["upgrade", "-c", str(ini), "--url", url], catch_exceptions=False)
    assert res.exit_code != 0 and "stopped here" in res.stderr
    assert seen == [(50_000, True), (50_000, True)]
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


COUNT_PASSES = """
import gc, sys
from sluice.integrations.cli import main
passes = []
gc.callbacks.append(lambda phase, info: passes.append(1) if phase == "start" else None)
try:
    main(sys.argv[1:], standalone_mode=False)
except SystemExit as exc:
    assert not exc.code, exc.code
gc.callbacks.clear()
print(f"passes:{len(passes)}")
"""


def test_loading_alembic_and_the_revisions_costs_few_collector_passes(tmp_path: Path) -> None:
    """From the runner's imports on (Alembic, SQLAlchemy, the revisions), an upgrade makes
    a few dozen passes of the collector, not one every 700 allocations (well over a
    hundred for the imports alone)."""
    ini = make_project(tmp_path / "p", chain(20))
    done = subprocess.run([sys.executable, "-c", COUNT_PASSES, "upgrade", "-c", str(ini)],
                          capture_output=True, text=True, cwd=ini.parent, check=False)
    assert done.returncode == 0, done.stderr
    passes = int(next(x for x in done.stdout.splitlines() if x.startswith("passes:"))[7:])
    assert passes < 40, passes


def test_an_upgrade_reads_the_sluice_config_once(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """``sluice upgrade`` reads sluice.toml once: env.py's ``configure_options``, run
    twice (the probe and the upgrade), takes the configuration the runner read, while
    plain Alembic (nothing handed over) still reads the file itself."""
    from sluice import config as config_module
    from sluice.integrations import envhooks
    from sluice.runner import project as project_module
    from tests.support.runner import go, version

    read: list[str] = []
    real = config_module.load_config

    def load_config(*args: Any, **kw: Any) -> Any:
        read.append(str(args[0] if args else ""))
        return real(*args, **kw)

    monkeypatch.setattr(project_module, "load_config", load_config)
    monkeypatch.setattr(envhooks, "load_config", load_config)
    toml = SLUICE_TOML.replace("[environments.dev]\n",
                               "[environments.dev]\nexclude_tables = ['audit_*']\n")
    ini = make_project(tmp_path / "p", chain(2), toml=toml)
    url = f"sqlite:///{tmp_path / 'a.db'}"
    assert go(ini, url).status == "applied"
    assert version(url) == ["r0002"]
    assert len(read) == 1, read

    from alembic.config import Config

    plain = Config(str(ini))
    options = envhooks.configure_options(plain, environment="dev")
    assert len(read) == 2
    assert options["sluice_config"].exclude_tables == ["audit_*"]


def test_a_guarded_upgrade_hashes_what_the_plan_read(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """In production the plan reads each revision file (UTF-8 check); the audit rows take
    the file's checksum from that read instead of reading every file again. The rows
    record the SHA-256 of each file that ran."""
    import hashlib

    from sluice.runner import audit, checksums, flow
    from tests.support.runner import go, rows

    hashed: list[str] = []
    real = checksums.checksum_file

    def checksum_file(path: Any, *, raw: bool = False) -> str | None:
        hashed.append(str(path))
        return real(path, raw=raw)

    for module in (audit, flow):  # every reader of revision files' checksums
        monkeypatch.setattr(module, "checksum_file", checksum_file)
    toml = SLUICE_TOML.replace("[environments.prod]\n",
                               "[environments.prod]\nbackup_command = 'true'\n")
    ini = make_project(tmp_path / "p", chain(3), toml=toml)
    url = f"sqlite:///{tmp_path / 'a.db'}"
    assert go(ini, url, env="prod", yes=True).status == "applied"
    assert hashed == []
    versions = ini.parent / "migrations" / "versions"
    assert {(e.revision, e.checksum) for e in rows(url)} == {
        (f"r000{i}", hashlib.sha256((versions / f"r000{i}.py").read_bytes()).hexdigest())
        for i in (1, 2, 3)}
    assert go(ini, url, env="dev", target="base", direction="downgrade").status == "applied"
    assert len(hashed) == 3  # no plan in dev: the rows hash the files themselves


COMPILES = """
import re, sys
import sqlalchemy, sluice.runner.database  # what sluice.runner.capture imports first
seen = []
real = re.compile
def compile(*args, **kw):
    seen.append(sys._getframe(1).f_globals.get("__name__"))
    return real(*args, **kw)
re.compile = compile
import sluice.runner.capture
print("compiled by capture:", seen.count("sluice.runner.capture"))
"""


def test_the_statement_capture_compiles_its_patterns_when_used() -> None:
    """Where DDL is transactional nothing is captured: loading the capture module (every
    upgrade does) compiles none of the patterns that sort what a failed revision ran or
    split offline SQL."""
    done = subprocess.run([sys.executable, "-c", COMPILES], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "compiled by capture: 0" in done.stdout, done.stdout


ORDER = """
import gc
import sys
from sluice.integrations.cli.fast import MIGRATING, run
before = gc.get_threshold()
seen = []
class Watch:
    def find_spec(self, name, path=None, target=None):
        if name in ("click", "alembic.command"):
            seen.append(name)
sys.meta_path.insert(0, Watch())
try:
    run(sys.argv[1:])
except SystemExit:
    pass
print("order:" + ",".join(seen))
print("collector:" + repr((gc.get_threshold() == before, gc.get_freeze_count())))
"""


@pytest.mark.parametrize("args, first", [
    (["upgrade", "--sql", "base:head"], "alembic.command"),
    (["downgrade", "--sql", "head:base"], "alembic.command"),
    (["upgrade", "--help"], "click"),
    (["rules"], "click"),
])
def test_commands_that_migrate_import_alembic_before_click(tmp_path: Path, args: list[str],
                                                           first: str) -> None:
    """``sluice upgrade`` and the other commands that run env.py import Alembic (and
    SQLAlchemy) first, at the bottom of the call stack, as Alembic's console script does:
    imported from inside click's dispatch, their module bodies kept mapping and unmapping
    CPython's frame chunks (see ``fast._import_alembic_here``). Help and other commands
    do not load Alembic for it."""
    ini = make_project(tmp_path / "p", chain(2))
    done = subprocess.run([sys.executable, "-c", ORDER, *args, "-c", str(ini)],
                          capture_output=True, text=True, cwd=ini.parent, check=False)
    line = next(x for x in done.stdout.splitlines() if x.startswith("order:"))
    order = line.removeprefix("order:").split(",")
    assert order[0] == first, (order, done.stderr[-2000:])
    if first == "click" and args[0] == "rules":
        assert "alembic.command" not in order
    # the collector as the command found it: thresholds restored, nothing left frozen
    # (the command hands what it froze back for the passes on the way out)
    collector = next(x for x in done.stdout.splitlines() if x.startswith("collector:"))
    if args[0] in ("upgrade", "downgrade") or first == "click":
        assert collector == "collector:(True, 0)", (collector, done.stderr[-2000:])
