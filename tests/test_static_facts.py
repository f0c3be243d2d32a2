"""Script facts of a revision file (imports, engines) are the same whichever path the
static layer takes to find them: a file that names no engine factory is searched
statement by statement, also when it is not ASCII (Python reads names NFKC-normalised)."""

from __future__ import annotations

import ast

import pytest

from sluice.lint.static.facts import module_facts

NON_ASCII = '''"""Ajoute la colonne « prénom »"""
import sqlalchemy as sa
from alembic import op
from myapp.types import Naïve

revision = "n1"


def upgrade():
    import myapp.helpers
    op.add_column("users", sa.Column("prénom", Naïve(), nullable=True))
    e = sa.{factory}("sqlite://")


def downgrade():
    from myapp import undo
'''


@pytest.mark.parametrize(("factory", "engine"), [("text", False), ("create_engine", True),
                                                 ("\uff43reate_engine", True)])
def test_a_non_ascii_file_gives_the_facts_of_a_full_walk(factory: str, engine: bool) -> None:
    source = NON_ASCII.format(factory=factory)
    tree = ast.parse(source)
    fast, full = module_facts(tree, source), module_facts(tree, None)
    assert fast == full
    assert [o.kind for o in fast].count("script.create_engine") == int(engine)
    assert [(o.name, o.phase) for o in fast if o.kind == "script.import"] == [
        ("myapp.types", "upgrade"), ("myapp.helpers", "upgrade"), ("myapp", "downgrade")]


STEPS = '''import sqlalchemy as sa
from sluice.data import backfill, batched_update

SCHEMA = "archive"


def upgrade():
    batched_update("users", {"email": ""}, schema="archive")
    backfill("orders", fill, ["ref"], where=sa.column("ref").is_(None), schema=None)
    batched_update("items", {"sku": ""})
    batched_update("carts", {"note": ""}, schema=SCHEMA)
'''


def test_a_data_step_records_its_literal_schema_and_none_for_a_computed_one() -> None:
    tree = ast.parse(STEPS)
    facts = [o for o in module_facts(tree, STEPS) if o.kind == "script.data_step"]
    assert [(o.args["table"], o.args["schema"], o.args["where"]) for o in facts] == [
        ("users", "archive", "*"), ("orders", None, "ref"), ("items", None, "*")]
