"""SL602 ``dynamic-sql``. The check's docstring is the rule's documentation.

Fixtures: ``sl602_dynamic_sql.fixtures/`` (``SL602_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL602_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._util import steps
from sluice.rules.registry import RuleContext, rule


@rule("SL602", "dynamic-sql", family="script", severity="warning", kinds=("script.dynamic_sql",))
def dynamic_sql(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """SQL built with f-strings, ``%``, ``.format`` or ``+`` and passed to ``execute``.

    Why it is dangerous: any value spliced into the text is an injection point (a table
    name read from config, a value read from the database); quoting is easy to get wrong
    for names with capitals or reserved words; and the SQL is invisible to review and
    to ``sluice lint``, which cannot check what it does.

    Safe alternative:
    1. Use bound parameters for values: ``op.execute(sa.text("UPDATE t SET a = :v")
       .bindparams(v=value))``.
    2. For identifiers, use Alembic ops (``op.alter_column`` ...) or SQLAlchemy constructs
       (``sa.table(...).update()``), which quote correctly.
    3. Write literal SQL where you can, so it can be reviewed and linted.
    """
    if op.kind != "script.dynamic_sql":
        return
    how = {
        "fstring": "an f-string",
        "percent": "% formatting",
        "format": "str.format()",
        "concat": "string concatenation",
    }.get(str(op.args.get("how")), "string building")
    yield Hit(
        f"SQL passed to execute() is built with {how}: an injection risk, and invisible to "
        "review and lint",
        steps(
            "Pass values as bound parameters: sa.text('... = :v').bindparams(v=value).",
            "For table/column names use Alembic ops or sa.table(...).update(), which quote "
            "them.",
            "Keep literal SQL where possible so it can be reviewed and linted.",
        ),
    )
