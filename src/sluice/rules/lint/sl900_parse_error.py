"""SL900 ``parse-error``. The check's docstring is the rule's documentation.

Fixtures: ``sl900_parse_error.fixtures/`` (``SL900_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL900_ok*.py`` must not).
"""

from __future__ import annotations

from sluice.core.ops import Hit, Op
from sluice.rules._util import steps
from sluice.rules.registry import RuleContext, rule


@rule("SL900", "parse-error", family="meta", severity="error", kinds=("lint.parse_error",))
def parse_error(op: Op, ctx: RuleContext) -> Hit | None:
    """A revision file is not valid Python, so nothing in it can be checked.

    Why it is dangerous: Alembic imports every revision file before it runs any of them,
    so one file that does not parse stops every ``alembic upgrade`` of the project, in
    every environment, until it is fixed. Sluice keeps linting the other revisions.

    Safe alternative:
    1. Open the file at the reported line and fix the syntax error.
    2. Run ``python -m py_compile <file>`` to confirm it parses.
    3. Run ``sluice lint`` again; the revision's operations are then checked too.
    """
    if op.kind != "lint.parse_error":
        return None
    return Hit(
        f"cannot parse this revision: {op.args.get('error', 'syntax error')}; none of its "
        "operations were checked",
        steps(
            "Fix the syntax error at this line (python -m py_compile <file> to confirm).",
            "Run sluice lint again so the revision's operations are checked.",
        ),
    )
