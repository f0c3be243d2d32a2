"""The rule catalog: each rule is data plus one check function.

A rule module declares its rules with :func:`rule`; ``sluice.lint.rules`` imports every
family module, so importing it fills :data:`RULES`. The check's docstring is the rule's
documentation (``sluice rules ID`` and ``docs/rules.md`` are generated from it): first
paragraph the summary, then why it is dangerous, then the safe alternative step by step.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator
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

    @property
    def doc(self) -> str:
        return inspect.cleandoc(self.check.__doc__ or "")

    @property
    def summary(self) -> str:
        return self.doc.split("\n\n", 1)[0].replace("\n", " ")


RULES: dict[str, Rule] = {}


def rule(
    id: str,
    name: str,
    *,
    family: str,
    severity: Severity,
    dialects: Iterable[str] = DIALECTS,
    autogenerate: bool = False,
    default_enabled: bool = True,
) -> Callable[[CheckFn], CheckFn]:
    """Register the decorated check function as a rule."""

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


def _hits(result: Any) -> Iterator[Hit]:
    if result is None:
        return
    if isinstance(result, Hit):
        yield result
        return
    yield from result


def run_rules(
    ops: list[Op],
    config: SluiceConfig,
    *,
    dialect: str | None = None,
    rules: Iterable[Rule] | None = None,
) -> list[Finding]:
    """Run ``rules`` (default: the active ones) over ``ops``; one finding per hit.

    With a ``dialect``, only rules covering it run. Without one (the op model alone, as
    during autogenerate), rules limited to some dialects are skipped: a PostgreSQL
    locking rule says nothing about a project that may not run PostgreSQL.
    """
    ctx = RuleContext(config=config, dialect=dialect, ops=ops)
    selected = list(rules) if rules is not None else active_rules(config)
    findings: list[Finding] = []
    for op in ops:
        for r in selected:
            if dialect is not None and dialect not in r.dialects:
                continue
            if dialect is None and set(DIALECTS) - set(r.dialects):
                continue
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
