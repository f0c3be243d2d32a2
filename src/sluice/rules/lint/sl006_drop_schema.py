"""SL006 ``drop-schema``. The check's docstring is the rule's documentation.

Fixtures: ``sl006_drop_schema.fixtures/`` (``SL006_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL006_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._util import sql_statements, steps
from sluice.rules.registry import UPGRADE, RuleContext, rule


@rule("SL006", "drop-schema", family="destructive", severity="error", kinds=("execute",),
      phases=UPGRADE)
def drop_schema(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """Dropping a schema or database deletes every table in it at once.

    Why it is dangerous: ``DROP SCHEMA ... CASCADE`` (or ``DROP DATABASE`` on MySQL, where
    schema and database are the same thing) removes every table, view, sequence and
    function inside, including objects no model knows about. There is no undo short of a
    restore from backup, and a typo in the name is enough to lose the wrong one.

    Safe alternative:
    1. List what the schema holds and confirm that nothing (no service, no report, no
       other team's job) still uses any of it.
    2. Take a backup of the schema (``pg_dump --schema NAME``, ``mysqldump NAME``).
    3. Drop the objects you own one by one in a reviewed revision, or drop the schema by
       hand outside the migration history once the backup is verified.
    """
    if op.phase != "upgrade":
        return
    for stmt, _ in sql_statements(op, ctx):
        if stmt.kind != "DROP SCHEMA":
            continue
        target = "database" if "DATABASE" in stmt.norm[:14] else "schema"
        cascade = " CASCADE" if " CASCADE" in stmt.norm else ""
        yield Hit(
            f"DROP {target.upper()}{cascade} in op.execute deletes every table in the {target} "
            "and cannot be rolled back by a deploy",
            steps(
                f"List the objects in the {target} and confirm nothing still uses any of them.",
                f"Back up the {target} first (pg_dump --schema / mysqldump) and verify the "
                "backup restores.",
                "Drop the objects you own one by one in a reviewed revision instead of the "
                f"whole {target}.",
            ),
        )
