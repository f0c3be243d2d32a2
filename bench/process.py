"""Benchmark: the commands a user types, as whole processes, side by side with Alembic.

Each case times one ``sluice`` command line and the plain Alembic command line that does
the same work (the anchor), as child processes: CPU time (user + system) of the child and
everything it waited for, from ``getrusage(RUSAGE_CHILDREN)`` before and after. The two
sides alternate (ABBA order) ``--repeat`` times after one untimed run of each, so load
from other processes hits both alike; the medians and their ratio are printed. Output
goes to a pipe that the benchmark reads, as in CI. Children run with bytecode caching on
(``PYTHONDONTWRITEBYTECODE`` removed), as an installed Sluice and Alembic run for users.

Cases, for each lint history (a synthetic one of ``--revisions`` revisions each, and the
public history of pypi/warehouse, 288 revisions):

- ``lint-cold``: ``sluice lint --no-cache`` (the project's dialect, PostgreSQL, from
  ``sqlalchemy.url``) vs ``alembic upgrade head --sql``. Goal: <= 0.5x.
- ``lint-warm``: ``sluice lint`` with its cache, after editing one revision (a comment
  appended before each run, outside the timing) vs the same anchor. Goal: <= 0.1x.
- ``lint-warm-call``: the same, but the edit renames a call that ``sluice fix`` rewrites
  (an index or constraint created plainly; a new name before each run), as after a user's
  edit to the call. Goal: <= 0.1x. With ``--show-fixes`` the timed lint draws that call's
  diff anew under its finding (the opt-in text output: the recipes run, importing Alembic
  and SQLAlchemy).

And once each:

- ``lint-one``: ``sluice lint`` on a one-revision project vs ``alembic --help``.
  Goal: <= 1.1x.
- ``upgrade-sqlite`` / ``upgrade-postgresql``: ``sluice upgrade`` in the ``dev``
  environment vs ``alembic upgrade head`` on ``--upgrade-revisions`` revisions (a table and
  an index each), each run on a fresh database created outside the timed part.
  Goal: <= 1.05x. PostgreSQL from ``--pg-url`` (default ``$SLUICE_TEST_POSTGRES_URL``);
  skipped when unset or unreachable.
- ``upgrade-prod-sqlite`` / ``upgrade-prod-postgresql``: ``sluice upgrade --env prod -y``
  (the lint guard over every revision, its cache filled by the untimed run, as in a CI
  checkout that keeps ``.sluice_cache``; the backup is the no-op command ``true``, so its
  time is left out) vs the same ``alembic upgrade head``. Goal: <= 1.15x.
- ``check-sqlite`` / ``check-postgresql``: ``sluice check --only graph,upgrade,drift`` on a
  fresh database vs ``alembic upgrade head`` then ``alembic check`` on another fresh one
  (the same work: the history loads, upgrades from empty, and the models match the
  result), on ``bench/bench_check.py``'s ``--check-revisions`` revision project (a table,
  an index and a foreign key each, a column added every fourth). Goal: <= 1.2x.
- ``services-scoped``: ``alembic revision --autogenerate -x service=billing`` under
  Sluice (only billing's tables are reflected) vs plain ``alembic revision
  --autogenerate`` over the whole database, on ``bench/bench_services.py``'s project (4
  services x 40 tables, SQLite). Goal: <= 1.0x. ``services-split``: the same command
  without ``-x service``, split into one revision per service with every policy, vs the
  plain command. Goal: <= 1.3x. ``graph``: ``sluice graph`` vs ``alembic history`` on
  400 revisions. Goal: <= 1.5x. Files a run writes are removed before the next.

The synthetic history (``bench/bench_lint.py``'s generator: tables, columns with and
without defaults, indexes, some concurrently, type changes, renames, drops, raw SQL data
fixes, seeds, batch blocks, constraints) is written under ``bench/_work/process`` (or
``$SLUICE_BENCH_WORK``, so that two benchmarks can run side by side). The
public history is extracted from a local mirror of pypi/warehouse at the commit pinned in
``bench/corpus.toml`` (``git archive``, never committed); when the mirror is missing the
benchmark prints the ``git clone`` command that gets it and skips that history. Its own
env.py needs the application, so the benchmark gives it an offline-only env.py; reads
through ``op.get_bind()`` print their SQL and return no rows, and the three revisions
Alembic still cannot render offline are skipped with a comment in the SQL. Two packages
it imports are stood in on ``PYTHONPATH`` for both sides: ``warehouse.utils.db.types``
and ``alembic_postgresql_enum`` (its ``sync_enum_values`` op emits the ALTER TYPE
statements).

``--instructions`` adds, after the timed runs of a case, one run of each side under
``valgrind --tool=callgrind`` (``PYTHONHASHSEED=0``, child processes traced and added,
prepared as the timed runs are: a fresh database, an edited revision): the instructions
each side executed and their ratio, a figure that other load on the machine does not
move (CPU time does; instructions do not show what load adds, such as system time and
cache misses). It needs ``valgrind`` on ``PATH``; each run takes about a minute.

``--phases N`` adds, after the timed runs of a case, N more runs of each side with
``bench/phase_hook`` on ``PYTHONPATH``: the CPU time spent inside the process up to each
of a few points of Alembic and Sluice (env.py's run, the migration loop, the probe, the
lock, the audit rows), medians printed per side (``bench/phases.py``). It says where a
whole-process difference lies; the hook's own cost is in these runs, not in the timed ones.

Run: ``.venv/bin/python bench/process.py`` (``--cases lint-one,upgrade-sqlite``,
``--revisions 300,3000``, ``--repeat 5``, ``--no-public``, ``--lint-format json`` to time
``sluice lint --format json`` as CI reads it, ``--show-fixes`` to time ``sluice lint
--show-fixes``, ``--markdown`` for the table the docs show,
``--instructions`` for the instruction counts, ``--phases 3`` for where the time goes).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORK = Path(os.environ.get("SLUICE_BENCH_WORK") or BENCH / "_work" / "process")
BIN = Path(sys.executable).parent
sys.path[:0] = [str(BENCH), str(ROOT)]

import bench_public  # noqa: E402
import phases  # noqa: E402

GOALS = {"lint-cold": 0.5, "lint-warm": 0.1, "lint-warm-call": 0.1, "lint-one": 1.1,
         "upgrade-sqlite": 1.05,
         "upgrade-postgresql": 1.05, "upgrade-prod-sqlite": 1.15,
         "upgrade-prod-postgresql": 1.15, "check-sqlite": 1.2, "check-postgresql": 1.2,
         "services-scoped": 1.0, "services-split": 1.3, "graph": 1.5}
CASES = tuple(GOALS)


class CaseFailed(Exception):
    """A command exited with an unexpected code; the case is reported and skipped."""


@dataclass
class Side:
    """One command line, how to prepare each run, and its CPU seconds per run."""

    argv: list[str]
    cwd: Path
    env: dict[str, str]
    ok: tuple[int, ...] = (0,)
    before: Callable[[], AbstractContextManager[object]] = nullcontext
    cpu: list[float] = field(default_factory=list)
    #: Command lines run after ``argv`` in the same timing (``a && b``).
    then: list[list[str]] = field(default_factory=list)
    #: How the command is shown, when ``argv`` holds a per-run value.
    display: str = ""

    def shown(self) -> str:
        if self.display:
            return self.display
        return " && ".join(" ".join(Path(a).name if i == 0 else a for i, a in enumerate(argv))
                           for argv in (self.argv, *self.then))

    def run(self, timed: bool = True) -> None:
        with self.before():
            start = resource.getrusage(resource.RUSAGE_CHILDREN)
            for argv in (self.argv, *self.then):
                done = subprocess.run(argv, cwd=self.cwd, env=self.env,
                                      stdin=subprocess.DEVNULL, capture_output=True)
                if done.returncode not in self.ok:
                    raise CaseFailed(f"`{self.shown()}` in {self.cwd} exited "
                                     f"{done.returncode}:\n"
                                     f"{done.stderr.decode(errors='replace')[-2000:]}")
            end = resource.getrusage(resource.RUSAGE_CHILDREN)
        if timed:
            self.cpu.append(end.ru_utime - start.ru_utime + end.ru_stime - start.ru_stime)

    def phases(self, runs: int) -> list[tuple[str, float]]:
        """``runs`` runs with the phase hook, prepared as timed ones; the median CPU ms
        reaching each point (:mod:`phases`)."""
        env = {**self.env, "SLUICE_BENCH_PHASES": "1",
               "PYTHONPATH": os.pathsep.join(p for p in (str(phases.HOOK),
                                                         self.env.get("PYTHONPATH")) if p)}
        found = []
        for _ in range(runs):
            with self.before():
                done = subprocess.run(self.argv, cwd=self.cwd, env=env, text=True,
                                      stdin=subprocess.DEVNULL, capture_output=True)
            if done.returncode not in self.ok:
                raise CaseFailed(f"`{self.shown()}` with the phase hook exited "
                                 f"{done.returncode}:\n{done.stderr[-2000:]}")
            points = phases.parse(done.stderr)
            if points is None:
                raise CaseFailed(f"`{self.shown()}` wrote no phases")
            found.append(points)
        return phases.summarize(found)

    def instructions(self) -> int:
        """One run under callgrind, prepared as a timed one: the instructions executed by
        the command lines and every process they start."""
        with self.before():
            total = 0
            for argv in (self.argv, *self.then):
                count, code, err = instructions(argv, self.cwd, self.env)
                if code not in self.ok:
                    raise CaseFailed(f"`{self.shown()}` under callgrind in {self.cwd} exited "
                                     f"{code}:\n{err[-2000:]}")
                total += count
        return total


#: ``==PID== Collected : N`` in callgrind's log of one process.
_COLLECTED = re.compile(r"^==\d+== Collected : (\d+)$", re.M)


def callgrind_counts(argv: list[str], cwd: Path,
                     env: dict[str, str]) -> tuple[list[int], int, str]:
    """``argv`` run once under ``valgrind --tool=callgrind``: the instructions executed by
    each program it ran (itself and every process it starts, each program image an exec
    loads writing its own log), its exit code and its standard error.
    ``PYTHONHASHSEED=0`` makes Python's runs repeatable."""
    if shutil.which("valgrind") is None:
        raise CaseFailed("--instructions needs valgrind on PATH (Debian: apt install valgrind)")
    with tempfile.TemporaryDirectory(prefix="sluice-callgrind-") as tmp:
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", "--trace-children=yes",
             f"--callgrind-out-file={tmp}/out.%p.%n", f"--log-file={tmp}/log.%p.%n", *argv],
            cwd=cwd, env={**env, "PYTHONHASHSEED": "0"}, stdin=subprocess.DEVNULL,
            capture_output=True)
        counts = [int(m.group(1)) for log in sorted(Path(tmp).glob("log.*"))
                  for m in _COLLECTED.finditer(log.read_text(errors="replace"))]
    stderr = done.stderr.decode(errors="replace")
    if not counts:
        raise CaseFailed(f"callgrind counted nothing for `{' '.join(argv)}`:\n{stderr[-2000:]}")
    return counts, done.returncode, stderr


def instructions(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, int, str]:
    """What :func:`callgrind_counts` gives, the counts added up."""
    counts, code, stderr = callgrind_counts(argv, cwd, env)
    return sum(counts), code, stderr


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.pop("NO_COLOR", None)
    env.update(extra)
    return env


#: Set by ``--instructions``: each case also counts one run of each side under callgrind.
COUNT_INSTRUCTIONS = False
#: Set by ``--phases N``: each case also runs each side N times with the phase hook.
PHASE_RUNS = 0
#: Set by ``--show-fixes``: flags added to every timed ``sluice lint``.
LINT_FLAGS: list[str] = []


def compare(case: str, label: str, sluice: Side, anchor: Side, repeat: int) -> dict[str, object]:
    """Untimed run of each, then ABBA-interleaved timed runs (and, with
    ``--instructions``, one counted run of each); prints the result."""
    counted: tuple[int, int] | None = None
    try:
        anchor.run(timed=False)
        sluice.run(timed=False)
        for i in range(repeat):
            for side in ((anchor, sluice) if i % 2 == 0 else (sluice, anchor)):
                side.run()
        if COUNT_INSTRUCTIONS:
            counted = (sluice.instructions(), anchor.instructions())
        inside = (sluice.phases(PHASE_RUNS), anchor.phases(PHASE_RUNS)) if PHASE_RUNS else None
    except CaseFailed as exc:
        print(f"{case:<23} {label:<36} FAILED: {exc}", flush=True)
        return {"case": case, "history": label, "failed": str(exc)}
    s, a = statistics.median(sluice.cpu), statistics.median(anchor.cpu)
    goal = GOALS[case]
    verdict = "met" if s / a <= goal else "NOT met"
    print(f"{case:<23} {label:<36} {s * 1000:8.0f} ms {a * 1000:8.0f} ms {s / a:6.2f}x"
          f"  goal <= {goal}x: {verdict}", flush=True)
    print(f"{'':<23}   sluice: {sluice.shown()}\n{'':<23}   anchor: {anchor.shown()}",
          flush=True)
    result: dict[str, object] = {
        "case": case, "history": label, "sluice_ms": s * 1000, "anchor_ms": a * 1000,
        "ratio": s / a, "goal": goal, "sluice": sluice.shown(), "anchor": anchor.shown(),
        "runs": len(sluice.cpu)}
    if counted is not None:
        result["sluice_instructions"], result["anchor_instructions"] = counted
        print(f"{'':<23}   instructions: sluice {counted[0] / 1e9:.3f} G, anchor "
              f"{counted[1] / 1e9:.3f} G, {counted[0] / counted[1]:.3f}x", flush=True)
    if inside is not None:
        result["sluice_phases"], result["anchor_phases"] = inside
        print(f"{'':<23}   CPU ms to each point, median of {PHASE_RUNS} runs with the hook:\n"
              f"{'':<23}   sluice: {phases.render(inside[0])}\n"
              f"{'':<23}   anchor: {phases.render(inside[1])}", flush=True)
    return result


# --------------------------------------------------------------------------- lint


def lint_cases(root: Path, label: str, cases: list[str], repeat: int,
               env: dict[str, str], fmt: str = "text") -> list[dict[str, object]]:
    anchor = [str(BIN / "alembic"), "upgrade", "head", "--sql"]
    lint = [str(BIN / "sluice"), "lint", *(["--format", fmt] if fmt != "text" else []),
            *LINT_FLAGS]
    results = []
    if "lint-cold" in cases:
        results.append(compare("lint-cold", label,
                               Side([*lint, "--no-cache"], root, env, ok=(0, 1)),
                               Side(anchor, root, env), repeat))
    for case in ("lint-warm", "lint-warm-call"):
        if case in cases:
            results.append(warm_case(case, root, label, lint, anchor, repeat, env))
    return results


#: The first call of a revision that a recipe rewrites on PostgreSQL when written plainly
#: (no ``postgresql_concurrently``, no ``postgresql_not_valid``): its name, the first
#: string literal, is what ``lint-warm-call`` edits.
_FIXABLE_CALL = re.compile(
    r"(op\.create_(?:index|foreign_key|unique_constraint|check_constraint)\(\s*)"
    r"([\"'])(\w+)\2")


def warm_case(case: str, root: Path, label: str, lint: list[str], anchor: list[str],
              repeat: int, env: dict[str, str]) -> dict[str, object]:
    """``lint-warm``: a comment appended to a revision before each run. ``lint-warm-call``:
    the name in a call that ``sluice fix`` rewrites changed before each run (a new name each
    time), so the text output draws that call's diff anew, as after a user's edit."""
    versions = sorted((root / "migrations" / "versions").glob("*.py"))
    ordered = versions[len(versions) // 2:] + versions[:len(versions) // 2]
    if case == "lint-warm":
        candidates = ordered[:1]
    else:
        candidates = [v for v in ordered if _FIXABLE_CALL.search(v.read_text())]
    edits = iter(range(1, 100_000))
    history = f"{label}, 1 edited" if case == "lint-warm" else f"{label}, 1 call edited"
    for victim in candidates:
        original = victim.read_text()

        def edited(text: str = original) -> str:
            n = next(edits)
            if case == "lint-warm":
                return text + f"\n# edited {n}\n"
            return _FIXABLE_CALL.sub(lambda m: f"{m[1]}{m[2]}{m[3]}_e{n}{m[2]}", text, count=1)

        @contextmanager
        def edit_one(victim: Path = victim, edited: Callable[[], str] = edited) -> Iterator[None]:
            victim.write_text(edited())
            yield

        try:
            if case == "lint-warm-call" and not _draws_fix(lint, root, env, victim, edited()):
                continue  # no recipe for this call here (written concurrently, say)
            shutil.rmtree(root / ".sluice_cache", ignore_errors=True)
            warm = Side(lint, root, env, ok=(0, 1), before=edit_one)
            warm.run(timed=False)  # fills the cache
            return compare(case, history, warm, Side(anchor, root, env), repeat)
        except CaseFailed as exc:
            print(f"{case:<23} {label:<36} FAILED: {exc}", flush=True)
            return {"case": case, "history": history, "failed": str(exc)}
        finally:
            victim.write_text(original)
    print(f"{case:<23} {label:<36} skipped: no revision has a call that sluice fix rewrites",
          flush=True)
    return {"case": case, "history": history, "failed": "no revision with a fixable call"}


def _draws_fix(lint: list[str], root: Path, env: dict[str, str], victim: Path,
               text: str) -> bool:
    """Whether the text lint, with ``victim`` holding ``text``, draws a fix diff for it."""
    victim.write_text(text)
    done = subprocess.run([*[a for a in lint if a not in ("--format", "json", "--show-fixes")],
                           "--no-cache", "--show-fixes", str(victim)], cwd=root, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True)
    return "available fix (sluice fix)" in done.stdout


def synthetic(count: int) -> Path:
    from bench_lint import generate

    root = WORK / f"synthetic{count}"
    generate(root, count, failures=False)
    (root / "sluice.toml").unlink()  # the dialect comes from sqlalchemy.url: postgresql
    return root


def one_revision(repeat: int, fmt: str = "text") -> dict[str, object]:
    root = synthetic(1)
    env = child_env()
    lint = [str(BIN / "sluice"), "lint", *(["--format", fmt] if fmt != "text" else []),
            *LINT_FLAGS]
    return compare("lint-one", "1 revision",
                   Side(lint, root, env, ok=(0, 1)),
                   Side([str(BIN / "alembic"), "--help"], root, env), repeat)


# --------------------------------------------------------------------------- upgrade


def upgrade_case(dialect: str, url: str | None, revisions: int, repeat: int,
                 prod: bool = False) -> dict[str, object] | None:
    from tests.support.runner import SLUICE_TOML, chain, make_project

    case = f"upgrade-{'prod-' if prod else ''}{dialect}"
    root = WORK / case
    shutil.rmtree(root, ignore_errors=True)
    toml = SLUICE_TOML.replace("[environments.prod]\n",
                               "[environments.prod]\nbackup_command = 'true'\n")
    ini = make_project(root, chain(revisions), toml=toml)
    template = ini.read_text()
    if not reachable(case, dialect, url):
        return None

    @contextmanager
    def fresh_database() -> Iterator[None]:
        with fresh_url(dialect, url, root / "app.db") as db_url:
            ini.write_text(template.replace("sqlite:///%(here)s/app.db",
                                            db_url.replace("%", "%%")))
            yield

    env = child_env()
    command = ["upgrade", "--env", "prod", "-y"] if prod else ["upgrade"]
    name = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[dialect]
    return compare(case, f"{revisions} revisions, {name}, {'prod' if prod else 'dev'}",
                   Side([str(BIN / "sluice"), *command], root, env, before=fresh_database),
                   Side([str(BIN / "alembic"), "upgrade", "head"], root, env,
                        before=fresh_database), repeat)


# --------------------------------------------------------------------------- check


@contextmanager
def fresh_url(dialect: str, server: str | None, path: Path) -> Iterator[str]:
    """An empty database (a new SQLite file at ``path``, or a new database on ``server``),
    made and dropped outside the timing."""
    if dialect == "sqlite":
        path.unlink(missing_ok=True)
        sqlite3.connect(path).close()
        yield f"sqlite:///{path}"
        return
    from sluice.scratch import scratch_database

    with scratch_database(server, prefix="sluice_bench") as u:
        yield u.render_as_string(hide_password=False)


def reachable(case: str, dialect: str, url: str | None) -> bool:
    if dialect != "postgresql":
        return True
    from sluice.scratch import check_reachable

    try:
        check_reachable(url or "")
    except Exception as exc:
        print(f"{case} skipped: {exc}", flush=True)
        return False
    return True


def check_case(dialect: str, url: str | None, revisions: int,
               repeat: int) -> dict[str, object] | None:
    """``sluice check --only graph,upgrade,drift`` vs ``alembic upgrade head`` then
    ``alembic check``, each on a fresh database."""
    import bench_check

    case = f"check-{dialect}"
    if not reachable(case, dialect, url):
        return None
    ini = bench_check.generate(revisions)
    root = ini.parent
    template = ini.read_text()
    sluice = Side([str(BIN / "sluice"), "check", "--only", "graph,upgrade,drift",
                   "--url", ""], root, child_env(),
                  display="sluice check --only graph,upgrade,drift --url URL")

    @contextmanager
    def for_sluice() -> Iterator[None]:
        with fresh_url(dialect, url, root / "sluice.db") as db_url:
            sluice.argv[-1] = db_url
            yield

    @contextmanager
    def for_alembic() -> Iterator[None]:
        with fresh_url(dialect, url, root / "alembic.db") as db_url:
            ini.write_text(template.replace("sqlite:///%(here)s/unused.db",
                                            db_url.replace("%", "%%")))
            yield

    sluice.before = for_sluice
    name = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[dialect]
    return compare(case, f"{revisions} revisions, {name}", sluice,
                   Side([str(BIN / "alembic"), "upgrade", "head"], root, child_env(),
                        before=for_alembic, then=[[str(BIN / "alembic"), "check"]]), repeat)


# --------------------------------------------------------------------------- services


def services_cases(cases: list[str], repeat: int) -> list[dict[str, object]]:
    """Autogenerate scoped to a service and split per service, under Sluice's policies,
    vs plain autogenerate; ``sluice graph`` vs ``alembic history``."""
    import bench_services

    results: list[dict[str, object]] = []
    services = bench_services.SERVICES[:4]
    root = WORK / "services"
    bench_services.build_project(root, services, 40)
    versions = root / "migrations" / "versions"
    baseline = set(versions.rglob("*.py"))

    @contextmanager
    def clean() -> Iterator[None]:
        for path in set(versions.rglob("*.py")) - baseline:
            path.unlink()
        yield

    env = child_env()
    alembic = str(BIN / "alembic")
    first = services[0]
    plain = [alembic, "-x", "plain=1", "revision", "--autogenerate", "-m", "bench",
             "--head", f"{first}@head", "--version-path", f"migrations/versions/{first}"]
    label = f"{len(services)} services x 40 tables, SQLite"
    if "services-scoped" in cases:
        results.append(compare(
            "services-scoped", label,
            Side([alembic, "-x", f"service={first}", "revision", "--autogenerate", "-m",
                  "bench"], root, env, before=clean),
            Side(plain, root, env, before=clean), repeat))
    if "services-split" in cases:
        results.append(compare(
            "services-split", label,
            Side([alembic, "revision", "--autogenerate", "-m", "bench"], root, env,
                 before=clean),
            Side(plain, root, env, before=clean), repeat))
    if "graph" in cases:
        hini = bench_services.history_project(WORK / "history", 400)
        results.append(compare(
            "graph", "400 revisions",
            Side([str(BIN / "sluice"), "graph"], hini.parent, env),
            Side([alembic, "history"], hini.parent, env), repeat))
    return results


# --------------------------------------------------------------------------- main


def print_markdown(results: list[dict[str, object]]) -> None:
    counted = any("sluice_instructions" in r for r in results)
    extra = " instructions (Sluice / Alembic) |" if counted else ""
    print("\n| command | history | Sluice CPU | Alembic command | Alembic CPU | ratio | goal |"
          + extra)
    print("|---|---|---|---|---|---|---|" + ("---|" if counted else ""))
    for r in results:
        ratio, goal = float(r["ratio"]), float(r["goal"])  # type: ignore[arg-type]
        line = (f"| `{r['sluice']}` | {r['history']} | {float(r['sluice_ms']):.0f} ms "  # type: ignore[arg-type]
                f"| `{r['anchor']}` | {float(r['anchor_ms']):.0f} ms | {ratio:.2f}x "  # type: ignore[arg-type]
                f"| <= {goal}x ({'met' if ratio <= goal else 'not met'}) |")
        if counted:
            si, ai = r.get("sluice_instructions"), r.get("anchor_instructions")
            line += (f" {int(si) / 1e9:.2f} G / {int(ai) / 1e9:.2f} G = "  # type: ignore[call-overload]
                     f"{int(si) / int(ai):.3f}x |" if si and ai else " - |")  # type: ignore[call-overload]
        print(line)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5, help="timed runs of each side (>= 5)")
    ap.add_argument("--cases", default=",".join(CASES),
                    help=f"comma-separated, of: {', '.join(CASES)}")
    ap.add_argument("--revisions", default="300,3000",
                    help="sizes of the synthetic lint histories (comma-separated)")
    ap.add_argument("--upgrade-revisions", type=int, default=200)
    ap.add_argument("--check-revisions", type=int, default=40)
    ap.add_argument("--no-public", action="store_true", help="skip pypi/warehouse")
    ap.add_argument("--mirror", action="append", type=Path, default=[],
                    help="folder holding <owner>+<name>/repo git mirrors "
                         "(default: $SLUICE_CORPUS_MIRROR, bench/_work/corpus/repos)")
    ap.add_argument("--pg-url", default=os.environ.get("SLUICE_TEST_POSTGRES_URL"),
                    help="PostgreSQL server for upgrade-postgresql")
    ap.add_argument("--lint-format", default="text",
                    help="the --format of the timed `sluice lint` (default text, what a "
                         "terminal shows; json: what CI and editors read)")
    ap.add_argument("--show-fixes", action="store_true",
                    help="time `sluice lint --show-fixes` (text output: each fix's diff "
                         "under its finding)")
    ap.add_argument("--markdown", action="store_true",
                    help="also print the results as a Markdown table (for the docs)")
    ap.add_argument("--instructions", action="store_true",
                    help="also count each side's instructions in one run under valgrind's "
                         "callgrind (load-independent; about a minute a run)")
    ap.add_argument("--phases", type=int, default=0, metavar="N",
                    help="also run each side N times with bench/phase_hook and print the "
                         "CPU time spent inside the process up to each point")
    args = ap.parse_args()
    global COUNT_INSTRUCTIONS, PHASE_RUNS, LINT_FLAGS
    COUNT_INSTRUCTIONS = args.instructions
    LINT_FLAGS = ["--show-fixes"] if args.show_fixes else []
    PHASE_RUNS = max(0, args.phases)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = sorted(set(cases) - set(CASES))
    if unknown:
        ap.error(f"unknown case(s) {', '.join(unknown)}; valid: {', '.join(CASES)}")
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    WORK.mkdir(parents=True, exist_ok=True)
    print(f"whole-process CPU (user+sys) medians of {args.repeat} interleaved runs; "
          f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    print(f"{'case':<23} {'history':<36} {'sluice':>11} {'anchor':>11} {'ratio':>7}")
    results = []
    lint = [c for c in cases if c in ("lint-cold", "lint-warm", "lint-warm-call")]
    if lint:
        for count in (int(n) for n in args.revisions.split(",") if n.strip()):
            results += lint_cases(synthetic(count), f"synthetic, {count} revisions", lint,
                                  args.repeat, child_env(), args.lint_format)
        if not args.no_public:
            public = bench_public.materialise(WORK / "warehouse", args.mirror)
            if public is not None:
                root, count = public
                results += lint_cases(root, f"pypi/warehouse, {count} revisions", lint,
                                      args.repeat, child_env(PYTHONPATH=str(root / "site")),
                                      args.lint_format)
    if "lint-one" in cases:
        results.append(one_revision(args.repeat, args.lint_format))
    for case in ("upgrade-sqlite", "upgrade-postgresql", "upgrade-prod-sqlite",
                 "upgrade-prod-postgresql"):
        if case in cases:
            found = upgrade_case(case.rsplit("-", 1)[1], args.pg_url, args.upgrade_revisions,
                                 args.repeat, prod="-prod-" in case)
            if found:
                results.append(found)
    for case in ("check-sqlite", "check-postgresql"):
        if case in cases:
            found = check_case(case.split("-", 1)[1], args.pg_url, args.check_revisions,
                               args.repeat)
            if found:
                results.append(found)
    services = [c for c in cases if c in ("services-scoped", "services-split", "graph")]
    if services:
        results += services_cases(services, args.repeat)
    broken = [r for r in results if "failed" in r]
    results = [r for r in results if "failed" not in r]
    if args.markdown:
        print_markdown(results)
    failed = [r for r in results if float(r["ratio"]) > float(r["goal"])]  # type: ignore[arg-type]
    print(f"{len(results) - len(failed)} of {len(results)} goals met"
          + (f"; {len(broken)} case(s) could not run" if broken else ""), flush=True)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
