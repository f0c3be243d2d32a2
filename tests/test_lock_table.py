"""docs/lock-levels.md says which rule reports each PostgreSQL statement form: check every claim.

Each cell of the form `` `statement` → SL201, SL202 `` (or ``→ none``) becomes a revision
whose ``upgrade()`` is that one statement (inside ``autocommit_block()`` when the cell says
``autocommit:``). The whole set is linted for PostgreSQL in one run, as ``sluice lint``
does, and each revision must get exactly the rules its cell names: when a rule starts or
stops reporting a form, the table has to change with it.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from sluice.lint.engine import LintResult, lint_project
from sluice.lint.registry import all_rules
from tests.conftest import REPO

PAGE = REPO / "docs" / "lock-levels.md"
CELL = re.compile(r"(autocommit: )?`([^`]+)` → (none|SL\d{3}(?:, SL\d{3})*)")
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
    statement: str
    autocommit: bool
    rules: frozenset[str]

    def body(self) -> str:
        if self.autocommit:
            return ("with op.get_context().autocommit_block():\n"
                    f"    {self.statement}")
        return self.statement


def claims() -> list[Claim]:
    found = []
    for number, text in enumerate(PAGE.read_text(encoding="utf-8").splitlines(), 1):
        if not text.startswith("|"):
            continue
        for match in CELL.finditer(text):
            rules = frozenset() if match.group(3) == "none" else \
                frozenset(match.group(3).split(", "))
            found.append(Claim(number, match.group(2), bool(match.group(1)), rules))
    return found


CLAIMS = claims()


def write_project(root: Path, cases: list[Claim]) -> Path:
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "alembic.ini").write_text(
        "[alembic]\nscript_location = migrations\nsqlalchemy.url = postgresql://u@h/d\n")
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
def linted(tmp_path_factory: pytest.TempPathFactory) -> LintResult:
    ini = write_project(tmp_path_factory.mktemp("lock_table"), CLAIMS)
    return lint_project(str(ini), dialects=["postgresql"], use_cache=False)


def test_the_page_has_a_claim_for_every_form() -> None:
    lines = PAGE.read_text(encoding="utf-8").splitlines()
    rows = [number for number, line in enumerate(lines, 1)
            if line.startswith("| ") and not line.startswith("| form |")]
    with_claims = {claim.line for claim in CLAIMS}
    assert len(rows) >= 75
    assert len(CLAIMS) >= 110
    unclaimed = [lines[number - 1][:80] for number in rows if number not in with_claims]
    assert not unclaimed, unclaimed


def test_every_claimed_rule_exists() -> None:
    catalog = all_rules()
    unknown = {rule for claim in CLAIMS for rule in claim.rules if rule not in catalog}
    assert not unknown


def test_every_revision_rendered(linted: LintResult) -> None:
    assert linted.coverage.rendered == len(CLAIMS), linted.coverage.line()


def test_each_statement_gets_exactly_the_rules_the_table_names(linted: LintResult) -> None:
    reported: dict[str, set[str]] = {}
    for finding in linted.findings:
        reported.setdefault(finding.revision or "", set()).add(finding.rule)
    wrong = []
    for index, claim in enumerate(CLAIMS):
        got = reported.get(f"row{index:03d}", set())
        if got != claim.rules:
            wrong.append(f"docs/lock-levels.md:{claim.line}: {claim.statement}\n"
                         f"    table says {sorted(claim.rules) or 'none'}, "
                         f"sluice lint reports {sorted(got) or 'none'}")
    assert not wrong, "\n".join(wrong)
