"""Rules that declare ``kinds`` (``phases``) never report on an op of another kind (phase).

``run_rules`` does not call a rule's check for ops outside the kinds and phases it
declares (see :mod:`sluice.lint.registry`), so a declaration that leaves out one the
check reports on would silently lose findings. Every op the rule fixtures give (static
layer) is handed to each such rule under every kind some rule declares but this one does
not, and in every phase it does not declare: none may hit. And linting the fixtures with
the declarations gives the same findings as without them.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from sluice.config import SluiceConfig, parse_config
from sluice.lint.model import Op
from sluice.lint.registry import Rule, RuleContext, RuleIndex, all_rules, run_rules
from sluice.lint.static import analyze_file
from sluice.rules import lint as lint_rules

RULE_DIR = Path(lint_rules.__file__).resolve().parent
RULES = all_rules()
DECLARED = sorted({k for r in RULES.values() if r.kinds for k in r.kinds})
PHASES = ("upgrade", "downgrade")


def _config(path: Path) -> SluiceConfig:
    first = path.read_text(encoding="utf-8").splitlines()[:3]
    for line in first:
        m = re.match(r"#\s*sluice-test:\s*config\s*=\s*(.*)$", line)
        if m:
            return parse_config(json.loads(m.group(1)))
    return SluiceConfig()


def _corpus() -> list[tuple[Path, SluiceConfig, list[Op]]]:
    out = []
    for path in sorted(RULE_DIR.glob("*.fixtures/*.py")):
        result = analyze_file(path)
        if result.error is None:
            out.append((path, _config(path), result.ops))
    return out


CORPUS = _corpus()


# _probe copies an op field for field, as dataclasses.replace does, without running
# __init__ (a rule is handed over a million probes): right only while Op has no
# __post_init__ or __slots__
assert "__post_init__" not in vars(Op) and "__slots__" not in vars(Op)


def _probe(op: Op, **changes: str) -> Op:
    """``dataclasses.replace(op, **changes, args=dict(op.args))``: a copy of its own, with
    an ``args`` dict of its own (a check may change what it is handed)."""
    probe = object.__new__(Op)
    probe.__dict__.update(op.__dict__, **changes)
    probe.args = dict(op.args)
    return probe


def _hits(rule: Rule, op: Op, config: SluiceConfig) -> list[object]:
    ctx = RuleContext(config=config, dialect=rule.dialects[0], ops=[op])
    result = rule.check(op, ctx)
    return [] if result is None else [result] if not hasattr(result, "__iter__") \
        else list(result)


def test_the_corpus_covers_every_declared_kind_family() -> None:
    seen = {o.kind for _, _, ops in CORPUS for o in ops}
    assert {"execute", "add_column", "alter_column", "create_index", "drop_table",
            "script.downgrade"} <= seen
    assert {o.phase for _, _, ops in CORPUS for o in ops} == set(PHASES)
    assert sum(1 for r in RULES.values() if r.kinds is not None) >= 40
    assert sum(1 for r in RULES.values() if r.phases is not None) >= 30


@pytest.mark.parametrize("rule", [r for r in RULES.values() if r.kinds is not None],
                         ids=lambda r: r.id)
def test_a_rule_says_nothing_about_kinds_it_does_not_declare(rule: Rule) -> None:
    assert rule.kinds is not None
    others = [k for k in DECLARED if k not in rule.kinds]
    for path, config, ops in CORPUS:
        for op in ops:
            for kind in others:
                probe = _probe(op, kind=kind)
                assert not _hits(rule, probe, config), (
                    f"{rule.id} reports on a {kind} op ({path.name}, line {op.line}) but "
                    f"declares kinds {sorted(rule.kinds)}")


@pytest.mark.parametrize("rule", [r for r in RULES.values() if r.phases is not None],
                         ids=lambda r: r.id)
def test_a_rule_says_nothing_about_phases_it_does_not_declare(rule: Rule) -> None:
    assert rule.phases is not None
    others = [p for p in PHASES if p not in rule.phases]
    for path, config, ops in CORPUS:
        for op in ops:
            for phase in others:
                probe = _probe(op, phase=phase)
                assert not _hits(rule, probe, config), (
                    f"{rule.id} reports on a {phase} op ({path.name}, line {op.line}) but "
                    f"declares phases {sorted(rule.phases)}")


def test_kinds_change_no_finding_on_the_fixtures() -> None:
    every = list(RULES.values())
    # (each copy carries its check: a copy cannot load it once the file is imported)
    undeclared = RuleIndex([dataclasses.replace(r, kinds=None, phases=None, loaded=r.check)
                            for r in every])
    checked = 0
    for _, config, ops in CORPUS:
        for dialect in ("postgresql", "mysql", "sqlite"):
            with_kinds = run_rules(ops, config, dialect=dialect, rules=every)
            without = run_rules(ops, config, dialect=dialect, rules=undeclared)
            assert [f.as_dict() for f in with_kinds] == [f.as_dict() for f in without]
            checked += len(with_kinds)
    assert checked > 100  # the fixtures do trigger rules
