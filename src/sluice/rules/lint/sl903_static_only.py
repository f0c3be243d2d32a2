"""SL903 ``static-only``. The check's docstring is the rule's documentation.

Fixtures: ``sl903_static_only.fixtures/`` (``SL903_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL903_ok*.py`` must not).
"""

from __future__ import annotations

from sluice.core.ops import Hit, Op
from sluice.rules._util import steps
from sluice.rules.registry import RuleContext, rule


@rule("SL903", "static-only", family="meta", severity="info", kinds=("lint.static_only",))
def static_only(op: Op, ctx: RuleContext) -> Hit | None:
    """A revision could not be rendered offline; it was analysed from its source only.

    Why it matters: the static layer sees every ``op.*`` call written in the file, but not
    what imported helpers do or SQL built at run time. Findings for the file are still
    reported; only that second layer is missing. Common reasons: the revision imports
    project code that needs a running application, reads data through ``op.get_bind()``,
    or deliberately refuses to run with ``--sql``.

    Safe alternative:
    1. For an ``ImportError`` of your own package: add it to ``[tool.sluice.lint]
       stub_modules`` (or pass ``--stub``), so it renders with a stand-in.
    2. For a revision that refuses offline mode on purpose: nothing to do, or silence this
       with ``# sluice: ignore[SL903] <reason>`` at the top of the file.
    """
    if op.kind != "lint.static_only":
        return None
    reason = op.args.get("reason") or "rendering failed"
    detail = op.args.get("detail")
    hint = op.args.get("hint")
    return Hit(
        f"not rendered offline ({reason}{': ' + detail if detail else ''}); analysed "
        "statically only",
        steps(hint) if hint else "",
    )
