"""The round trip compares the schemas the project's env.py compares: an env.py that
passes ``include_schemas=True`` to ``context.configure`` has every schema of the database
compared, not only the default one and ``[tool.sluice] include_schemas``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import Result, run_cli
from tests.support.runner import ENV_PY, Rev, make_project

pytestmark = pytest.mark.postgres

ACCOUNTS = (
    "from sluice import configure_options\n\nimport sqlalchemy as sa\n\nMETA = sa.MetaData()\n"
    "sa.Table('accounts', META, sa.Column('id', sa.Integer, primary_key=True))\n"
)
INVOICES = (
    "sa.Table('invoices', META, sa.Column('id', sa.Integer, primary_key=True),\n"
    "         sa.Column('total', sa.Integer, nullable=False), schema='billing')\n"
)


def env_py(*, include_schemas: bool, billing_model: bool) -> str:
    models = ACCOUNTS + (INVOICES if billing_model else "")
    text = ENV_PY.replace("from sluice import configure_options\n", models)
    keywords = "target_metadata=META, include_schemas=True," if include_schemas \
        else "target_metadata=META,"
    return text.replace("context.configure(connection=connection, target_metadata=None,",
                        f"context.configure(connection=connection, {keywords}")


REVS = [
    Rev(id="r0001",
        upgrade="op.create_table('accounts', sa.Column('id', sa.Integer, primary_key=True))\n"
                "op.execute('CREATE SCHEMA billing')\n"
                "op.create_table('invoices', sa.Column('id', sa.Integer, primary_key=True),\n"
                "                sa.Column('total', sa.Integer), schema='billing')",
        downgrade="op.drop_table('invoices', schema='billing')\n"
                  "op.execute('DROP SCHEMA billing')\n"
                  "op.drop_table('accounts')"),
    # the downgrade repeats the upgrade (a copy-paste slip): the column stays NOT NULL
    Rev(id="r0002",
        upgrade="op.alter_column('invoices', 'total', nullable=False, schema='billing')",
        downgrade="op.alter_column('invoices', 'total', nullable=False, schema='billing')"),
]


def check(tmp_path: Path, revs: list[Rev], **env: bool) -> Result:
    from tests.support.servers import server_url

    ini = make_project(tmp_path / "proj", revs, env_py=env_py(**env))
    return run_cli(["check", "--only", "upgrade,roundtrip", "--url",
                    server_url("postgresql"), "--scratch", "-c", ini])


def test_a_broken_downgrade_in_a_schema_env_py_includes_fails(tmp_path: Path) -> None:
    """Before, only the default schema and [tool.sluice] include_schemas were compared:
    env.py's include_schemas=True had billing compared by autogenerate, not by the round
    trip, and this downgrade passed."""
    done = check(tmp_path, REVS, include_schemas=True, billing_model=False)
    assert done.exit_code == 1, done.output
    assert "downgrade of revision r0002 does not restore the schema" in done.output
    assert "column billing.invoices.total" in done.output
    assert "nullable NULL before the upgrade, NOT NULL after the downgrade" in done.output


def test_the_schemas_of_the_models_are_compared(tmp_path: Path) -> None:
    done = check(tmp_path, REVS, include_schemas=False, billing_model=True)
    assert done.exit_code == 1, done.output
    assert "column billing.invoices.total" in done.output


def test_the_compared_schemas_are_named(tmp_path: Path) -> None:
    done = check(tmp_path, REVS[:1], include_schemas=True, billing_model=False)
    assert done.exit_code == 0, done.output
    assert "schemas compared: the default schema, billing" in done.output
    assert "not compared" not in done.output


def test_a_schema_env_py_leaves_out_is_named_as_not_compared(tmp_path: Path) -> None:
    """What env.py and the models leave out is not compared, as autogenerate does not
    read it either; the report says so and how to include it."""
    done = check(tmp_path, REVS, include_schemas=False, billing_model=False)
    assert done.exit_code == 0, done.output
    assert "schemas compared: the default schema; not compared: billing" in done.output
    assert "include_schemas=True" in done.output
