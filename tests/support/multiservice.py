"""Helpers for tests on the multi-service example (revisions in one folder per service):
the Alembic command API on a copy (``ms_cfg``, ``ms_autogenerate`` ...), and real
``alembic`` processes on a copy outside the working folder (``ms_process_project``)."""

from __future__ import annotations

import ast
import io
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config

from sluice.core.project import alembic_config
from tests.support.cli import BIN, run_process
from tests.support.modules import forget_modules
from tests.support.paths import MULTISERVICE


def ms_cfg(project: Path, url: str, *x: str, name: str = "alembic") -> Config:
    """Alembic Config for ``project`` (ini section ``name``) on ``url`` with ``-x`` args."""
    forget_modules(project)
    cfg = alembic_config(project / "alembic.ini", x_args=x, stdout=io.StringIO())
    if name != "alembic":
        cfg = Config(str(project / "alembic.ini"), ini_section=name, cmd_opts=cfg.cmd_opts,
                     stdout=io.StringIO())
    cfg.set_section_option(name, "sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def revision_files(project: Path) -> set[Path]:
    return set((project / "migrations" / "versions").rglob("*.py"))


def ms_autogenerate(project: Path, url: str, *x: str, name: str = "alembic",
                    message: str = "auto") -> list[Path]:
    """``alembic [-n name] revision --autogenerate``; the files written, sorted."""
    before = revision_files(project)
    command.revision(ms_cfg(project, url, *x, name=name), message=message, autogenerate=True)
    return sorted(revision_files(project) - before)


def ms_upgrade(project: Path, url: str, rev: str = "heads", *x: str,
               name: str = "alembic") -> None:
    command.upgrade(ms_cfg(project, url, *x, name=name), rev)


def ms_downgrade(project: Path, url: str, rev: str, *x: str, name: str = "alembic") -> None:
    command.downgrade(ms_cfg(project, url, *x, name=name), rev)


def upgrade_all(project: Path, url: str) -> None:
    """Both environments of the example: the branches and reporting's own."""
    ms_upgrade(project, url)
    ms_upgrade(project, url, "head", name="reporting")


def module_value(path: Path, name: str) -> object:
    """A module-level assignment of a revision file, read without importing it."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                assert node.value is not None
                return ast.literal_eval(node.value)
    raise KeyError(name)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


#: The ``-x`` every alembic command of :func:`ms_process_project` needs: its env.py
#: refuses to run without it, so a suggested command that leaves it out fails.
TENANT = "tenant=acme"


@dataclass
class MsProject:
    """A copy of examples/multiservice in ``root / "ms"`` whose env.py needs ``-x
    tenant=acme``, run as real ``alembic`` processes from ``root`` (``-c ms/alembic.ini``)
    or, with ``sibling``, from ``root / "work"`` (``-c ../ms/alembic.ini``): alembic.ini
    is not in the working folder."""

    root: Path
    sibling: bool = False

    @property
    def project(self) -> Path:
        return self.root / "ms"

    @property
    def cwd(self) -> Path:
        """The working folder commands run from."""
        return self.root / "work" if self.sibling else self.root

    @property
    def ini_arg(self) -> str:
        return "../ms/alembic.ini" if self.sibling else "ms/alembic.ini"

    def versions(self, folder: str) -> Path:
        return self.project / "migrations" / "versions" / folder

    def options(self, *x: str, name: str = "alembic") -> list[str]:
        """``-c``, ``-n`` (unless ``alembic``) and ``-x tenant=acme`` then each of ``x``."""
        return ["-c", self.ini_arg, *(["-n", name] if name != "alembic" else []),
                "-x", TENANT, *(w for arg in x for w in ("-x", arg))]

    def alembic(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``alembic ARGS`` from the working folder, as a real process."""
        return run_process([BIN / "alembic", *args], cwd=self.cwd, timeout=180)


def ms_process_project(root: Path, *, sibling: bool = False) -> MsProject:
    """Copy examples/multiservice to ``root / "ms"`` (its env.py made to need ``-x
    tenant=acme``) and upgrade both of its environments (the branches and reporting's own)
    on its SQLite database. ``sibling``: commands run from ``root / "work"``."""
    shutil.copytree(MULTISERVICE, root / "ms",
                    ignore=shutil.ignore_patterns("*.db", "__pycache__"))
    ms = MsProject(root, sibling)
    ms.cwd.mkdir(exist_ok=True)
    edit(ms.project / "migrations" / "env.py", "config = context.config\n",
         "config = context.config\n"
         'if context.get_x_argument(as_dictionary=True).get("tenant") != "acme":\n'
         '    raise RuntimeError("env.py needs -x tenant=acme")\n')
    for args in (("upgrade", "heads"), ("-n", "reporting", "upgrade", "head")):
        name = args[1] if args[0] == "-n" else "alembic"
        done = ms.alembic(*ms.options(name=name), *args[2 if name != "alembic" else 0:])
        assert done.returncode == 0, done.stderr
    return ms
