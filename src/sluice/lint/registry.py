"""The rule catalog: each rule is data plus one check function.

A rule module declares its rules with :func:`rule`; ``sluice.lint.rules`` imports every
family module, so importing it fills :data:`RULES`. The check's docstring is the rule's
documentation (``sluice rules ID`` and ``docs/rules.md`` are generated from it): first
paragraph the summary, then why it is dangerous, then the safe alternative step by step.

A rule that only ever reports on some op kinds says which (``kinds=("drop_table",
"execute")``), and one that only reports on ops of some phases says that
(``phases=UPGRADE``): :func:`run_rules` then never calls its check for other ops. Most
rules look at one or two kinds of upgrade ops, so this saves most check calls of a lint
run. A rule without ``kinds`` (``phases``) sees ops of every kind (phase).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sluice.lint.model import DIALECTS, SEVERITY_ORDER, Finding, Hit, Op, Severity

if TYPE_CHECKING:
    from sluice.config import SluiceConfig


@dataclass
class RuleContext:
    """What a check may look at besides the op itself."""

    config: SluiceConfig
    #: The dialect being linted (None: the op model only, e.g. during autogenerate).
    dialect: str | None = None
    #: All ops of the same revision and phase, in order (for revision-level rules).
    ops: list[Op] = field(default_factory=list)


CheckFn = Callable[[Op, RuleContext], "Hit | Iterable[Hit] | None"]


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    family: str
    dialects: tuple[str, ...]
    severity: Severity
    check: CheckFn
    #: Used by the autogenerate policy to refuse or annotate generated operations.
    autogenerate: bool = False
    #: Off unless enabled in ``[tool.sluice.lint] enable``.
    default_enabled: bool = True
    #: The op kinds the check can report on (None: any). Ops of other kinds are not
    #: passed to it, so it must return nothing for them.
    kinds: frozenset[str] | None = None
    #: The phases (``upgrade``, ``downgrade``) of the ops the check can report on (None:
    #: any); the same contract as ``kinds``.
    phases: frozenset[str] | None = None

    @property
    def doc(self) -> str:
        return inspect.cleandoc(self.check.__doc__ or "")

    @property
    def summary(self) -> str:
        return self.doc.split("\n\n", 1)[0].replace("\n", " ")


RULES: dict[str, Rule] = {}

#: ``phases=`` of a rule about what an upgrade does (most of them).
UPGRADE = ("upgrade",)


def rule(
    id: str,
    name: str,
    *,
    family: str,
    severity: Severity,
    dialects: Iterable[str] = DIALECTS,
    autogenerate: bool = False,
    default_enabled: bool = True,
    kinds: Iterable[str] | None = None,
    phases: Iterable[str] | None = None,
) -> Callable[[CheckFn], CheckFn]:
    """Register the decorated check function as a rule (``kinds``, ``phases``: see the
    module docs)."""

    def register(fn: CheckFn) -> CheckFn:
        if id in RULES:
            raise ValueError(f"duplicate rule id {id}")
        if any(r.name == name for r in RULES.values()):
            raise ValueError(f"duplicate rule name {name}")
        RULES[id] = Rule(
            id=id,
            name=name,
            family=family,
            dialects=tuple(dialects),
            severity=severity,
            check=fn,
            autogenerate=autogenerate,
            default_enabled=default_enabled,
            kinds=frozenset(kinds) if kinds is not None else None,
            phases=frozenset(phases) if phases is not None else None,
        )
        return fn

    return register


def all_rules() -> dict[str, Rule]:
    import sluice.lint.rules  # noqa: F401  (fills RULES)

    return RULES


def find_rule(key: str) -> Rule | None:
    rules = all_rules()
    key_l = key.lower()
    for r in rules.values():
        if r.id.lower() == key_l or r.name == key_l:
            return r
    return None


def active_rules(config: SluiceConfig) -> list[Rule]:
    """Rules enabled by defaults and ``[tool.sluice.lint] enable/disable``."""
    lint = config.lint
    wanted = {k.lower() for k in lint.enable}
    unwanted = {k.lower() for k in lint.disable}
    out = []
    for r in all_rules().values():
        keys = {r.id.lower(), r.name, r.family}
        if keys & unwanted:
            continue
        if r.default_enabled or keys & wanted:
            out.append(r)
    return out


def severity_for(r: Rule, config: SluiceConfig) -> Severity:
    sev = config.lint.severity.get(r.id) or config.lint.severity.get(r.name)
    return sev if sev in SEVERITY_ORDER else r.severity  # type: ignore[return-value]


def _hits(result: Any) -> Iterable[Hit]:
    if result is None:
        return ()
    if isinstance(result, Hit):
        return (result,)
    return result  # type: ignore[no-any-return]


class RuleIndex:
    """A rule list that knows which of its rules run for each op kind, phase and dialect.

    :func:`run_rules` builds one per call; pass one as ``rules`` to share that work
    between calls with the same rules (the lint engine does, per file and phase).
    """

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = list(rules)
        self._for: dict[tuple[str, str, str | None], list[Rule]] = {}

    def select(self, kind: str, phase: str, dialect: str | None) -> list[Rule]:
        """The rules :func:`run_rules` runs for an op of ``kind`` and ``phase`` when linting
        ``dialect``, in catalog order."""
        key = (kind, phase, dialect)
        found = self._for.get(key)
        if found is None:
            found = self._for[key] = [
                r for r in self.rules
                if (r.kinds is None or kind in r.kinds)
                and (r.phases is None or phase in r.phases)
                and (dialect in r.dialects if dialect is not None
                     else not set(DIALECTS) - set(r.dialects))
            ]
        return found


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
        for r in index.select(op.kind, op.phase, dialect):
            for hit in _hits(r.check(op, ctx)):
                target = hit.op or op
                findings.append(
                    Finding(
                        rule=r.id,
                        name=r.name,
                        severity=severity_for(r, config),
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
