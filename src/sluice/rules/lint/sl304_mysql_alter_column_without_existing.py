"""SL304 ``mysql-alter-column-without-existing``. The check's docstring is the rule's documentation.

Fixtures: ``sl304_mysql_alter_column_without_existing.fixtures/`` (``SL304_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL304_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._util import column_label, steps
from sluice.rules.lint._mysql import MYSQL
from sluice.rules.registry import RuleContext, rule


@rule("SL304", "mysql-alter-column-without-existing", family="mysql", severity="warning",
      dialects=MYSQL, kinds=("alter_column",))
def mysql_alter_without_existing(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """``alter_column`` on MySQL without ``existing_type``/``existing_nullable``.

    Why it is dangerous: MySQL has no "change only this attribute" ALTER; Alembic emits
    ``MODIFY``/``CHANGE COLUMN`` with the complete column definition, built from the
    ``existing_*`` arguments. Without ``existing_type`` the migration fails; without
    ``existing_nullable`` a NOT NULL column silently becomes NULL-able; without
    ``existing_server_default`` its default is silently dropped.

    Safe alternative:
    1. Pass the column's full current definition: ``existing_type``, ``existing_nullable``,
       ``existing_server_default`` (and ``existing_comment``) to every ``alter_column``.
    2. Autogenerate writes them for you; copy them from the model when writing by hand.
    """
    if op.kind != "alter_column":
        return
    a = op.args
    if not any(k in a for k in ("type_", "nullable", "new_column_name", "comment")):
        return
    missing = []
    if not a.get("type_") and not a.get("existing_type"):
        missing.append("existing_type (the ALTER fails without it)")
    if "nullable" not in a and a.get("existing_nullable") is None:
        missing.append("existing_nullable (a NOT NULL column becomes NULL-able)")
    if not missing:
        return
    if "server_default" not in a and "existing_server_default" not in a:
        missing.append("existing_server_default (its default is dropped)")
    # (table and column may come from variables: a loop over information_schema)
    of = f"of {op.column}" if op.column else "of each column it changes"
    yield Hit(
        f"alter_column on {column_label(op.table, op.column)} is rendered as MODIFY/CHANGE COLUMN on MySQL, which "
        f"redefines the whole column; missing {', '.join(missing)}",
        steps(
            f"Pass the current definition {of}: existing_type=..., "
            "existing_nullable=..., existing_server_default=... (and existing_comment).",
            "Check the generated SQL with `alembic upgrade --sql` against MySQL.",
        ),
    )
