"""SL201 ``create-index-non-concurrently``. The check's docstring is the rule's documentation.

Fixtures: ``sl201_create_index_non_concurrently.fixtures/`` (``SL201_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL201_ok*.py`` must not).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._util import index_label, sql_statements, steps
from sluice.rules.lint._postgres import AUTOCOMMIT, PG, is_concurrent
from sluice.rules.registry import UPGRADE, RuleContext, rule


@rule("SL201", "create-index-non-concurrently", family="postgres-locking", severity="error",
      dialects=PG, kinds=("create_index", "add_column", "execute"), phases=UPGRADE)
def create_index_non_concurrently(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """Creating an index without ``CONCURRENTLY`` blocks every write to the table.

    Why it is dangerous: a plain ``CREATE INDEX`` takes a SHARE lock on the table for the
    whole build: reads continue, but every INSERT, UPDATE and DELETE waits, for minutes on
    a large table. Requests pile up behind it and the application times out.

    Safe alternative:
    1. Build the index with ``postgresql_concurrently=True`` (``CREATE INDEX
       CONCURRENTLY``), which allows writes during the build.
    2. Run it inside ``with op.get_context().autocommit_block():`` because CONCURRENTLY
       cannot run inside a transaction.
    3. Put it in a revision of its own: if the build fails it leaves an INVALID index that
       you drop (``DROP INDEX CONCURRENTLY``) and then retry.

    ``op.add_column(table, sa.Column(..., index=True))`` on an existing table is reported
    too: Alembic adds the column, then runs a plain ``CREATE INDEX`` for it. Drop
    ``index=True`` and create the index as above.
    """
    if op.phase != "upgrade":
        return
    if op.kind == "add_column":
        yield from _column_index(op)
        return
    if op.kind == "create_index" and not op.table_is_new and not is_concurrent(op):
        cols = op.args.get("columns")
        cols_txt = _columns_code(cols) if isinstance(cols, (list, tuple)) else "[...]"
        label = index_label(op.name, op.target if op.table else None, cols)
        yield Hit(
            f"creates {label} without CONCURRENTLY; every write to the table waits until "
            "the index is built",
            steps(
                f"Pass postgresql_concurrently=True: op.create_index({op.name!r}, "
                f"'{op.table}', {cols_txt}, postgresql_concurrently=True).",
                f"Wrap it in `{AUTOCOMMIT}` (CONCURRENTLY cannot run in a transaction).",
                "Keep it in a revision of its own; if it fails, drop the INVALID index "
                "concurrently and retry.",
            ),
        )
        return
    for stmt, is_new in sql_statements(op, ctx):
        if stmt.kind == "CREATE INDEX" and not stmt.concurrently and not is_new \
                and not re.search(r"\bON\s+ONLY\b", stmt.norm):  # ONLY: invalid, nothing built
            yield Hit(
                f"creates {index_label(stmt.index_name, stmt.table, _index_columns(stmt.text))}"
                " with CREATE INDEX "
                "without CONCURRENTLY; every write to the table waits until the index is "
                "built",
                steps(
                    "Write CREATE INDEX CONCURRENTLY instead.",
                    f"Run it inside `{AUTOCOMMIT}`.",
                    "Keep it in a revision of its own; if it fails, drop the INVALID index "
                    "concurrently and retry.",
                ),
            )


def _column_index(op: Op) -> Iterator[Hit]:
    """``add_column`` of a column with ``index=True``: Alembic runs a plain CREATE INDEX
    after the ALTER TABLE (``alembic.operations.toimpl.add_column``)."""
    if op.args.get("index") is not True or op.table_is_new or op.in_batch:
        return
    unique = op.args.get("unique") is True
    col = op.column or "<column>"
    name = f"ix_{op.table}_{col}"  # SQLAlchemy's default name (a naming convention may differ)
    extra = ", unique=True" if unique else ""
    yield Hit(
        f"adds column {op.target} with index=True: Alembic then creates "
        f"{'a unique' if unique else 'an'} index on it ({name} unless a naming convention "
        "says otherwise) without CONCURRENTLY; every write to the table waits until the "
        "index is built",
        steps(
            "Remove index=True from the column; the add_column stays.",
            f"Create the index in a revision of its own: op.create_index({name!r}, "
            f"'{op.table}', [{col!r}]{extra}, postgresql_concurrently=True), inside "
            f"`{AUTOCOMMIT}` (CONCURRENTLY cannot run in a transaction).",
            "If the build fails, drop the INVALID index concurrently and retry.",
        ),
    )


def _columns_code(cols: list[object] | tuple[object, ...]) -> str:
    """The columns as code a reader can paste: a plain name quoted, an expression
    (``created DESC``, ``lower(email)``) as ``sa.text(...)`` (a string would be taken for
    a column of that name)."""
    parts = [repr(c) if isinstance(c, str) and re.fullmatch(r"\w+", c)
             else f"sa.text({str(c)!r})" for c in cols]
    return f"[{', '.join(parts)}]"


def _index_columns(sql: str) -> list[str]:
    """The column list of a raw ``CREATE INDEX ... ON t (a, lower(b))``, as written."""
    m = re.search(r"\bON\s+(?:ONLY\s+)?[\w.\"`]+\s*(?:USING\s+\w+\s*)?\((.*)\)", sql,
                  re.I | re.S)
    if not m:
        return []
    depth, cur, out = 0, "", []
    for ch in m.group(1):
        if ch == ")" and depth == 0:
            break
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    out.append(cur.strip())
    return [c for c in out if c]
