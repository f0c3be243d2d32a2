"""Findings about the lint run itself: unparsable revisions, suppressions, render fallbacks.

These rules look only at synthetic ``lint.*`` operations that the lint engine
(:mod:`sluice.lint.engine`) and :mod:`sluice.lint.suppress` build; they never match an
operation of a revision. They are registered like every other rule so that
``sluice rules`` documents them and ``[tool.sluice.lint]`` can disable them or change
their severity.
"""

from __future__ import annotations

from sluice.lint.model import Hit, Op
from sluice.lint.registry import RuleContext, rule
from sluice.lint.rules._util import steps


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


@rule("SL901", "suppression-without-reason", family="meta", severity="warning",
      kinds=("lint.suppression_without_reason",))
def suppression_without_reason(op: Op, ctx: RuleContext) -> Hit | None:
    """A ``# sluice: ignore[...]`` comment does not say why.

    Why it matters: a suppression is a decision that a dangerous operation is safe here.
    Without the reason, the next person (or you, at 3 a.m.) cannot tell a deliberate,
    reviewed exception from a silenced warning nobody understood.

    Safe alternative:
    1. Write the reason after the bracket: ``# sluice: ignore[SL002] column unused since
       v4.2, data exported to the archive bucket``.
    """
    if op.kind != "lint.suppression_without_reason":
        return None
    rules = ", ".join(op.args.get("rules", []))
    return Hit(
        f"suppression of {rules} gives no reason",
        steps(f"Say why it is safe after the bracket: # sluice: ignore[{rules}] <reason>."),
    )


@rule("SL902", "unused-suppression", family="meta", severity="info",
      kinds=("lint.unused_suppression",))
def unused_suppression(op: Op, ctx: RuleContext) -> Hit | None:
    """A ``# sluice: ignore[...]`` comment silences nothing.

    Why it matters: stale suppressions hide the next real finding on the same line (or in
    the same file, for file-level ones) without anyone noticing. They usually remain after
    the operation was moved or rewritten, or when the rule is disabled in the config.

    Safe alternative:
    1. Delete the suppression, or move it to the line the finding points at.
    """
    if op.kind != "lint.unused_suppression":
        return None
    unused = ", ".join(op.args.get("unused", []))
    scope = "in this file" if op.args.get("scope") == "file" else "on this line"
    return Hit(
        f"suppression of {unused} is unused: no such finding {scope}",
        steps("Delete the suppression, or move it to the line the finding points at."),
    )


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


@rule("SL904", "unknown-suppression-rule", family="meta", severity="warning",
      kinds=("lint.suppression_unknown_rule",))
def unknown_suppression_rule(op: Op, ctx: RuleContext) -> Hit | None:
    """A ``# sluice: ignore[...]`` comment names a rule that does not exist.

    Why it matters: a typo in the rule id means the suppression silences nothing, and the
    finding it was meant for is either still reported or, worse, the comment gives a
    reader the impression that the operation was reviewed.

    Safe alternative:
    1. Check the id or name with ``sluice rules`` and correct it.
    """
    if op.kind != "lint.suppression_unknown_rule":
        return None
    unknown = ", ".join(op.args.get("unknown", []))
    return Hit(
        f"suppression names unknown rule {unknown}",
        steps("List the catalog with `sluice rules` and use a real rule id or name."),
    )


@rule("SL905", "duplicate-revision-id", family="meta", severity="error",
      kinds=("lint.duplicate_revision",))
def duplicate_revision_id(op: Op, ctx: RuleContext) -> Hit | None:
    """Two revision files declare the same ``revision`` id.

    Why it is dangerous: Alembic builds its revision map from every file before it runs
    anything; a repeated id stops every ``alembic upgrade`` of the project ("Revision X is
    present more than once"), in every environment, until one file is changed. It happens
    when a revision file is copied to start a new one, or when two branches add revisions
    with a hand-written id.

    Safe alternative:
    1. Give one of the files a new id (``alembic revision -m x`` prints a fresh one; copy it
       into ``revision =`` and the ``Revision ID:`` line of the docstring).
    2. Point every ``down_revision`` that meant that file at its new id.
    3. Run ``sluice lock`` so ``sluice.sum`` records the change.
    """
    if op.kind != "lint.duplicate_revision":
        return None
    others = ", ".join(op.args.get("others", [])) or "another file"
    return Hit(
        f"revision id {op.revision} is also declared by {others}; Alembic refuses to load a "
        "history with a repeated id, so every upgrade fails",
        steps(
            "Give one of the files a new id (copy one from `alembic revision -m x`).",
            "Point every down_revision that meant that file at the new id.",
            "Run `sluice lock` to record the change in sluice.sum.",
        ),
    )
