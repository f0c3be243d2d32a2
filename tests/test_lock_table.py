"""docs/lock-levels.md says which rule reports each statement form: check every claim.

Each cell of the form `` `statement` → SL201, SL202 `` (or ``→ none``) becomes a revision
whose ``upgrade()`` is that one statement (inside ``autocommit_block()`` when the cell says
``autocommit:``, inside ``batch_alter_table("t")`` when it says ``batch:``). The cells of a
section headed "MySQL ..." are linted for MySQL 8.0, "MariaDB ..." for MySQL with
``target_mysql_version = "mariadb-10.11"``, "SQLite ..." for SQLite, the others for
PostgreSQL, one run per dialect as ``sluice lint`` does, and each revision must get exactly
the rules its cell names: when a rule starts or stops reporting a form, the table has to
change with it.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from sluice.lint.engine import LintResult, lint_project
from sluice.lint.registry import all_rules
from tests.support.paths import REPO

PAGE = REPO / "docs" / "lock-levels.md"
CELL = re.compile(r"(?:(autocommit|batch): )?`([^`]+)` → (none|SL\d{3}(?:, SL\d{3})*)")
URLS = {"postgresql": "postgresql://u@h/d", "mysql": "mysql+pymysql://u@h/d",
        "mariadb": "mysql+pymysql://u@h/d", "sqlite": "sqlite:///lock_table.db"}
#: the dialect each section is linted for, and the MySQL version it targets
LINT_DIALECT = {"mariadb": "mysql"}
TARGET = {"mariadb": "mariadb-10.11"}
WRAPPERS = {"autocommit": "with op.get_context().autocommit_block():",
            "batch": 'with op.batch_alter_table("t") as batch_op:'}
ENV_PY = '''
from alembic import context

config = context.config
context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
with context.begin_transaction():
    context.run_migrations()
'''


@dataclass(frozen=True)
class Claim:
    line: int
    dialect: str
    statement: str
    wrapper: str
    rules: frozenset[str]

    def body(self) -> str:
        if self.wrapper:
            return f"{WRAPPERS[self.wrapper]}\n    {self.statement}"
        return self.statement


def section_dialect(heading: str) -> str:
    if heading.startswith("## MySQL"):
        return "mysql"
    if heading.startswith("## MariaDB"):
        return "mariadb"
    if heading.startswith("## SQLite"):
        return "sqlite"
    return "postgresql"


def claims() -> list[Claim]:
    found = []
    dialect = "postgresql"
    for number, text in enumerate(PAGE.read_text(encoding="utf-8").splitlines(), 1):
        if text.startswith("## "):
            dialect = section_dialect(text)
        if not text.startswith("|"):
            continue
        for match in CELL.finditer(text):
            rules = frozenset() if match.group(3) == "none" else \
                frozenset(match.group(3).split(", "))
            found.append(Claim(number, dialect, match.group(2), match.group(1) or "", rules))
    return found


CLAIMS = claims()


def write_project(root: Path, dialect: str, cases: list[Claim]) -> Path:
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "alembic.ini").write_text(
        f"[alembic]\nscript_location = migrations\nsqlalchemy.url = {URLS[dialect]}\n")
    (root / "sluice.toml").write_text(
        f'[lint]\ntarget_mysql_version = "{TARGET.get(dialect, "8.0")}"\n')
    (root / "migrations" / "env.py").write_text(ENV_PY)
    previous = None
    for index, claim in enumerate(cases):
        revision = f"row{index:03d}"
        (versions / f"{revision}.py").write_text(
            "from alembic import op\nimport sqlalchemy as sa\n"
            "from sqlalchemy.dialects import postgresql\n\n"
            f"revision = {revision!r}\ndown_revision = {previous!r}\n"
            "branch_labels = None\ndepends_on = None\n\n\n"
            f"def upgrade():\n{textwrap.indent(claim.body(), '    ')}\n\n\n"
            "def downgrade():\n    op.execute(\"SELECT 1\")\n")
        previous = revision
    return root / "alembic.ini"


@pytest.fixture(scope="module")
def linted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, LintResult]:
    results = {}
    for dialect in URLS:
        cases = [claim for claim in CLAIMS if claim.dialect == dialect]
        ini = write_project(tmp_path_factory.mktemp(f"lock_table_{dialect}"), dialect, cases)
        results[dialect] = lint_project(
            str(ini), dialects=[LINT_DIALECT.get(dialect, dialect)], use_cache=False)
    return results


def test_the_page_has_a_claim_for_every_form() -> None:
    lines = PAGE.read_text(encoding="utf-8").splitlines()
    rows = [number for number, line in enumerate(lines, 1)
            if line.startswith("| ") and not line.startswith("| form |")]
    with_claims = {claim.line for claim in CLAIMS}
    assert len(rows) >= 120
    assert len(CLAIMS) >= 180
    assert {claim.dialect for claim in CLAIMS} == set(URLS)
    unclaimed = [lines[number - 1][:80] for number in rows if number not in with_claims]
    assert not unclaimed, unclaimed


def test_every_claimed_rule_exists() -> None:
    catalog = all_rules()
    unknown = {rule for claim in CLAIMS for rule in claim.rules if rule not in catalog}
    assert not unknown


@pytest.mark.parametrize("dialect", list(URLS))
def test_every_revision_fully_read(linted: dict[str, LintResult], dialect: str) -> None:
    # read statically or rendered: none fell back to static after a failed render
    cases = [claim for claim in CLAIMS if claim.dialect == dialect]
    coverage = linted[dialect].coverage
    assert coverage.total == len(cases), coverage.line()
    assert coverage.read_statically + coverage.rendered == len(cases), coverage.line()


@pytest.mark.parametrize("dialect", list(URLS))
def test_each_statement_gets_exactly_the_rules_the_table_names(
        linted: dict[str, LintResult], dialect: str) -> None:
    reported: dict[str, set[str]] = {}
    for finding in linted[dialect].findings:
        reported.setdefault(finding.revision or "", set()).add(finding.rule)
    cases = [claim for claim in CLAIMS if claim.dialect == dialect]
    wrong = []
    for index, claim in enumerate(cases):
        got = reported.get(f"row{index:03d}", set())
        if got != claim.rules:
            wrong.append(f"docs/lock-levels.md:{claim.line}: {claim.statement}\n"
                         f"    table says {sorted(claim.rules) or 'none'}, "
                         f"sluice lint reports {sorted(got) or 'none'} on {dialect}")
    assert not wrong, "\n".join(wrong)
