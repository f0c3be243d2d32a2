"""Changes that break running code or rewrite data: types, nullability, renames, defaults."""

from __future__ import annotations

from sluice.lint.model import Hit, Op, TypeInfo
from sluice.lint.registry import RuleContext, rule
from sluice.lint.rules._util import steps

#: Type changes that never lose data: (from family, to family).
_WIDENING = {
    ("integer", "biginteger"),
    ("integer", "numeric"),
    ("biginteger", "numeric"),
    ("string", "text"),
    ("integer", "float"),
    ("date", "datetime"),
}


def type_change_loses_data(old: TypeInfo | None, new: TypeInfo | None) -> str | None:
    """Why changing ``old`` to ``new`` can lose data, or None when it cannot."""
    if old is None or new is None:
        return None
    if old.family == new.family:
        if old.length is not None and (new.length is None or new.length >= old.length):
            return None
        if old.length is not None and new.length is not None and new.length < old.length:
            return f"length shrinks from {old.length} to {new.length}"
        if old.precision is not None and new.precision is not None:
            if new.precision < old.precision or (new.scale or 0) < (old.scale or 0):
                return "precision or scale shrinks"
        return None
    if (old.family, new.family) in _WIDENING:
        return None
    if old.family == "text" and new.family == "string":
        return f"TEXT becomes {new.name}" + (f"({new.length})" if new.length else "")
    return f"{old.name} becomes {new.name}; values that do not convert fail or are truncated"


@rule("SL101", "lossy-type-change", family="compat", severity="error", autogenerate=True)
def lossy_type_change(op: Op, ctx: RuleContext) -> Hit | None:
    """A column type change that can truncate, round or reject existing values.

    Why it is dangerous: narrowing a type (shorter VARCHAR, smaller integer, lower numeric
    precision, a different type family) either fails halfway on a value that does not fit
    or, on MySQL without strict mode, silently truncates it. Most databases also rewrite
    the whole table under an exclusive lock to do it.

    Safe alternative:
    1. Add a new column with the new type (nullable).
    2. Backfill it in batches (``sluice.data.batched_update``), converting explicitly.
    3. Switch the code to the new column, deploy.
    4. Drop the old column in a later revision.
    """
    if op.kind != "alter_column" or "type_" not in op.args or op.table_is_new:
        return None
    old = TypeInfo.parse(op.args.get("existing_type"))
    new = TypeInfo.parse(op.args.get("type_"))
    reason = type_change_loses_data(old, new)
    if reason is None:
        return None
    return Hit(
        f"changes the type of {op.target}: {reason}",
        steps(
            f"Add a new nullable column next to {op.column} with the new type.",
            "Backfill it in batches (sluice.data.batched_update), converting explicitly.",
            "Switch the code to the new column and deploy.",
            f"Drop {op.column} in a later revision.",
        ),
    )


@rule("SL102", "set-not-null-without-default", family="compat", severity="error",
      autogenerate=True)
def set_not_null_without_default(op: Op, ctx: RuleContext) -> Hit | None:
    """Making an existing column NOT NULL without a server default.

    Why it is dangerous: the ALTER fails if any row holds NULL, and code that still inserts
    without the column (the previous release during a rolling deploy) starts failing. On
    PostgreSQL it also scans the whole table under an ACCESS EXCLUSIVE lock.

    Safe alternative:
    1. Give the column a server default and make every code path write it; deploy.
    2. Backfill NULLs in batches (``sluice.data.batched_update``).
    3. On PostgreSQL, add ``CHECK (col IS NOT NULL) NOT VALID``, then ``VALIDATE
       CONSTRAINT`` (no long lock), then SET NOT NULL, which then skips the scan.
    """
    if op.kind != "alter_column" or op.args.get("nullable") is not False or op.table_is_new:
        return None
    if op.args.get("existing_nullable") is False:
        return None
    if op.args.get("server_default") or op.args.get("existing_server_default"):
        return None
    return Hit(
        f"makes {op.target} NOT NULL without a server default; fails on existing NULLs and "
        "breaks code that does not write the column",
        steps(
            f"Add a server default to {op.column} and make every insert write it; deploy.",
            f"Backfill NULLs in batches: sluice.data.batched_update('{op.table}', "
            f"{{'{op.column}': ...}}, where=<col> IS NULL).",
            "Then set NOT NULL in a later revision (on PostgreSQL via a NOT VALID check "
            "constraint validated first).",
        ),
    )
