"""Inline suppressions: ``# sluice: ignore[SL123] reason``.

A suppression comment silences the listed rules (ids or names, comma separated):

- on the line of the operation (the line a finding points at), or on a comment-only line
  directly above it;
- for the whole file when it is a comment-only line before the first ``def``/``class`` of
  the revision (the header, next to the imports).

Text after the closing bracket is the reason; a suppression without one is itself a
finding (SL901), and so is a suppression that silenced nothing (SL902) or that names a
rule that does not exist (SL904). Those meta findings come from rules registered in
:mod:`sluice.lint.rules.meta`, through synthetic ``lint.*`` operations built here.

The comment the autogenerate policy writes above an operation someone allowed when the
revision was generated (``-x allow=KIND:TARGET`` or ``SLUICE_ALLOW``)::

    # sluice: allowed drop_column:users.legacy (SL002 drop-column) by -x allow=...

is a reviewed suppression of that rule for the operation below it (past any further
comment lines), so lint, pre-commit and the upgrade guard agree with the decision made
at generation time. It never applies to the whole file and is never reported unused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from sluice.lint.model import Finding, Op
from sluice.lint.registry import find_rule

__all__ = ["Suppression", "apply_suppressions", "parse_suppressions", "suppression_ops"]

_COMMENT = r"(?i)#\s*sluice\s*:\s*ignore\s*\[([^\]]*)\]\s*(.*)$"
#: What :func:`sluice.policy.dangerous.dangerous_ops` writes above an allowed operation.
_ALLOWED = r"#\s*sluice: allowed (\S+) \((SL\d{3})(?: [\w-]+)?\) by (.+?)\s*$"
_TOP_DEF = r"^(?:async\s+def|def|class)\s|^@"
#: Suppressions cannot silence findings about suppressions.
META_SUPPRESSION_RULES = frozenset({"SL901", "SL902", "SL904"})


@dataclass
class Suppression:
    """One ``# sluice: ignore[...]`` comment and what it silences."""

    line: int
    #: Rule ids or names as written (compared case-insensitively).
    rules: tuple[str, ...]
    reason: str
    #: Applies to the whole file (comment-only line before the first def/class).
    file_level: bool = False
    #: The comment is alone on its line (so it also covers the next line).
    standalone: bool = False
    #: Rule ids this suppression silenced at least one finding of.
    used: set[str] = field(default_factory=set)
    #: Written by the autogenerate policy for an allowed operation: covers ``target``.
    generated: bool = False
    #: The line of the operation a generated suppression covers.
    target: int | None = None

    def covers(self, finding: Finding) -> bool:
        keys = {k.lower() for k in self.rules}
        if finding.rule.lower() not in keys and finding.name.lower() not in keys:
            return False
        if self.file_level:
            return True
        if finding.line is None:
            return False
        if self.generated:
            return finding.line == self.target
        return finding.line == self.line or (self.standalone and finding.line == self.line + 1)


def parse_suppressions(source: str) -> list[Suppression]:
    """Every ``# sluice: ignore[...]`` comment in ``source`` (real comments only)."""
    if "sluice" not in source:
        return []
    import io  # lazy: tokenize costs a warm lint's start-up; most files never get here
    import tokenize  # lazy: as above

    # compiled here, not at import: most files have no "sluice" and never get this far
    top_def, comment, allowed_re = (re.compile(_TOP_DEF), re.compile(_COMMENT),
                                    re.compile(_ALLOWED))
    lines = source.splitlines()
    first_def = next((i + 1 for i, text in enumerate(lines) if top_def.match(text)),
                     len(lines) + 1)
    out: list[Suppression] = []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return out
    for tok in tokens:
        if tok.type != tokenize.COMMENT:
            continue
        m = comment.search(tok.string)
        if not m:
            allowed = allowed_re.search(tok.string)
            if allowed and lines[tok.start[0] - 1][: tok.start[1]].strip() == "":
                out.append(_generated(allowed, tok.start[0], lines))
            continue
        rules = tuple(r.strip() for r in m.group(1).split(",") if r.strip())
        reason = m.group(2).strip().lstrip("-:—").strip()
        line = tok.start[0]
        standalone = lines[line - 1][: tok.start[1]].strip() == ""
        out.append(Suppression(line=line, rules=rules, reason=reason,
                               file_level=standalone and line < first_def,
                               standalone=standalone))
    return out


def _generated(m: re.Match[str], line: int, lines: list[str]) -> Suppression:
    """The suppression an allow comment of the autogenerate policy stands for."""
    target = line + 1
    while target <= len(lines) and (not lines[target - 1].strip()
                                    or lines[target - 1].lstrip().startswith("#")):
        target += 1
    return Suppression(line=line, rules=(m.group(2),), standalone=True, generated=True,
                       reason=f"allowed {m.group(1)} by {m.group(3)} when generated",
                       target=target)


def apply_suppressions(
    findings: list[Finding], suppressions: list[Suppression]
) -> tuple[list[Finding], list[Finding]]:
    """Split ``findings`` into (kept, suppressed), marking which suppressions were used."""
    if not suppressions:
        return findings, []
    kept: list[Finding] = []
    silenced: list[Finding] = []
    for f in findings:
        if f.rule in META_SUPPRESSION_RULES:
            kept.append(f)
            continue
        reason: str | None = None
        for s in suppressions:
            if s.covers(f):
                s.used.add(f.rule)
                if reason is None:
                    reason = s.reason or "(no reason given)"
        if reason is None:
            kept.append(f)
        else:
            silenced.append(replace(f, suppressed=reason))
    return kept, silenced


def suppression_ops(
    suppressions: list[Suppression], *, path: str, revision: str | None, known: set[str]
) -> list[Op]:
    """Synthetic ``lint.*`` ops describing suppression problems, for the meta rules.

    ``known``: lower-cased ids and names of every registered rule.
    """
    ops: list[Op] = []
    for s in suppressions:
        if s.generated:
            continue  # written by Sluice itself; the header repeats it, unused on purpose
        where = "file" if s.file_level else "line"
        common = {"rules": list(s.rules), "scope": where}
        if not s.rules:
            ops.append(Op("lint.suppression_unknown_rule", line=s.line, path=path,
                          revision=revision, source="static",
                          args={**common, "unknown": ["(empty)"]}))
            continue
        unknown = [r for r in s.rules if r.lower() not in known]
        if unknown:
            ops.append(Op("lint.suppression_unknown_rule", line=s.line, path=path,
                          revision=revision, source="static",
                          args={**common, "unknown": unknown}))
        if not s.reason:
            ops.append(Op("lint.suppression_without_reason", line=s.line, path=path,
                          revision=revision, source="static", args=common))
        known_rules = [r for r in s.rules if r.lower() in known]
        unused = [r for r in known_rules if not _used(r, s.used)]
        if unused:
            ops.append(Op("lint.unused_suppression", line=s.line, path=path,
                          revision=revision, source="static",
                          args={**common, "unused": unused}))
    return ops


def _used(key: str, used: set[str]) -> bool:
    r = find_rule(key)
    return r is not None and r.id in used
