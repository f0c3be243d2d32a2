"""``sluice demo``: every autogenerate control point, on a throwaway copy of examples/shop.

Each step runs the real Alembic command API against SQLite and checks that Sluice did
what the step says; the demo exits 1 if any step did not behave as shown.
"""

from __future__ import annotations

import io
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from contextlib import redirect_stderr
from pathlib import Path

from alembic import command
from alembic.util import CommandError
from rich.console import Console
from rich.panel import Panel
from rich.syntax import Syntax

from sluice.core.history import revision_files
from sluice.core.project import alembic_config, forget_modules
from sluice.errors import SluiceError


def find_example() -> Path:
    """examples/shop: from the source checkout when Sluice runs from one (the quickstart
    installs it editable), else the copy an installed wheel carries (``sluice/_examples``)."""
    package = Path(__file__).resolve().parents[1]  # src/sluice, or site-packages/sluice
    candidates = [
        package.parents[1] / "examples" / "shop",
        package / "_examples" / "shop",
    ]
    for candidate in candidates:
        if (candidate / "alembic.ini").is_file():
            return candidate
    raise SluiceError(
        f"examples/shop not found (looked in {candidates[0]} and {candidates[1]}); "
        "reinstall Sluice from a wheel or a checkout (pip install -e .)"
    )


class Demo:
    def __init__(self, root: Path, console: Console) -> None:
        self.root = root
        self.console = console
        self.ini = root / "alembic.ini"
        self.failures: list[str] = []
        self.step_no = 0

    def url(self, name: str) -> str:
        return f"sqlite:///{self.root / name}"

    def step(self, title: str) -> None:
        self.step_no += 1
        self.console.rule(f"[bold]{self.step_no}. {title}")

    def expect(self, ok: bool, what: str) -> None:
        if ok:
            self.console.print(f"[green]✓[/] {what}")
        else:
            self.console.print(f"[red]✗ expected: {what}[/]")
            self.failures.append(what)

    def alembic(self, fn: Callable[..., object], *args: object, db: str = "dev.db",
                x: tuple[str, ...] = (), **kwargs: object) -> tuple[str, str, Exception | None]:
        """Run an Alembic command in-process; (stdout, stderr, error)."""
        forget_modules(self.root)
        out, err = io.StringIO(), io.StringIO()
        cfg = alembic_config(self.ini, url=self.url(db), x_args=x, stdout=out)
        error: Exception | None = None
        with redirect_stderr(err):
            try:
                fn(cfg, *args, **kwargs)
            except CommandError as exc:
                error = exc
        return out.getvalue(), err.getvalue(), error

    def count(self, db: str, sql: str) -> int:
        with sqlite3.connect(self.root / db) as conn:
            return int(conn.execute(sql).fetchone()[0])

    def edit_models(self) -> None:
        models = self.root / "shopapp" / "models.py"
        text = models.read_text(encoding="utf-8")
        text = text.replace(
            "    legacy_field: Mapped[str | None] = mapped_column(String(50))\n",
            "    nickname: Mapped[str | None] = mapped_column(String(50))\n",
        )
        models.write_text(text, encoding="utf-8")

    def new_revisions(self) -> list[Path]:
        return sorted(p for p in revision_files([self.root / "migrations" / "versions"])
                      if not p.name.startswith("000"))

    def run(self) -> int:
        c = self.console
        c.print(Panel.fit(
            f"Sluice demo on a copy of examples/shop in [bold]{self.root}[/]\n"
            "SQLite databases dev.db and prod.db; every step is the real Alembic command API.",
            title="sluice demo",
        ))

        self.step("Upgrade the dev database (environment dev)")
        _, err, error = self.alembic(command.upgrade, "head")
        self.expect(error is None, "alembic upgrade head succeeds")
        demo_rows = self.count("dev.db", "SELECT count(*) FROM products WHERE sku LIKE 'DEMO-%'")
        self.expect(demo_rows == 2, f"the dev-only data step seeded demo products ({demo_rows})")

        self.step("Autogenerate with no model changes: empty revision refused")
        _, _, error = self.alembic(command.revision, autogenerate=True, message="nothing")
        c.print(f"[yellow]{error}[/]")
        self.expect(error is not None and "no schema changes" in str(error)
                    and not self.new_revisions(), "refused, and no file written")

        self.step("Drop users.legacy_field from the model: dangerous drop refused")
        self.edit_models()
        _, _, error = self.alembic(command.revision, autogenerate=True, message="drop legacy")
        c.print(f"[yellow]{error}[/]")
        self.expect(error is not None and "drop_column users.legacy_field" in str(error)
                    and not self.new_revisions(), "refused with the safe alternative, no file")

        self.step("Allow it explicitly: alembic -x allow=drop_column:users.legacy_field "
                  "revision --autogenerate")
        allow = ("allow=drop_column:users.legacy_field",)
        _, _, error = self.alembic(command.revision, autogenerate=True,
                                   message="drop legacy field", x=allow)
        written = self.new_revisions()
        self.expect(error is None and len(written) == 1, "revision written")
        if written:
            source = written[0].read_text(encoding="utf-8")
            c.print(Syntax(source, "python", line_numbers=False, word_wrap=True))
            self.expect(source.startswith("# Sluice review"), "starts with the review header")
            self.expect("# sluice: allowed drop_column:users.legacy_field" in source,
                        "the allowed op is annotated with its override")

        self.step("Upgrade dev to the new head")
        _, _, error = self.alembic(command.upgrade, "head")
        self.expect(error is None, "upgrade applied")
        cols = self.count("dev.db",
                          "SELECT count(*) FROM pragma_table_info('users') WHERE name='nickname'")
        self.expect(cols == 1, "users.nickname exists in dev")

        self.step("Upgrade a fresh prod database (-x env=prod): data step skipped")
        _, err, error = self.alembic(command.upgrade, "head", db="prod.db", x=("env=prod",))
        for line in err.splitlines():
            if "skipped" in line:
                c.print(f"[cyan]{line}[/]")
        prod_rows = self.count("prod.db", "SELECT count(*) FROM products")
        self.expect(error is None and prod_rows == 0 and "skipped in environment 'prod'" in err,
                    "prod upgraded without demo data")

        c.rule()
        if self.failures:
            c.print(f"[red]demo: {len(self.failures)} step(s) did not behave as expected[/]")
            return 1
        c.print("[green]demo: every control point behaved as shown.[/] "
                "Next: `sluice init` in your own project.")
        return 0


def run_demo(*, keep: bool = False, console: Console | None = None) -> int:
    console = console or Console(highlight=False, no_color=bool(os.environ.get("NO_COLOR")))
    example = find_example()
    tmp = Path(tempfile.mkdtemp(prefix="sluice-demo-"))
    root = tmp / "shop"
    shutil.copytree(example, root, ignore=shutil.ignore_patterns("*.db", "__pycache__"))
    try:
        return Demo(root, console).run()
    finally:
        forget_modules(root)
        if keep:
            console.print(f"project kept in {root}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
