"""SL605 ``swallowed-exception``. The check's docstring is the rule's documentation.

Fixtures: ``sl605_swallowed_exception.fixtures/`` (``SL605_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL605_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._util import steps
from sluice.rules.registry import RuleContext, rule


@rule("SL605", "swallowed-exception", family="script", severity="error",
      kinds=("script.swallow_exception",))
def swallowed_exception(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """An ``except Exception`` (or bare ``except``) in a migration that does not re-raise.

    Why it is dangerous: the migration reports success and Alembic stamps the revision as
    applied while the data change silently did not happen; nobody finds out until the
    application misbehaves. On PostgreSQL the failed statement also aborts the
    transaction, so the next statement fails with a misleading "current transaction is
    aborted" error. In ``downgrade()`` the version moves back while the schema or data
    stays as it was. When the ``try`` holds no database operation Sluice can see (a helper,
    app code), the finding says so: a failure there goes unnoticed all the same.

    Safe alternative:
    1. Let errors propagate: remove the try/except, or re-raise after logging
       (``except Exception: log.exception(...); raise``).
    2. Catch only the specific exception you expect, and handle it for real.
    3. For "skip if already done", check first (``IF NOT EXISTS``, a ``SELECT``) rather
       than catching the error.
    """
    if op.kind != "script.swallow_exception":
        return
    catches = op.args.get("catches")
    what = {
        "bare": "a bare `except:`",
        "suppress": "contextlib.suppress(Exception)",
    }.get(str(catches), f"`except {catches}`")
    if op.args.get("db_work") is False:
        effect = ("the code inside runs no database operation Sluice can see (a helper, app "
                  "code), and when it fails the migration goes on as if it had worked")
    elif op.phase == "downgrade":
        effect = ("`alembic downgrade` reports success and moves the version back even when "
                  "the work inside failed")
    else:
        effect = "the revision is stamped as applied even when the work inside failed"
    yield Hit(
        f"{what} swallows every error here; {effect}",
        steps(
            "Remove the try/except, or re-raise after logging: except Exception: "
            "log.exception(...); raise.",
            "Catch only the exception you expect and handle it for real.",
            "For 'skip if already done', check first (IF NOT EXISTS, a SELECT) instead of "
            "catching.",
        ),
    )
