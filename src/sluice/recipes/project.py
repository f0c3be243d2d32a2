"""``sluice fix`` as a library call: which revision files, for which dialect, and the
rewrite of each (:func:`fix_project`). The CLI only renders the result."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sluice.config import SluiceConfig, load_config
from sluice.core.history import revision_files
from sluice.errors import SluiceError
from sluice.lint.dialects import choose_dialects
from sluice.lint.scope import read_layout, reviewed_files
from sluice.recipes.context import context_for
from sluice.recipes.source import FileFix, fix_file
from sluice.recipes.steps import AutocommitBlock, Backfill

if TYPE_CHECKING:
    from sluice.core.suggest import Invocation
    from sluice.lint.dialects import DialectChoice


@dataclass
class ProjectFix:
    """What :func:`fix_project` did (or would do, with ``write=False``)."""

    #: The dialect the recipes were chosen for, and where it came from.
    dialect: str
    origin: str
    #: One per revision file looked at, changed or not.
    files: list[FileFix] = field(default_factory=list)
    #: Revision files left alone because ``sluice.sum`` records them unchanged.
    locked: list[str] = field(default_factory=list)
    #: What the user should know about running the rewritten revisions (one line each).
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> list[FileFix]:
        return [f for f in self.files if f.changed]


def _one_dialect(choice: DialectChoice, location: Path | None, what: str) -> str:
    """The dialect the revisions of ``location`` run on; an error when it is not one."""
    found = choice.for_location(location)
    named = choice.named or (location is not None and location in choice.by_location)
    if named and len(found) == 1:
        return found[0]
    raise SluiceError(
        f"sluice fix needs the one dialect {what} runs on; found {', '.join(found)} "
        f"({choice.origin})",
        hint="Name it: --dialect postgresql, or [tool.sluice.lint] dialects = "
             '["postgresql"] in pyproject.toml.')


def _display(path: Path, root: Path) -> str:
    for base in (Path.cwd(), root):
        try:
            return path.relative_to(base.resolve()).as_posix()
        except ValueError:
            continue
    return path.as_posix()


def fix_project(ini: str | Path, config: SluiceConfig | None = None, *,
                files: Sequence[str | Path] = (), dialect: str | None = None,
                env: str | None = None, x_args: Iterable[str] = (),
                include_locked: bool = False, write: bool = False,
                ini_section: str = "alembic", given: Invocation | None = None) -> ProjectFix:
    """Apply the recipes to the project's revision files (or only ``files``).

    Each file's dialect is chosen as ``sluice lint`` chooses it (``dialect``, else a
    version location named after a dialect, else ``lint.dialects``, else the URL Alembic
    would use); recipes need exactly one, so several or none is a :class:`SluiceError`
    naming the file and asking for ``--dialect``. Files ``sluice.sum`` records with an unchanged checksum are
    reviewed history and are left alone unless ``include_locked``. Named files that are
    not revision files of the project are left alone with a note (a pre-commit hook passes
    every changed file); a missing one is an error.
    ``ini_section``: the alembic.ini section whose revisions these are (``-n``).
    ``given``: the options of the command, repeated by the commands an error names
    (default: ``-n`` of the section alone).
    """
    ini = Path(ini)
    if not ini.is_file():
        raise SluiceError(f"{ini}: no such file (pass -c/--config PATH to alembic.ini)")
    x_args = tuple(x_args)
    layout = read_layout(ini, x_args=x_args, ini_section=ini_section)
    if config is None:
        config = load_config(layout.ini_path)
    choice = choose_dialects(explicit=[dialect] if dialect else None,
                             configured=config.lint.dialects, url=layout.url,
                             url_origin=layout.url_origin, locations=layout.version_locations)
    known = {Path(os.path.realpath(p)): loc for loc in layout.version_locations
             for p in revision_files([loc], recursive=layout.recursive)}
    missing = [str(f) for f in files if not Path(f).is_file()]
    if missing:
        raise SluiceError(f"{missing[0]}: no such file")
    chosen = ([p for p in (Path(os.path.realpath(f)) for f in files) if p in known]
              if files else list(known))
    reviewed = set() if include_locked else \
        (reviewed_files(layout, config, given=given) or set())
    ignored = [str(f) for f in files if Path(os.path.realpath(f)) not in known]
    per_file = {p: _one_dialect(choice, known[p], _display(p, layout.root)) for p in chosen}
    used = sorted(set(per_file.values()))
    if not used:  # no revision file yet: still say which dialect it would be
        used = [_one_dialect(choice, None, "this project")]
    contexts = {d: context_for(config, d, env=env) for d in used}
    result = ProjectFix(dialect=", ".join(used), origin=choice.origin)
    folders = ", ".join(_display(Path(loc), layout.root) for loc in layout.version_locations)
    result.notes += [f"{name}: not a revision file of this project (its versions: "
                     f"{folders}); left alone" for name in ignored]
    for path in chosen:
        shown = _display(path, layout.root)
        if str(path) in reviewed:
            result.locked.append(shown)
            continue
        result.files.append(fix_file(path, contexts[per_file[path]], write=write,
                                     display=shown))
    if any(_commits(f) for f in result.changed):
        result.notes += external_transaction_note(layout.script_location / "env.py",
                                                  layout.root)
    return result


#: ``with engine.begin() as connection:`` (also ``connectable``/``conn``...): env.py owns
#: the transaction, so Alembic cannot commit it for an ``autocommit_block``.
_EXTERNAL = re.compile(r"^[ \t]*with[ \t]+[\w.()]+\.begin\(\)[ \t]+as[ \t]+\w+[ \t]*:", re.M)


def external_transaction_note(env_py: Path, root: Path) -> list[str]:
    """A note when ``env_py`` runs the migrations inside a transaction it opened itself."""
    try:
        text = env_py.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    m = _EXTERNAL.search(text)
    if m is None:
        return []
    line = text.count("\n", 0, m.start()) + 1
    return [f"{_display(env_py, root)}:{line}: env.py opens its own transaction "
            f"({m.group(0).strip()}); the rewritten revisions commit part way "
            "(autocommit_block, batched backfills), which Alembic cannot do inside it, so "
            "their upgrade stops before changing anything: open the connection with "
            ".connect() and let `with context.begin_transaction():` own the transaction"]


def _commits(fix: FileFix) -> bool:
    return any(isinstance(o, (AutocommitBlock, Backfill))
               for call in fix.fixed for a in call.applied for o in a.ops)
