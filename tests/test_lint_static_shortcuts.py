"""Shortcuts the lint of thousands of revisions takes give what the long way gives.

Each cheap test that skips work (a text search, a copy of a finding) is compared with
the work it skips, on the revision files of the rule fixtures and on texts written to
reach every branch of it.
"""

from __future__ import annotations

import ast
import gc
from dataclasses import FrozenInstanceError, replace
from pathlib import Path
from types import FunctionType

import pytest

from sluice.core import history
from sluice.lint import needs
from sluice.lint.merge import copy_finding
from sluice.lint.model import Finding, Op
from sluice.lint.static import analyze_source, facts, newop
from sluice.lint.static.values import UNKNOWN, literal_value
from sluice.output import text as text_output

RULES = Path(__file__).resolve().parent.parent / "src" / "sluice" / "rules"


def _fixture_sources() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted(RULES.rglob("*.py"))]


DIALECT_TEXTS = [
    "", "name", "name == 'x'", 'if name == "postgresql": pass',
    'if bind.dialect.name != "sqlite":\n    pass',
    'x = ctx.engine\n', 'x = engine\n', "if dialect in ('mysql',): pass",
    "dialect = 1", "dialect.name", "table_name != 'mysql'", "name=='mariadb'",
    "name  !=  'sqlite'", "op.get_bind().dialect", "# .engine in a comment",
    "n == 'postgresql'", "name\n== 'postgresql'", "rename == 'sqlite'",
    "x.dialect_name", "dialects.x", "_dialect.x", "a.dialect", "x.dialect\n", "é.dialect",
    "dialect inx", "dialect\tin (1,)", "dialect\n.name", "a.engine_x", "a.engine", "x.engines",
    "éname == 'mysql'", "name == 'mysqlx'", "name != \"sqlite\"", "dialect==", "xdialect ==",
]
#: Pieces that make or break each alternative of the dialect search.
DIALECT_PIECES = [".", "dialect", "engine", "name", "==", "!=", " ", "\n", "in", " in ", "x",
                  "_", "é", "'postgresql'", '"mysql"', "'mariadb'", "'sqlite'", "'other'", "(",
                  "1", "re"]


def test_the_dialect_search_reads_only_where_a_word_of_it_is(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole pattern is never run over a file: only the places that spell
    ``dialect``, ``.engine`` or ``name`` are looked at."""
    searched: list[str] = []
    compiled = needs._compiled

    def watch(pattern: str) -> object:
        searched.append(pattern)
        return compiled(pattern)

    monkeypatch.setattr(needs, "_compiled", watch)
    assert needs._reads_dialect("x = 1\n" * 50 + "if bind.dialect.name == 'sqlite': pass")
    assert not needs._reads_dialect("table_name = 'x'\n" * 50 + "n = 2 == 3")
    assert needs._DIALECT not in searched


@pytest.mark.parametrize("seed", range(10))
def test_the_dialect_search_equals_the_pattern_on_random_texts(seed: int) -> None:
    import random  # lazy: only this test draws random texts

    rng = random.Random(seed)
    found = 0
    for _ in range(500):
        text = "".join(rng.choice(DIALECT_PIECES) for _ in range(rng.randrange(1, 12)))
        expected = needs._compiled(needs._DIALECT).search(text) is not None
        assert needs._reads_dialect(text) is expected, text
        found += expected
    assert found > 15


@pytest.mark.parametrize("text", DIALECT_TEXTS)
def test_the_dialect_search_is_skipped_only_where_it_cannot_match(text: str) -> None:
    assert needs._reads_dialect(text) is (needs._compiled(needs._DIALECT).search(text) is not None)


def test_the_dialect_search_shortcut_on_every_rule_fixture() -> None:
    sources = _fixture_sources()
    assert len(sources) > 100
    found = [needs._reads_dialect(s) for s in sources]
    assert found == [needs._compiled(needs._DIALECT).search(s) is not None for s in sources]
    assert any(found) and not all(found)


def test_a_copied_finding_is_what_replace_makes() -> None:
    op = Op("drop_column", table="t", column="c", line=3)
    base = Finding("SL101", "drop-column", "error", "drops t.c", "fix", "/p/v/a.py", 3,
                   "a1", "postgresql", op=op, suppressed="reviewed", details="d")
    for changes in ({"dialect": None}, {"path": "v/a.py"}, {"path": None, "line": 7},
                    {}, {"op": None, "severity": "info"}):
        copied, replaced = copy_finding(base, **changes), replace(base, **changes)
        assert type(copied) is Finding and copied is not base
        assert vars(copied) == vars(replaced) and copied == replaced
        assert hash(copied) == hash(replaced)
    assert vars(base)["dialect"] == "postgresql"  # the original is unchanged
    with pytest.raises(TypeError):
        copy_finding(base, no_such_field=1)
    with pytest.raises(FrozenInstanceError):
        copy_finding(base, line=1).line = 2  # type: ignore[misc]


NESTED = '''
import a
def upgrade():
    import b
    try:
        import c
    except ValueError:
        import d
    else:
        import e
    finally:
        import f
    with x:
        import g
    for i in y:
        import h
    else:
        import i
    while z:
        import j
    else:
        import k
    match v:
        case 1:
            import l
        case _ if w:
            from m import n
    if t:
        import o
    elif u:
        import p
    else:
        class Q:
            import r
            def s(self):
                import s
    async def inner():
        async with q:
            import t
        async for r in q:
            import u
    x: int = 1
    x += 1
def downgrade_x():
    def helper():
        import v
    try:
        pass
    except* OSError:
        import w
    import x
'''


def test_imports_found_statement_by_statement_are_those_of_the_full_walk() -> None:
    """(and the call statements, where ``sluice.data``'s steps are found)"""
    sources = [NESTED, *_fixture_sources()]
    for source in sources:
        tree = ast.parse(source)
        walked = [(node, phase) for node, phase in facts._walk_with_phase(tree)
                  if isinstance(node, (ast.Import, ast.ImportFrom)) or (
                      isinstance(node, ast.Expr) and isinstance(node.value, ast.Call))]
        assert facts._imports_with_phase(tree) == walked
    names = [(n.names[0].name, p) for n, p in facts._imports_with_phase(ast.parse(NESTED))
             if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert len(names) == 22 and names[-1] == ("x", "downgrade") and names[0] == ("a", "upgrade")


def test_reading_revisions_statically_leaves_no_garbage_cycles() -> None:
    """Every revision read leaves nothing only the cycle collector would free (a lint
    of thousands of revisions would pay for collecting it)."""
    sources = [NESTED, *_fixture_sources()]
    analyze_source(sources[0], "warm-up.py")  # first-use caches, not garbage
    gc.collect()
    gc.disable()
    gc.garbage.clear()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what the collector finds is kept in gc.garbage
    try:
        for i, source in enumerate(sources):
            result = analyze_source(source, f"r{i}.py")
            result.tree = None
            del result
        gc.collect()
        # (other libraries a test session loaded may leave their own garbage)
        ours = [o for o in gc.garbage if isinstance(o, ast.AST) or (
            isinstance(o, FunctionType) and o.__module__.startswith("sluice"))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert ours == []


def test_an_op_made_by_the_static_layer_is_what_its_constructor_makes() -> None:
    assert newop._TEMPLATE is not None  # Op is a plain dataclass: the short way is taken
    for kind, line, phase, args in (("add_column", 3, "upgrade", None),
                                    ("script.downgrade", None, "downgrade", {"kind": "ops"}),
                                    ("execute", 12, "upgrade", {})):
        made = newop.make_op(kind, line, phase, args)
        built = Op(kind, line=line, phase=phase,  # type: ignore[arg-type]
                   args={} if args is None else args)
        assert type(made) is Op and made == built
        assert list(vars(made).items()) == list(vars(built).items())
    first, second = newop.make_op("x", 1, "upgrade"), newop.make_op("x", 1, "upgrade")
    first.args["k"] = 1
    assert second.args == {}  # a new dict per op


def _clean_the_long_way(text: str) -> str:
    text = text.translate(text_output._STRIP)
    if "\t" not in text:
        return text
    return "\n".join(text_output._expand_tabs(line) if "\t" in line else line
                     for line in text.split("\n"))


def test_text_output_cleans_a_line_as_the_long_way_does() -> None:
    every_char = "".join(chr(c) for c in range(0x3000)) + "\U0001f600\u3000\uff21"
    texts = [every_char, "plain ascii line", "tab\there", "cr\r", "bell\x07", "",
             "wide \uff21\tx", "zero\u200bwidth", "  fix: 1. Add t.c\n2. Backfill"]
    texts += [every_char[i:i + 7] for i in range(0, len(every_char), 7)]
    for text in texts:
        assert text_output.clean(text) == _clean_the_long_way(text)


def test_literal_values_of_names_and_constants() -> None:
    name, const = ast.parse("t", mode="eval").body, ast.parse("'x'", mode="eval").body
    assert literal_value(const) == "x" and literal_value(const, {}) == "x"
    assert literal_value(name) is UNKNOWN and literal_value(name, {}) is UNKNOWN
    assert literal_value(name, {"t": "users"}) == "users"
    assert literal_value(name, {"u": 1}) is UNKNOWN
    both = ast.parse("(t, 'x', u)", mode="eval").body
    assert literal_value(both, {"t": 1, "u": None}) == (1, "x", None)
    assert literal_value(both, {"t": 1}) is UNKNOWN


def test_the_header_reads_only_assignments_that_can_change_it() -> None:
    value = ast.parse("'a1'", mode="eval").body
    for name in [*history._HEADER_NAMES, "revisions", "down", "phase", "op", "doc",
                 "branch_label", "depends", "Revision", "_revision"]:
        header = history.RevisionHeader(path=Path("r.py"))
        history._assign(header, name, value, 3)
        changed = header != history.RevisionHeader(path=Path("r.py"))
        assert changed is (name in history._HEADER_NAMES), name
    tree = ast.parse("x: int = 1\nrevision: str = 'a1'\ndown_revision = 'a0'\nop = 2\n")
    header = history.header_from_tree(tree, "r.py")
    assert (header.revision, header.down_revisions, header.revision_line) == ("a1", ("a0",), 2)
