"""Running the lint rules over ops; the rules themselves are in :mod:`sluice.rules`.

The registry (:class:`Rule`, :func:`rule`, :func:`all_rules` ...) lives in
:mod:`sluice.rules.registry` and is re-exported here under the names callers have used.
"""

from __future__ import annotations

from collections.abc import Iterable

from sluice.core.findings import Finding
from sluice.core.ops import Op
from sluice.rules.registry import (
    RULES,
    UPGRADE,
    CheckFn,
    Rule,
    RuleContext,
    RuleIndex,
    active_rules,
    all_rules,
    find_rule,
    hits,
    rule,
    severity_for,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sluice.config import SluiceConfig

__all__ = [
    "RULES", "UPGRADE", "CheckFn", "Rule", "RuleContext", "RuleIndex", "active_rules",
    "all_rules", "find_rule", "rule", "run_rules", "run_rules_for", "severity_for",
]


def run_rules(
    ops: list[Op],
    config: SluiceConfig,
    *,
    dialect: str | None = None,
    rules: Iterable[Rule] | RuleIndex | None = None,
) -> list[Finding]:
    """Run ``rules`` (default: the active ones) over ``ops``; one finding per hit.

    With a ``dialect``, only rules covering it run. Without one (the op model alone, as
    during autogenerate), rules limited to some dialects are skipped: a PostgreSQL
    locking rule says nothing about a project that may not run PostgreSQL. A rule with
    ``kinds`` (``phases``) only sees ops of those kinds (phases).
    """
    ctx = RuleContext(config=config, dialect=dialect, ops=ops)
    index = rules if isinstance(rules, RuleIndex) else RuleIndex(
        rules if rules is not None else active_rules(config))
    findings: list[Finding] = []
    for op in ops:
        for r, check in index.checks(op.kind, op.phase, dialect):
            result = check(op, ctx)
            if result is None:
                continue
            for hit in hits(result):
                target = hit.op or op
                findings.append(
                    Finding(
                        rule=r.id,
                        name=r.name,
                        severity=severity_for(r, config, hit.severity),
                        message=hit.message,
                        fix=hit.fix,
                        path=target.path,
                        line=target.line,
                        revision=target.revision,
                        dialect=dialect,
                        op=target,
                    )
                )
    return findings


def run_rules_for(
    ops: list[Op],
    config: SluiceConfig,
    dialects: Iterable[str | None],
    *,
    rules: Iterable[Rule] | None = None,
) -> list[Finding]:
    """:func:`run_rules` for each of ``dialects``; one finding per rule and op (the first
    dialect's), so a rule that fires on several dialects is reported once."""
    index = RuleIndex(rules if rules is not None else active_rules(config))
    seen: set[tuple[str, int]] = set()
    out: list[Finding] = []
    for dialect in dialects:
        for f in run_rules(ops, config, dialect=dialect, rules=index):
            key = (f.rule, id(f.op))
            if key not in seen:
                seen.add(key)
                out.append(f)
    return out
