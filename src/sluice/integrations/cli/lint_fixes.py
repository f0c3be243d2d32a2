"""The fix ``sluice fix`` would make, for the findings of a lint's text output: by default
one summary line counting the findings a recipe answers and naming the ``sluice fix``
command (as ruff counts its fixable findings); with ``--show-fixes`` (or
``[tool.sluice.lint] show_fixes``) under each such finding a unified diff of its call
rewritten into its recipe (as ruff's ``--diff`` shows them).

Cost: only findings of a rule some recipe answers (:data:`RECIPE_RULES`, no import
needed to ask) lead to any work, and only their files are read and rewritten in memory;
a lint with no such finding imports nothing of :mod:`sluice.recipes` or Alembic's
renderer. What the recipes made of each call is kept in the lint cache folder
(:mod:`sluice.lint.fixmemo`): a warm lint after an edit that leaves the rewritten calls
as they were draws their diffs again without importing Alembic or SQLAlchemy.

A diff is offered only where ``sluice fix`` makes it, under the command that does: a file
``sluice.sum`` records (reviewed history, which ``sluice fix`` leaves alone) gets no diff,
one line names ``sluice fix --include-locked`` instead; and where ``sluice fix`` alone
would not pick the finding's dialect (the file is linted for several, or lint was given
``--dialect``), the command says ``--dialect``. Every command named repeats the options
the lint was given (``-c``, ``-n``, ``-x``, the environment as ``--env``: the lock timeout
a recipe writes is the environment's), rendered by :class:`~sluice.core.suggest.Invocation`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from sluice.core.findings import Finding
from sluice.core.suggest import Invocation
from sluice.output.registry import FixKey, FixText, fix_key
from sluice.output.text import location

TYPE_CHECKING = False
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
              env: str | None, root: Path, use_cache: bool = True,
              explicit_dialect: bool = False, section: str = "alembic",
              draw: bool = True, given: Invocation | None = None
              ) -> tuple[dict[FixKey, str], list[str]]:
    """For each finding a recipe answers, the unified diff ``sluice fix`` would make to
    its call (and the imports the recipe needs), by :func:`~sluice.output.registry.fix_key`,
    as a :class:`~sluice.output.registry.FixText` naming the command that makes it, and
    summary lines: when such findings are in more than :data:`MAX_FILES` files, no diff
    and a line counting them (files, per command); for the files the sum file of ini
    section ``section`` records (``sluice fix`` leaves them alone), no diff and a line
    naming ``--include-locked``. A file that cannot be read or parsed, or a call ``sluice
    fix`` leaves alone, gets none. ``explicit_dialect``: lint was given ``--dialect``.
    ``use_cache=False``: the memo of earlier lints is neither read nor written.
    ``given``: the options the lint was given, repeated by every command named (default:
    ``-n section`` alone). ``draw=False``: no diff at all, the summary lines only
    (nothing is rewritten, so neither Alembic nor SQLAlchemy is imported)."""
    given = given or Invocation(ini_section=section)
    wanted = fixable(findings, dialects)
    if len({f.path for f in wanted}) <= MAX_FILES:
        wanted = _candidates(wanted, root)
    if not wanted:
        return {}, []
    locked = _locked({_path(str(f.path), root) for f in wanted}, config, root, section)
    by_file: dict[tuple[str, str], list[Finding]] = {}
    held: list[Finding] = []
    for f in wanted:
        if _path(str(f.path), root) in locked:
            held.append(f)
        else:
            by_file.setdefault((str(f.path), str(_dialect(f, dialects))), []).append(f)
    lines = _counted(held, dialects, explicit_dialect, given, _sum_name(config, section))
    if not draw or len({shown for shown, _ in by_file}) > MAX_FILES:
        return {}, _counted([f for group in by_file.values() for f in group], dialects,
                            explicit_dialect, given) + lines
    if not by_file:
        return {}, lines
    from sluice.errors import SluiceError  # lazy: only with a finding a recipe answers
    from sluice.lint.fixmemo import FixMemo  # lazy: only with a finding a recipe answers

    memo = FixMemo(_cache_folder(config, root) if use_cache else None, config, env)
    out: dict[FixKey, str] = {}
    for (shown, dialect), group in by_file.items():
        path = _path(shown, root)
        command = given.sluice_line(*_fix_words(group[0], dialect, explicit_dialect))
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
            out[fix_key(f)] = FixText(diff if first[0] is f else _same_as(*first, call),
                                      command)
    memo.save()
    return out, lines


def _candidates(found: list[Finding], root: Path) -> list[Finding]:
    """Those of ``found`` on a call ``sluice fix`` considers (a statement of its own in
    ``upgrade()``/``downgrade()``, not reviewed: :func:`~sluice.lint.fixplan.plan_source`;
    a call in a loop or a condition is left as written), read without Alembic."""
    from sluice.errors import SluiceError  # lazy: only with a finding a recipe answers
    from sluice.lint.fixplan import plan_source  # lazy: only with a finding a recipe answers

    spans: dict[str, list[tuple[int, int]]] = {}
    for shown in {str(f.path) for f in found}:
        try:
            plan = plan_source(_path(shown, root).read_text(encoding="utf-8"), shown)
        except (OSError, UnicodeDecodeError, SluiceError):
            spans[shown] = []
            continue
        spans[shown] = [(m.start, m.end) for chain in plan.chains for m in chain.members]
    return [f for f in found
            if any(a <= (f.line or 0) <= b for a, b in spans[str(f.path)])]


def _path(shown: str, root: Path) -> Path:
    return Path(shown) if Path(shown).is_file() else root / shown


def _fix_words(f: Finding, dialect: str, explicit: bool, locked: bool = False) -> list[str]:
    """``fix`` and its flags, for the ``sluice fix`` command that rewrites ``f``'s call for
    ``dialect``: with ``--dialect`` where ``sluice fix`` alone would not pick it (the file
    is linted for several dialects, each finding saying its own; or lint was told which)."""
    return ["fix", *(["--include-locked"] if locked else []),
            *(["--dialect", dialect] if f.dialect or explicit else [])]


def _counted(found: list[Finding], dialects: Sequence[str], explicit: bool,
             given: Invocation, sum_name: str | None = None) -> list[str]:
    """One line per command counting ``found`` (findings, files): past :data:`MAX_FILES`,
    or (``sum_name``) in files the sum file records."""
    groups: dict[tuple[str, ...], list[Finding]] = {}
    for f in found:
        key = _fix_words(f, str(_dialect(f, dialects)), explicit, locked=sum_name is not None)
        groups.setdefault(tuple(key), []).append(f)
    lines = []
    for words, group in groups.items():
        n, files = len(group), len({f.path for f in group})
        what = (f"{n} finding{'s' if n != 1 else ''} in {files} file{'s' if files != 1 else ''}"
                + (f" recorded in {sum_name}" if sum_name else "")
                + f" {'have' if n != 1 else 'has'} a "
                + (f"{words[-1]} recipe" if "--dialect" in words else "recipe"))
        diff, fix = given.sluice(*words, "--diff"), given.sluice(*words)
        if sum_name:
            lines.append(f"{what}, left alone by `sluice fix` (reviewed history): {diff} "
                         f"shows the rewrite; {fix} makes it, then {given.sluice('lock')}")
        else:
            lines.append(f"{what}: {diff} shows the rewrite, {fix} makes it")
    return lines


def _sum_name(config: SluiceConfig, section: str) -> str:
    from sluice.core.sumfile import section_sum_file  # lazy: only with a finding a recipe answers

    return section_sum_file(config.check.sum_file, section)


def _locked(paths: set[Path], config: SluiceConfig, root: Path, section: str) -> set[Path]:
    """Those of ``paths`` the sum file records with the checksum they still have (reviewed
    history: ``sluice fix`` leaves them alone, as :func:`sluice.lint.scope.reviewed_files`
    reads them)."""
    from sluice.core.sumfile import (  # lazy: only with a finding a recipe answers
        file_digest,
        parse_sum,
        sum_path,
    )

    base = root.resolve()
    try:
        state = parse_sum(sum_path(base, config.check.sum_file, section)
                          .read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return set()
    if state.conflict_line is not None or state.errors:
        return set()  # vouches for nothing (`sluice fix` says why)
    recorded = state.files
    out = set()
    for path in paths:
        try:
            rel = path.resolve().relative_to(base).as_posix()
            if rel in recorded and file_digest(path) == recorded[rel]:
                out.add(path)
        except (OSError, ValueError):
            continue
    return out


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
