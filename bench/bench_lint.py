"""Benchmark: ``sluice lint --all`` against Alembic rendering the same history offline.

In-process figures, secondary: both sides run as calls inside one warmed-up Python
process, without start-up or printing. The figures the docs report are whole processes,
the commands a user types, from ``bench/process.py``.

Two synthetic histories are generated under ``bench/_work`` (ignored by git):

- **issue 3**: 500 revisions with a realistic mix of operations (tables, columns with and
  without defaults, indexes, some concurrently, type changes, renames, drops, data fixes,
  seeds, batch blocks, constraints), every one with a downgrade. The baseline is Alembic's
  own ``alembic upgrade head --sql`` (``command.upgrade(cfg, "head", sql=True)``) for
  PostgreSQL, in the same process.
- **issue 9**: 300 revisions of which about one in eight reproduces a real-world failure
  mode (missing project import, reads through ``op.get_bind()``, raise in offline mode,
  unnamed constraint drop, ``upgrade(op, tables, tester)``, swallowed exceptions, missing
  or raising downgrades). ``alembic upgrade --sql`` stops at the first of them, so the
  baseline renders the same files with Alembic alone (``load_python_file`` and each
  ``upgrade()`` inside one offline ``MigrationContext``), skipping what fails.

For each: cold lint (no cache) with the default three dialects and with PostgreSQL only,
then an incremental run after editing one revision (warm cache). Each timing is the best
of ``--repeat`` interleaved runs, in CPU time of the process (``--wall`` for wall-clock
time; on a shared machine wall time mostly measures the neighbours). Bytecode caching is off for both sides, so neither reuses
``__pycache__``. Run: ``.venv/bin/python bench/bench_lint.py``.
"""

from __future__ import annotations

import argparse
import io
import random
import shutil
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

sys.dont_write_bytecode = True

from sluice.lint.engine import LintResult, lint_project  # noqa: E402

WORK = Path(__file__).resolve().parent / "_work"

ENV_PY = '''
from alembic import context

config = context.config


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True,
                      dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    raise SystemExit("the benchmark history only runs offline")
'''

INI = """[alembic]
script_location = %(here)s/migrations
prepend_sys_path = %(here)s
path_separator = os
sqlalchemy.url = postgresql://bench@localhost/bench
"""


class _Gen:
    """A deterministic, plausible schema history."""

    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)
        self.tables: dict[str, list[str]] = {}
        self.indexes: list[tuple[str, str]] = []
        self.n = 0

    def _col(self) -> str:
        self.n += 1
        return f"c{self.n}"

    def ops(self) -> tuple[list[str], list[str], str]:
        """Upgrade lines, downgrade lines, extra module-level imports."""
        rnd = self.rnd
        if len(self.tables) < 5 or rnd.random() < 0.12:
            return self._create_table()
        kind = rnd.choices(
            ["add_nullable", "add_default", "index", "index_conc", "drop_index", "alter_type",
             "rename", "drop_column", "data_fix", "seed", "batch", "fk", "unique", "comment"],
            weights=[18, 10, 10, 4, 3, 6, 3, 5, 8, 3, 5, 4, 3, 2])[0]
        return getattr(self, f"_{kind}")()

    def _table(self) -> str:
        return self.rnd.choice(sorted(self.tables))

    def _create_table(self) -> tuple[list[str], list[str], str]:
        name = f"t{len(self.tables) + 1}"
        cols = [self._col() for _ in range(self.rnd.randint(2, 5))]
        self.tables[name] = cols
        lines = [f'op.create_table("{name}",',
                 '    sa.Column("id", sa.Integer(), primary_key=True),']
        for i, c in enumerate(cols):
            typ = ["sa.String(100)", "sa.Integer()", "sa.DateTime()", "sa.Boolean()",
                   "sa.Numeric(10, 2)"][i % 5]
            lines.append(f'    sa.Column("{c}", {typ}, nullable={i % 2 == 0}),')
        lines.append(")")
        ix = f"ix_{name}_{cols[0]}"
        self.indexes.append((name, ix))
        lines.append(f'op.create_index("{ix}", "{name}", ["{cols[0]}"])')
        return lines, [f'op.drop_index("{ix}", table_name="{name}")',
                       f'op.drop_table("{name}")'], ""

    def _add_nullable(self) -> tuple[list[str], list[str], str]:
        t, c = self._table(), self._col()
        self.tables[t].append(c)
        return ([f'op.add_column("{t}", sa.Column("{c}", sa.String(50), nullable=True))'],
                [f'op.drop_column("{t}", "{c}")'], "")

    def _add_default(self) -> tuple[list[str], list[str], str]:
        t, c = self._table(), self._col()
        self.tables[t].append(c)
        return ([f'op.add_column("{t}", sa.Column("{c}", sa.Integer(), nullable=False, '
                 'server_default="0"))'], [f'op.drop_column("{t}", "{c}")'], "")

    def _index(self) -> tuple[list[str], list[str], str]:
        t = self._table()
        c = self.rnd.choice(self.tables[t])
        ix = f"ix_{t}_{c}_{self.n}"
        self.n += 1
        self.indexes.append((t, ix))
        return ([f'op.create_index("{ix}", "{t}", ["{c}"])'],
                [f'op.drop_index("{ix}", table_name="{t}")'], "")

    def _index_conc(self) -> tuple[list[str], list[str], str]:
        t = self._table()
        c = self.rnd.choice(self.tables[t])
        ix = f"ix_{t}_{c}_{self.n}"
        self.n += 1
        return (["with op.get_context().autocommit_block():",
                 f'    op.create_index("{ix}", "{t}", ["{c}"], postgresql_concurrently=True)'],
                [f'op.drop_index("{ix}", table_name="{t}")'], "")

    def _drop_index(self) -> tuple[list[str], list[str], str]:
        if not self.indexes:
            return self._add_nullable()
        t, ix = self.indexes.pop(self.rnd.randrange(len(self.indexes)))
        return ([f'op.drop_index("{ix}", table_name="{t}")'],
                [f'op.create_index("{ix}", "{t}", ["id"])'], "")

    def _alter_type(self) -> tuple[list[str], list[str], str]:
        t = self._table()
        c = self.rnd.choice(self.tables[t])
        return ([f'op.alter_column("{t}", "{c}", existing_type=sa.String(50), '
                 'type_=sa.String(200))'],
                [f'op.alter_column("{t}", "{c}", existing_type=sa.String(200), '
                 'type_=sa.String(50))'], "")

    def _rename(self) -> tuple[list[str], list[str], str]:
        t = self._table()
        old = self.tables[t].pop(0) if self.tables[t] else self._col()
        new = self._col()
        self.tables[t].append(new)
        return ([f'op.alter_column("{t}", "{old}", new_column_name="{new}")'],
                [f'op.alter_column("{t}", "{new}", new_column_name="{old}")'], "")

    def _drop_column(self) -> tuple[list[str], list[str], str]:
        t = self._table()
        if len(self.tables[t]) < 2:
            return self._add_nullable()
        c = self.tables[t].pop()
        return ([f'op.drop_column("{t}", "{c}")'],
                [f'op.add_column("{t}", sa.Column("{c}", sa.String(50), nullable=True))'], "")

    def _data_fix(self) -> tuple[list[str], list[str], str]:
        t = self._table()
        c = self.rnd.choice(self.tables[t])
        return ([f'op.execute("UPDATE {t} SET {c} = NULL WHERE id < 0")'], ["pass"], "")

    def _seed(self) -> tuple[list[str], list[str], str]:
        t = self._table()
        return ([f'seed = sa.table("{t}", sa.column("id", sa.Integer()))',
                 "op.bulk_insert(seed, [{'id': -1}, {'id': -2}])"],
                [f'op.execute("DELETE FROM {t} WHERE id < 0")'], "")

    def _batch(self) -> tuple[list[str], list[str], str]:
        t, c = self._table(), self._col()
        self.tables[t].append(c)
        return ([f'with op.batch_alter_table("{t}") as batch_op:',
                 f'    batch_op.add_column(sa.Column("{c}", sa.Text(), nullable=True))'],
                [f'with op.batch_alter_table("{t}") as batch_op:',
                 f'    batch_op.drop_column("{c}")'], "")

    def _fk(self) -> tuple[list[str], list[str], str]:
        t, ref = self._table(), self._table()
        c = self._col()
        self.tables[t].append(c)
        name = f"fk_{t}_{c}"
        return ([f'op.add_column("{t}", sa.Column("{c}", sa.Integer(), nullable=True))',
                 f'op.create_foreign_key("{name}", "{t}", "{ref}", ["{c}"], ["id"])'],
                [f'op.drop_constraint("{name}", "{t}", type_="foreignkey")',
                 f'op.drop_column("{t}", "{c}")'], "")

    def _unique(self) -> tuple[list[str], list[str], str]:
        t = self._table()
        c = self.rnd.choice(self.tables[t])
        name = f"uq_{t}_{c}_{self.n}"
        self.n += 1
        return ([f'op.create_unique_constraint("{name}", "{t}", ["{c}"])'],
                [f'op.drop_constraint("{name}", "{t}", type_="unique")'], "")

    def _comment(self) -> tuple[list[str], list[str], str]:
        t = self._table()
        return ([f'op.create_table_comment("{t}", "table {t}")'],
                [f'op.drop_table_comment("{t}")'], "")


FAILURE_MODES = ("import", "reads", "offline_raise", "unnamed", "signature", "swallow",
                 "no_downgrade", "raising_downgrade")


def _failure_revision(mode: str, gen: _Gen) -> tuple[list[str], list[str] | None, str, str]:
    """(upgrade lines, downgrade lines or None, module imports, signature)."""
    t = gen._table()
    if mode == "import":
        return ([f'op.add_column("{t}", sa.Column("ext_{gen.n}", GUID(), nullable=True))'],
                [f'op.drop_column("{t}", "ext_{gen.n}")'],
                "from benchapp.types import GUID\n", "")
    if mode == "reads":
        return (["conn = op.get_bind()",
                 f'row = conn.execute(sa.text("SELECT max(id) AS m FROM {t}")).fetchone()',
                 f'op.execute(f"UPDATE {t} SET id = id + {{row.m}} WHERE id < 0")'],
                ["pass"], "", "")
    if mode == "offline_raise":
        return (["if context.is_offline_mode():",
                 '    raise RuntimeError("this data migration cannot run with --sql")',
                 f'op.execute("DELETE FROM {t} WHERE id < 0")'], ["pass"], "", "")
    if mode == "unnamed":
        return ([f'op.drop_constraint(None, "{t}", type_="foreignkey")'], ["pass"], "", "")
    if mode == "signature":
        return ([f'op.add_column("{t}", sa.Column("sig_{gen.n}", sa.Integer(), nullable=True))',
                 "tester.check(tables)"], [f'op.drop_column("{t}", "sig_{gen.n}")'], "",
                "op, tables, tester")
    if mode == "swallow":
        return (["try:",
                 f'    op.execute("UPDATE {t} SET id = id WHERE id < 0")',
                 "except Exception as exc:",
                 '    print("skipped", exc)'], ["pass"], "", "")
    if mode == "no_downgrade":
        up, _, _ = gen._add_nullable()
        return up, None, "", ""
    up, _, _ = gen._add_nullable()
    return up, ['raise NotImplementedError("irreversible")'], "", ""


def generate(root: Path, count: int, *, failures: bool, seed: int = 7) -> list[Path]:
    if root.exists():
        shutil.rmtree(root)
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "alembic.ini").write_text(INI)
    (root / "migrations" / "env.py").write_text(ENV_PY)
    (root / "sluice.toml").write_text('[lint]\ndialects = ["postgresql", "mysql", "sqlite"]\n')
    gen = _Gen(seed)
    rnd = random.Random(seed + 1)
    paths = []
    prev = None
    for i in range(1, count + 1):
        rev = f"{i:04d}{rnd.getrandbits(32):08x}"
        imports = ""
        sig = ""
        up: list[str] = []
        down: list[str] | None = []
        if failures and i > 6 and i % 8 == 0:
            mode = FAILURE_MODES[(i // 8) % len(FAILURE_MODES)]
            up, down, imports, sig = _failure_revision(mode, gen)
        else:
            for _ in range(rnd.choice([1, 1, 1, 2, 2, 3])):
                u, d, extra = gen.ops()
                up += u
                down = d + (down or [])
                imports += extra
        body = textwrap.indent("\n".join(up), "    ")
        text = (f'"""revision {i}\n\nRevision ID: {rev}\nRevises: {prev or ""}\n"""\n'
                f"import sqlalchemy as sa\nfrom alembic import context, op\n{imports}\n"
                f'revision = "{rev}"\ndown_revision = {prev!r}\nbranch_labels = None\n'
                f"depends_on = None\n\n\ndef upgrade({sig}):\n{body}\n")
        if down is not None:
            text += f"\n\ndef downgrade({sig}):\n" + textwrap.indent("\n".join(down),
                                                                      "    ") + "\n"
        path = versions / f"{rev}_rev{i}.py"
        path.write_text(text)
        paths.append(path)
        prev = rev
    return paths


# --------------------------------------------------------------------------- timing


#: CPU time of this process (default: the machine is shared, so wall time mostly measures
#: the neighbours) or wall-clock time (``--wall``).
CLOCK: Callable[[], float] = time.process_time


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = CLOCK()
        fn()
        times.append(CLOCK() - t0)
    return min(times)


def alembic_upgrade_sql(root: Path) -> None:
    from alembic import command
    from alembic.config import Config

    buf = io.StringIO()
    cfg = Config(str(root / "alembic.ini"), output_buffer=buf)
    command.upgrade(cfg, "head", sql=True)
    assert "CREATE TABLE" in buf.getvalue()


def alembic_alone(root: Path) -> None:
    """Each file loaded and its upgrade() run in one offline context; failures skipped."""
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext
    from alembic.util.pyfiles import load_python_file

    buf = io.StringIO()
    mc = MigrationContext.configure(dialect_name="postgresql",
                                    opts={"as_sql": True, "output_buffer": buf,
                                          "literal_binds": True})
    with Operations.context(mc):
        for path in sorted((root / "migrations" / "versions").glob("*.py")):
            try:
                module = load_python_file(str(path.parent), path.name)
                module.upgrade()
            except Exception:
                continue
    assert "CREATE TABLE" in buf.getvalue()


def sluice_lint(root: Path, *, dialects: list[str] | None = None,
                cache: bool = False) -> LintResult:
    return lint_project(root / "alembic.ini", dialects=dialects, use_cache=cache)


def bench(name: str, root: Path, baseline: Callable[[Path], None], repeat: int) -> None:
    # interleaved, so that load from other processes hits every side alike
    base = cold3 = cold1 = float("inf")
    for _ in range(repeat):
        base = min(base, best(lambda: baseline(root), 1))
        cold3 = min(cold3, best(lambda: sluice_lint(root), 1))
        cold1 = min(cold1, best(lambda: sluice_lint(root, dialects=["postgresql"]), 1))
    result = sluice_lint(root, cache=True)  # warm the cache
    files = sorted((root / "migrations" / "versions").glob("*.py"))
    victim = files[len(files) // 2]
    original = victim.read_text()
    counter = [0]
    runs: list[LintResult] = []

    def incremental() -> LintResult:
        counter[0] += 1
        victim.write_text(original + f"\n# touched {counter[0]}\n")
        runs.append(sluice_lint(root, cache=True))
        return runs[-1]

    inc = best(incremental, repeat)
    last = runs[-1]
    victim.write_text(original)
    cov = result.coverage.line()
    print(f"\n== {name}: {len(files)} revisions")
    print(f"   baseline {baseline.__name__}: {base * 1000:8.1f} ms")
    print(f"   sluice lint --all, cold, 3 dialects:  {cold3 * 1000:8.1f} ms  "
          f"ratio {cold3 / base:.2f}x")
    print(f"   sluice lint --all, cold, postgresql:  {cold1 * 1000:8.1f} ms  "
          f"ratio {cold1 / base:.2f}x")
    print(f"   sluice lint --all, one file edited:   {inc * 1000:8.1f} ms  "
          f"ratio {inc / base:.3f}x  (cache hits {last.cache_hits}, "
          f"misses {last.cache_misses})")
    print(f"   coverage: {cov}")


def warm_up(root: Path) -> None:
    """Import and initialise both sides on a tiny history so neither pays it in the timings."""
    generate(root, 12, failures=True, seed=3)
    alembic_alone(root)
    sluice_lint(root)
    shutil.rmtree(root)
    generate(root, 12, failures=False, seed=3)
    alembic_upgrade_sql(root)
    shutil.rmtree(root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--revisions", type=int, default=500)
    parser.add_argument("--failure-revisions", type=int, default=300)
    parser.add_argument("--wall", action="store_true",
                        help="time wall-clock instead of this process's CPU time")
    args = parser.parse_args()
    global CLOCK
    CLOCK = time.perf_counter if args.wall else time.process_time
    print(f"timing: {'wall clock' if args.wall else 'CPU time of this process'}, "
          f"best of {args.repeat}")
    WORK.mkdir(exist_ok=True)
    warm_up(WORK / "warmup")
    h3 = WORK / "issue3"
    generate(h3, args.revisions, failures=False)
    bench("issue 3 history vs alembic upgrade head --sql", h3, alembic_upgrade_sql,
          args.repeat)
    h9 = WORK / "issue9"
    generate(h9, args.failure_revisions, failures=True)
    bench("issue 9 history (failure modes) vs Alembic alone rendering each file", h9,
          alembic_alone, args.repeat)
    print("\ngoals: cold <= 1.0x, incremental <= 0.1x")


if __name__ == "__main__":
    main()
