"""The fix ``sluice fix`` would make, shown under a lint finding in text output (as ruff
shows its fixes): a unified diff of the finding's call rewritten into its recipe.

Cost: only findings of a rule some recipe answers (:data:`RECIPE_RULES`, no import
needed to ask) lead to any work, and only their files are read and rewritten in memory;
a lint with no such finding imports nothing of :mod:`sluice.recipes` or Alembic's
renderer. What the recipes made of each call is kept in the lint cache folder
(:mod:`sluice.lint.fixmemo`): a warm lint after an edit that leaves the rewritten calls
as they were draws their diffs again without importing Alembic or SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sluice.core.findings import Finding
from sluice.output.registry import FixKey, fix_key
from sluice.output.text import location

if TYPE_CHECKING:
    from sluice.config import SluiceConfig
    from sluice.lint.fixmemo import DrawnCall, DrawnFix

#: The lint rules a recipe of :mod:`sluice.recipes` answers, per dialect (a test keeps
#: this equal to the registry).
RECIPE_RULES: dict[str, frozenset[str]] = {
    "postgresql": frozenset({"SL201", "SL202", "SL203", "SL204", "SL205", "SL206", "SL207",
                             "SL208"}),
    "mysql": frozenset({"SL302"}),
}

def _dialect(f: Finding, dialects: Sequence[str]) -> str | None:
    if f.dialect:
        return f.dialect
    return dialects[0] if len(dialects) == 1 else None


def fixable(findings: Iterable[Finding], dialects: Sequence[str]) -> list[Finding]:
    """The findings of a rule a recipe of their dialect answers, with a file and line."""
    out = []
    for f in findings:
        d = _dialect(f, dialects)
        if f.path and f.line and d is not None and f.rule in RECIPE_RULES.get(d, ()):
            out.append(f)
    return out


#: Files whose diffs one lint shows at most. Past it (a long history's first lint) the
#: diffs would bury the findings, and drawing them costs Alembic's and SQLAlchemy's
#: import, which a static lint does without: one summary line points to
#: ``sluice fix --diff`` instead.
MAX_FILES = 10


def fix_diffs(findings: Sequence[Finding], *, dialects: Sequence[str], config: SluiceConfig,
              env: str | None, root: Path, use_cache: bool = True
              ) -> tuple[dict[FixKey, str], str | None]:
    """For each finding a recipe answers, the unified diff ``sluice fix`` would make to
    its call (and the imports the recipe needs), by :func:`~sluice.output.registry.fix_key`,
    and no summary line; when such findings are in more than :data:`MAX_FILES` files, no
    diff and a summary line counting them. A file that cannot be read or parsed, or a call
    ``sluice fix`` leaves alone, gets none. ``use_cache=False``: the memo of earlier
    lints is neither read nor written."""
    wanted = fixable(findings, dialects)
    by_file: dict[tuple[str, str], list[Finding]] = {}
    for f in wanted:
        by_file.setdefault((str(f.path), str(_dialect(f, dialects))), []).append(f)
    if len(by_file) > MAX_FILES:
        n = len(wanted)
        return {}, (f"{n} finding{'s' if n != 1 else ''} in {len(by_file)} files have a "
                    "recipe: `sluice fix --diff` shows the rewrite, `sluice fix` makes it")
    if not wanted:
        return {}, None
    from sluice.errors import SluiceError  # lazy: only with a finding a recipe answers
    from sluice.lint.fixmemo import FixMemo  # lazy: only with a finding a recipe answers

    memo = FixMemo(_cache_folder(config, root) if use_cache else None, config, env)
    out: dict[FixKey, str] = {}
    for (shown, dialect), group in by_file.items():
        path = Path(shown) if Path(shown).is_file() else root / shown
        try:
            source = path.read_text(encoding="utf-8")
            fix = memo.draw(source, path=_display(path, root), dialect=dialect)
        except (OSError, UnicodeDecodeError, SluiceError):
            continue
        if not fix.changed:
            continue
        drawn: dict[str, tuple[Finding, DrawnCall]] = {}
        for f in group:
            call = _call_of(fix, f)
            if call is None:
                continue
            diff = call_diff(fix, call)
            first = drawn.setdefault(diff, (f, call))
            out[fix_key(f)] = diff if first[0] is f else _same_as(*first, call)
    memo.save()
    return out, None


def _cache_folder(config: SluiceConfig, root: Path) -> Path | None:
    """The lint cache folder (``[tool.sluice.lint] cache_dir``, from alembic.ini's folder)."""
    if not config.lint.cache_dir:
        return None
    folder = Path(config.lint.cache_dir)
    return folder if folder.is_absolute() else root.resolve() / folder


def _display(path: Path, root: Path) -> str:
    """The path as ``sluice fix`` names it in its diff: relative to the working folder,
    else to the project."""
    for base in (Path.cwd(), root):
        try:
            return path.resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            continue
    return path.as_posix()


def _same_as(first: Finding, first_call: DrawnCall, call: DrawnCall) -> str:
    """Under a later finding whose call the recipes rewrite in the same block as an
    earlier finding's (adjacent calls share one ``autocommit_block``): where that diff is."""
    where = f"the diff under {location(first)} above"
    if first_call == call:
        return f"the same rewrite as {first.rule}: {where}"
    return f"rewritten together with line {first.line}: {where}"


def _call_of(fix: DrawnFix, f: Finding) -> DrawnCall | None:
    for call in fix.fixed:
        if call.line <= (f.line or 0) <= call.end_line and f.rule in call.rules:
            return call
    return None


def call_diff(fix: DrawnFix, call: DrawnCall) -> str:
    """The diff of ``fix`` limited to ``call``: its lines replaced, and the changes outside
    every rewritten call (the imports the recipes need); other calls stay as written."""
    import difflib  # lazy: only when a diff is drawn; start-up of every lint

    before = fix.before.splitlines(keepends=True)
    after = fix.after.splitlines(keepends=True)
    calls = [(c.line - 1, c.end_line) for c in fix.fixed]
    partial: list[str] = []
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            partial += before[i1:i2]
            continue
        owners = [(a, b) for a, b in calls
                  if (a <= i1 <= b if i1 == i2 else i1 < b and i2 > a)]
        mine = (call.line - 1, call.end_line) in owners
        partial += after[j1:j2] if not owners or mine else before[i1:i2]
    return "".join(difflib.unified_diff(before, partial, fromfile=f"a/{fix.path}",
                                        tofile=f"b/{fix.path}"))
