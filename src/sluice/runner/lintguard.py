"""Lint findings for the revisions a run is about to apply.

Uses the lint engine (:func:`sluice.lint.engine.lint_project`: both layers, every rule,
``# sluice: ignore[...]`` suppressions applied, cached per file) on the dialect of the
target database, and the static layer for the list of operations each revision calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sluice.config import SluiceConfig
from sluice.core.findings import SEVERITY_ORDER, Finding
from sluice.core.ops import Op
from sluice.errors import SluiceError
from sluice.lint.static import analyze_file


@dataclass
class RevisionLint:
    revision: str
    path: str | None
    #: Upgrade- or downgrade-phase operations (static layer), ``script.*`` facts left out.
    ops: list[Op] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    #: Findings a reviewed suppression silenced (``Finding.suppressed``: the reason); the
    #: guard lets them through, the plan still counts their risk.
    suppressed: list[Finding] = field(default_factory=list)
    #: Why the findings may be incomplete (e.g. the file could not be parsed).
    note: str | None = None

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]


def _same_file(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:  # pragma: no cover
        return a == b


def lint_revisions(
    ini: str | Path,
    config: SluiceConfig,
    revisions: Sequence[tuple[str, str | None]],
    *,
    dialect: str,
    phase: str = "upgrade",
    x_args: Sequence[str] = (),
    with_ops: bool = True,
    strict: bool = False,
    ini_section: str = "alembic",
) -> dict[str, RevisionLint]:
    """``{revision: RevisionLint}`` for ``(revision, path)`` pairs.

    Findings are those of ``phase``: the engine lints both phases, and a finding belongs to
    the phase whose operations are on its line. ``with_ops=False`` (the guard alone)
    reads operations only for revisions that have findings. ``strict``: a lint that
    cannot run is an error instead of a note (the lint guard relies on it).
    """
    out: dict[str, RevisionLint] = {rev: RevisionLint(rev, path) for rev, path in revisions}
    lines: dict[str, dict[str, set[int]]] = {}

    def static_ops(item: RevisionLint) -> None:
        lines[item.revision] = {"upgrade": set(), "downgrade": set()}
        if not item.path:
            return
        static = analyze_file(item.path)
        if static.error:
            item.note = static.error
        item.ops = [o for o in static.ops if o.phase == phase
                    and not o.kind.startswith("script.")]
        for o in static.ops:
            if o.line is not None:
                lines[item.revision][o.phase].add(o.line)

    if with_ops:
        for item in out.values():
            static_ops(item)
    if not revisions:
        return out
    from sluice.lint.engine import lint_project  # lazy: lint only when an upgrade lints first

    # the scripts' own files select them without resolving 200 revision ids through a
    # revision map the lint builds again (what Alembic loaded is what the lint reads)
    paths = [p for _, p in revisions if p]
    by_path = len(paths) == len(revisions)
    try:
        result = lint_project(ini, config, revisions=None if by_path else [r for r, _ in revisions],
                              paths=paths if by_path else None, dialects=[dialect],
                              x_args=list(x_args), ini_section=ini_section)
    except SluiceError as exc:
        if strict:  # a guard that cannot look must not let the run through
            raise SluiceError(f"cannot lint the revisions to apply, which this environment "
                              f"requires before changing the database: {exc}") from None
        for item in out.values():
            item.note = f"lint failed: {exc}"
        return out
    for f in [*result.findings, *result.suppressed]:
        target = out.get(f.revision or "")
        if target is None:
            target = next((t for t in out.values() if _same_file(t.path, f.path)), None)
        if target is None:
            continue
        if target.revision not in lines:
            if f.suppressed is not None and not with_ops:
                continue  # the guard alone: only what it refuses matters
            static_ops(target)
        mine, other = (lines[target.revision][phase],
                       lines[target.revision]["downgrade" if phase == "upgrade" else "upgrade"])
        if phase == "downgrade" and f.line not in mine:
            continue
        if phase == "upgrade" and f.line in other and f.line not in mine:
            continue
        (target.findings if f.suppressed is None else target.suppressed).append(f)
    for item in out.values():
        for found in (item.findings, item.suppressed):
            found.sort(key=lambda f: (-SEVERITY_ORDER[f.severity], f.line or 0, f.rule))
    return out


def findings_for_op(op: Op, findings: Sequence[Finding]) -> list[Finding]:
    return [f for f in findings if f.line is not None and f.line == op.line]
