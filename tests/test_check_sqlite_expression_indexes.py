"""SQLite cannot reflect an expression-based index (``CREATE UNIQUE INDEX ... ON users
(lower(email))``): Alembic's comparison skips the ones in the models, and
``batch_alter_table`` recreates the table without them. On a SQLite project the drift
check compares them by name with what the database holds, so a unique index lost that
way is drift, not a pass."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import SLUICE, run_cli, run_process
from tests.support.runner import ENV_PY, Rev, make_project

MODELS_ENV = ENV_PY.replace(
    "from sluice import configure_options\n",
    "from sluice import configure_options\n\nimport sqlalchemy as sa\n\nMETA = sa.MetaData()\n"
    "USERS = sa.Table('users', META, sa.Column('id', sa.Integer, primary_key=True),\n"
    "                 sa.Column('email', sa.String(200)), sa.Column('nick', sa.String(40)))\n"
    "sa.Index('ix_users_lower_email', sa.func.lower(USERS.c.email), unique=True)\n",
).replace("context.configure(connection=connection, target_metadata=None,",
          "context.configure(connection=connection, target_metadata=META,")

CREATE = ("op.create_table('users', sa.Column('id', sa.Integer, primary_key=True), "
          "sa.Column('email', sa.String(200)))\n"
          "op.create_index('ix_users_lower_email', 'users', [sa.text('lower(email)')], "
          "unique=True)")
ADD_NICK = ("with op.batch_alter_table('users', recreate='always') as batch_op:\n"
            "    batch_op.add_column(sa.Column('nick', sa.String(40)))")
AGAIN = ("\nop.create_index('ix_users_lower_email', 'users', [sa.text('lower(email)')], "
         "unique=True, if_not_exists=True)")


def project(tmp_path: Path, second: str) -> Path:
    return make_project(tmp_path / "proj", [
        Rev(id="r0001", upgrade=CREATE, downgrade="op.drop_table('users')"),
        Rev(id="r0002", upgrade=second),
    ], env_py=MODELS_ENV)


def test_an_expression_index_lost_by_a_batch_is_drift(tmp_path: Path) -> None:
    ini = project(tmp_path, ADD_NICK)
    done = run_cli(["check", "--only", "upgrade,drift", "-c", ini])
    assert done.exit_code == 1, done.output
    assert ("unique index ix_users_lower_email on users (lower(email)): in the models, "
            "missing from the database") in done.output
    assert "create_index('ix_users_lower_email', [sa.literal_column('lower(email)')]" in done.output
    assert "batch_alter_table" in done.output and "by hand" in done.output


def test_an_expression_index_created_again_passes(tmp_path: Path) -> None:
    ini = project(tmp_path, ADD_NICK + AGAIN)
    done = run_cli(["check", "--only", "upgrade,drift", "-c", ini])
    assert done.exit_code == 0, done.output


def test_sqlalchemys_reflection_warnings_stay_off_stderr(tmp_path: Path) -> None:
    """SQLAlchemy warns (``Skipped unsupported reflection of expression-based index``)
    each time the index is reflected, by the drift check and by the round trip's
    snapshots; the check handles those indexes itself, so stderr carries Sluice's lines
    only."""
    ini = make_project(tmp_path / "proj", [
        Rev(id="r0001", upgrade=CREATE, downgrade="op.drop_table('users')"),
        Rev(id="r0002", upgrade="op.add_column('users', sa.Column('nick', sa.String(40)))",
            downgrade="op.drop_column('users', 'nick')"),
    ], env_py=MODELS_ENV)
    done = run_process([SLUICE, "check", "-c", ini], cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == "", done.stderr
    assert "Warning" not in done.stdout and "expression-based" not in done.stdout
