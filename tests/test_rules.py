"""The rule catalog, rule by rule, on real revision files.

For every rule there are fixture revisions beside its file in ``src/sluice/rules/lint``
(``sl201_create_index_non_concurrently.py`` has ``sl201_create_index_non_concurrently.fixtures/``):
``SLxxx_bad*.py`` must trigger the rule on every line marked ``# <-`` (and nowhere else),
``SLxxx_ok*.py`` is a close variant that must not trigger it, for every dialect the rule
covers. A fixture may start with ``# sluice-test: config = {...}`` (a ``[tool.sluice]``
mapping as JSON) and ``# sluice-test: dialects = a, b`` to narrow the dialects.
Files are analysed by the static layer only, as ``sluice lint`` does first.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sluice.config import SluiceConfig, parse_config
from sluice.lint.model import DIALECTS, Finding
from sluice.lint.registry import Rule, active_rules, all_rules, run_rules
from sluice.lint.static import analyze_file
from sluice.rules import lint as lint_rules

RULE_DIR = Path(lint_rules.__file__).resolve().parent
RULES = all_rules()
MARK = "# <-"


def _directives(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"#\s*sluice-test:\s*(\w+)\s*=\s*(.*)$", line)
        if not m:
            break
        out[m.group(1)] = m.group(2).strip()
    return out


def _config(path: Path) -> SluiceConfig:
    raw = _directives(path).get("config")
    return parse_config(json.loads(raw)) if raw else SluiceConfig()


def _dialects(rule: Rule, path: Path) -> list[str]:
    raw = _directives(path).get("dialects")
    wanted = [d.strip() for d in raw.split(",")] if raw else list(DIALECTS)
    return [d for d in rule.dialects if d in wanted]


def _fixtures(kind: str) -> list[Path]:
    return sorted(RULE_DIR.glob(f"*.fixtures/SL*_{kind}*.py"))


def fixture(name: str) -> Path:
    """The fixture file ``name`` (``SL201_bad.py``), beside its rule."""
    (path,) = RULE_DIR.glob(f"*.fixtures/{name}")
    return path


def lint(path: Path, rule: Rule, dialect: str) -> list[Finding]:
    result = analyze_file(path)
    assert result.error is None, result.error
    return run_rules(result.ops, _config(path), dialect=dialect, rules=[rule])


def _cases(kind: str) -> list[tuple[str, Path, str]]:
    cases = []
    for path in _fixtures(kind):
        rule_id = path.name.split("_")[0]
        rule = RULES.get(rule_id)
        if rule is None:
            continue  # reported by test_every_fixture_belongs_to_a_rule
        for dialect in _dialects(rule, path):
            cases.append((rule_id, path, dialect))
    return cases


def _ids(cases: list[tuple[str, Path, str]]) -> list[str]:
    return [f"{p.stem}-{d}" for _, p, d in cases]


BAD = _cases("bad")
OK = _cases("ok")


@pytest.mark.parametrize(("rule_id", "path", "dialect"), BAD, ids=_ids(BAD))
def test_bad_fixture_triggers_rule_on_marked_lines(rule_id: str, path: Path, dialect: str
                                                   ) -> None:
    rule = RULES[rule_id]
    findings = lint(path, rule, dialect)
    lines = path.read_text(encoding="utf-8").splitlines()
    expected = {i for i, line in enumerate(lines, 1) if MARK in line}
    assert expected, f"{path.name} marks no line with '{MARK}'"
    got = {f.line for f in findings}
    assert got == expected, (
        f"{rule_id} on {dialect}: expected findings on lines {sorted(expected)}, got "
        f"{sorted(x for x in got if x is not None)}: {[f.message for f in findings]}"
    )
    for f in findings:
        assert f.rule == rule_id and f.name == rule.name and f.dialect == dialect
        assert f.path == str(path) and f.revision == path.stem.lower()
        assert f.message and f.fix.startswith("1. "), f
        # a rule may report some hits lower (``Hit.severity``): the fixture says which
        assert f.severity == (_directives(path).get("severity") or rule.severity)


@pytest.mark.parametrize(("rule_id", "path", "dialect"), OK, ids=_ids(OK))
def test_ok_fixture_does_not_trigger_rule(rule_id: str, path: Path, dialect: str) -> None:
    findings = lint(path, RULES[rule_id], dialect)
    assert not findings, [f"{f.line}: {f.message}" for f in findings]


# --------------------------------------------------------------------------- the catalog


def test_catalog_size_and_numbering() -> None:
    assert len(RULES) >= 30
    families = {
        "destructive": "0", "compat": "1", "postgres-locking": "2", "mysql": "3",
        "transactions": "4", "data": "5", "script": "6", "naming": "7", "meta": "9",
    }
    for r in RULES.values():
        assert re.fullmatch(r"SL\d{3}", r.id), r.id
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", r.name), r.name
        assert r.family in families, r.family
        assert r.id[2] == families[r.family], f"{r.id} is numbered outside its family {r.family}"
        assert r.dialects and set(r.dialects) <= set(DIALECTS)
        assert r.severity in ("error", "warning", "info")


def test_every_rule_has_fixtures_for_every_dialect_and_docs() -> None:
    problems = []
    for r in RULES.values():
        bad = [c for c in BAD if c[0] == r.id]
        ok = [c for c in OK if c[0] == r.id]
        # meta rules judge the lint run itself (ops the engine makes), not revision files
        for dialect in r.dialects if r.family != "meta" else ():
            if not any(d == dialect for _, _, d in bad):
                problems.append(f"{r.id}: no triggering fixture for {dialect}")
            if not any(d == dialect for _, _, d in ok):
                problems.append(f"{r.id}: no clean fixture for {dialect}")
        doc = r.doc
        parts = doc.split("\n\n")
        if len(parts) < 3 or not parts[0].strip():
            problems.append(f"{r.id}: docstring needs a summary, why, and safe alternative")
        if "Why it is dangerous:" not in doc and "Why it matters:" not in doc:
            problems.append(f"{r.id}: docstring lacks 'Why it is dangerous:'")
        m = re.search(r"Safe alternative[^\n]*:\n(.*)", doc, re.S)
        if not m or not re.search(r"^1\. ", m.group(1), re.M):
            problems.append(f"{r.id}: docstring lacks numbered safe alternative steps")
    assert not problems, "\n".join(problems)


def test_every_fixture_belongs_to_a_rule() -> None:
    orphans = [p.name for p in RULE_DIR.glob("*.fixtures/*")
               if not re.match(r"SL\d{3}_(bad|ok)\w*\.py$", p.name) or p.name[:5] not in RULES]
    assert not orphans


def test_every_fixture_sits_beside_its_rule_and_is_not_a_package() -> None:
    misplaced = []
    for path in RULE_DIR.glob("*.fixtures/*"):
        rule = RULES.get(path.name[:5])
        module = rule.check.__module__.rsplit(".", 1)[1] if rule and rule.check else None
        if path.parent.name != f"{module}.fixtures":
            misplaced.append(str(path.relative_to(RULE_DIR)))
    assert not misplaced
    assert not list(RULE_DIR.glob("*.fixtures/__init__.py"))


def test_naming_rules_are_off_by_default_and_can_be_enabled() -> None:
    default = {r.id for r in active_rules(SluiceConfig())}
    assert "SL701" not in default and "SL702" not in default and "SL703" in default
    enabled = parse_config({"lint": {"enable": ["SL701", "constraint-name-convention"]}})
    ids = {r.id for r in active_rules(enabled)}
    assert {"SL701", "SL702"} <= ids


def test_dialect_specific_rules_skip_when_no_dialect() -> None:
    result = analyze_file(fixture("SL201_bad.py"))
    findings = run_rules(result.ops, SluiceConfig())
    assert not [f for f in findings if f.rule == "SL201"]
    assert [f for f in run_rules(result.ops, SluiceConfig(), dialect="postgresql")
            if f.rule == "SL201"]


def test_fix_uses_real_names() -> None:
    result = analyze_file(fixture("SL201_bad.py"))
    (first, *_) = run_rules(result.ops, SluiceConfig(), dialect="postgresql",
                            rules=[RULES["SL201"]])
    assert "ix_users_email" in first.message and "users" in first.message
    assert "op.create_index('ix_users_email', 'users', ['email'], " \
           "postgresql_concurrently=True)" in first.fix
    result = analyze_file(fixture("SL206_bad.py"))
    (hit, *_) = run_rules(result.ops, SluiceConfig(), dialect="postgresql",
                          rules=[RULES["SL206"]])
    assert "ck_users_email_not_null" in hit.fix and "VALIDATE CONSTRAINT" in hit.fix


def test_downgrade_policy_optional_silences_missing_downgrade() -> None:
    path = fixture("SL601_bad.py")
    ops = analyze_file(path).ops
    for policy, expected in (("required", 1), ("optional", 0), ("none", 0)):
        cfg = parse_config({"downgrades": policy})
        assert len(run_rules(ops, cfg, dialect="sqlite", rules=[RULES["SL601"]])) == expected


def test_mysql_versions_change_the_verdict() -> None:
    ops = analyze_file(fixture("SL302_ok.py")).ops
    rule = RULES["SL302"]
    for version, count in (("8.0", 0), ("8.0.11", 2), ("8.0.20", 1), ("5.7", 2),
                           ("mariadb-10.3", 1), ("mariadb-10.4", 0), ("10.2", 2)):
        cfg = parse_config({"lint": {"target_mysql_version": version}})
        got = run_rules(ops, cfg, dialect="mysql", rules=[rule])
        assert len(got) == count, (version, [f.message for f in got])
    cfg = parse_config({"lint": {"target_mysql_version": "5.7"}})
    (hit, *_) = run_rules(ops, cfg, dialect="mysql", rules=[rule])
    assert "MySQL 5.7" in hit.message and "8.0.12" in hit.fix


def test_unparseable_sql_is_tolerated() -> None:
    from sluice.lint.static import analyze_source

    src = (
        "from alembic import op\nrevision = 'x'\ndown_revision = None\n"
        "def upgrade():\n"
        "    op.execute('CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN RETURN NEW; END $$ "
        "LANGUAGE plpgsql')\n"
        "    op.execute('this is not ; SQL at all ((( ')\n"
        "    op.execute('DELETE FROM t')\n"
    )
    ops = analyze_source(src, "x.py").ops
    for dialect in DIALECTS:
        findings = run_rules(ops, SluiceConfig(), dialect=dialect)
        assert [f.line for f in findings if f.rule == "SL008"] == [7]


def test_whole_catalog_runs_on_every_fixture_without_error() -> None:
    cfg = parse_config({"lint": {"enable": ["naming"]}})
    for path in sorted(RULE_DIR.glob("*.fixtures/*.py")):
        ops = analyze_file(path).ops
        for dialect in DIALECTS:
            for f in run_rules(ops, cfg, dialect=dialect):
                assert f.message and f.fix and f.line, (path.name, f)


def test_sql_renames_name_both_sides() -> None:
    ops = analyze_file(fixture("SL103_bad.py")).ops
    msgs = [f.message for f in run_rules(ops, SluiceConfig(), dialect="postgresql",
                                         rules=[RULES["SL103"]])]
    assert any("users.nick to nickname" in m for m in msgs), msgs
    ops = analyze_file(fixture("SL104_bad.py")).ops
    msgs = [f.message for f in run_rules(ops, SluiceConfig(), dialect="mysql",
                                         rules=[RULES["SL104"]])]
    assert any("orders to purchases" in m for m in msgs), msgs


# --------------------------------------------------------------------------- messages


#: "?" standing for a name, "drops index  on", "creates index on" (the name left out).
_PLACEHOLDER = re.compile(r"(?:^|[\s(.])\?(?:$|[\s,;:.)])|  |\b(?:drops|creates|adds|ADD|adding) "
                          r"(?:foreign |check |primary |unique )?(?:index|constraint|key) "
                          r"(?:on|ON|without)\b")


@pytest.mark.parametrize(("rule_id", "path", "dialect"), BAD, ids=_ids(BAD))
def test_messages_name_what_they_mean(rule_id: str, path: str, dialect: str) -> None:
    """Never ``?`` or an empty name where a name goes: "an unnamed index on users (email)"."""
    for f in lint(Path(path), RULES[rule_id], dialect):
        prose = re.sub(r"`[^`]*`", "`SQL`", f.message)  # quoted SQL may hold a ? operator
        assert not _PLACEHOLDER.search(prose), f.message


def test_unnamed_index_is_described() -> None:
    messages = [f.message for f in lint(fixture("SL201_bad_unnamed.py"), RULES["SL201"],
                                        "postgresql")]
    assert messages[0].startswith("creates an unnamed index on users (email) without "
                                  "CONCURRENTLY")
    assert messages[1].startswith("creates an unnamed index on orders (user_id, lower(ref))")


def test_citext_change_rebuilds_indexes_not_the_table() -> None:
    for f in lint(fixture("SL208_bad_citext.py"), RULES["SL208"], "postgresql"):
        assert "the table is not rewritten" in f.message, f.message
        assert "rewrites the table" not in f.message
        assert "index on the column is rebuilt" in f.message


def test_backfill_per_row_or_via_params_counts_as_backfill() -> None:
    """A per-row Core update and a text(...).params(...) UPDATE fill the NULLs: the finding
    is about the missing server default, not about NULL rows."""
    checksum, pool, name = lint(fixture("SL102_bad_backfilled_without_default.py"),
                                RULES["SL102"], "postgresql")
    for f in (checksum, pool):
        assert "code that does not write the column" in f.message, f.message
        assert "fails on existing NULLs" not in f.message
    assert "a row that already holds NULL makes the ALTER fail" in name.message


def test_swallowed_exception_says_what_it_hides() -> None:
    """"Stamped as applied" only for database work in upgrade()."""
    suppress, helper, delete = lint(fixture("SL605_bad_downgrade_and_no_db_work.py"),
                                    RULES["SL605"], "postgresql")
    for f in (suppress, helper):
        assert "runs no database operation Sluice can see" in f.message, f.message
    assert "`alembic downgrade` reports success and moves the version back" in delete.message
    assert all("stamped" not in f.message for f in (suppress, helper, delete))
    (upgrade,) = lint(fixture("SL605_bad.py"), RULES["SL605"], "postgresql")
    assert "the revision is stamped as applied" in upgrade.message


def test_copy_and_swap_is_a_type_change_not_lost_data() -> None:
    swap, lost = lint(fixture("SL002_bad_copy_and_swap.py"), RULES["SL002"], "postgresql")
    assert swap.message.startswith("replaces variable.value with its copy json_value"), swap
    assert "the data is kept" in swap.message and "changes type" in swap.message
    assert lost.message.startswith("drops column users.email and its data")


def test_raw_drop_constraint_says_what_cascade_drops() -> None:
    (pkey, unique, fk, primary) = lint(fixture("SL004_bad_raw.py"), RULES["SL004"],
                                       "postgresql")
    assert pkey.message.startswith("drops primary key users_pkey on users")
    assert "CASCADE also drops every foreign key of other tables" in pkey.message
    assert "pg_constraint" in pkey.fix
    assert unique.message.startswith("drops constraint uq_orders_ref on orders")
    assert "CASCADE" not in unique.message
    assert fk.message.startswith("drops constraint fk_payments_order_id on payments")
    assert primary.message.startswith("drops an unnamed primary key on ledger")


def test_batched_fix_is_accepted_by_sluice_data_as_written() -> None:
    """The ``sluice.data`` call a data rule suggests runs as written: its arguments bind to
    the real signature and each SQL fragment compiles as a SQLAlchemy expression."""
    import inspect
    import types

    import sqlalchemy as sa

    import sluice.data
    from sluice.data.expressions import check_text_literals, check_where

    calls: list[inspect.BoundArguments] = []

    def checked(name: str):  # type: ignore[no-untyped-def]
        real = getattr(sluice.data, name)

        def call(*args: object, **kwargs: object) -> None:
            bound = inspect.signature(real).bind(*args, **kwargs)
            kind = "delete" if name == "batched_delete" else "update"
            where = bound.arguments.get("where")
            check_where(where, kind)  # what sluice.data checks first
            for part in [where, *(bound.arguments.get("values") or {}).values()]:
                if isinstance(part, sa.sql.ClauseElement):
                    check_text_literals(part, "postgresql", "fix")
            calls.append(bound)
        return call

    fake = types.SimpleNamespace(data=types.SimpleNamespace(
        batched_update=checked("batched_update"), batched_delete=checked("batched_delete")))
    snippets = []
    for rule_id, name in (("SL502", "SL502_bad.py"), ("SL502", "SL502_bad_unbounded.py"),
                          ("SL008", "SL008_bad.py")):
        for f in lint(fixture(name), RULES[rule_id], "postgresql"):
            m = re.search(r"(sluice\.data\.batched_\w+\(.*\))\.?$", f.fix, re.M)
            assert m, f.fix
            snippets.append(m.group(1))
    assert len(snippets) >= 8
    for code in snippets:
        exec(code, {"sluice": fake, "sa": sa})  # noqa: S102 - the fix text under test
        bound = calls[-1].arguments
        assert isinstance(bound["table"], str) and bound["table"] != "TABLE", code
        where = bound.get("where")
        if where is not None:
            str(sa.select(sa.literal(1)).where(where))  # compiles
        for value in (bound.get("values") or {}).values():
            if isinstance(value, sa.sql.ClauseElement):
                str(sa.select(value))


def test_missing_downgrade_is_described_as_it_fails() -> None:
    (hit,) = lint(fixture("SL601_bad_missing.py"), RULES["SL601"], "sqlite")
    assert "there is no downgrade() function" in hit.message
    assert "AttributeError" in hit.message
    assert "raise NotImplementedError" in hit.fix
    (passes,) = lint(fixture("SL601_bad.py"), RULES["SL601"], "sqlite")
    assert "changes the schema (1 operation)" in passes.message


def test_mysql_drop_partition_and_drop_check_are_named_as_what_they_drop() -> None:
    path = fixture("SL002_bad_drop_partition.py")
    [hit] = lint(path, RULES["SL002"], "mysql")
    assert hit.message.startswith("drops partition p2023 of events and every row in it")
    check = fixture("SL002_ok_drop_check.py")
    [dropped] = lint(check, RULES["SL004"], "mysql")
    assert "ck_orders_total on orders" in dropped.message and "column" not in dropped.message
