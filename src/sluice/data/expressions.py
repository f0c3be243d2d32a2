"""Checks of the SQLAlchemy expressions a step is given, and rebinding them to its table."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import ClauseElement, ColumnClause, TextClause
from sqlalchemy.sql.expression import TableClause

from sluice.data.model import Kind, fail


def check_text_literals(element: Any, dialect_name: str, where: str) -> None:
    """Refuse raw SQL text carrying literal values (most often interpolated from Python)."""
    # sqlglot is imported on first use: importing sluice.data in a revision stays cheap.
    from sqlglot.dialects.dialect import Dialect  # lazy: sqlglot only to check SQL text
    from sqlglot.tokens import TokenType  # lazy: sqlglot only to check SQL text

    literal_types = {TokenType.STRING, TokenType.NUMBER, TokenType.NATIONAL_STRING,
                     TokenType.BYTE_STRING, TokenType.HEX_STRING, TokenType.BIT_STRING,
                     TokenType.RAW_STRING}
    glot = {"postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql",
            "sqlite": "sqlite"}.get(dialect_name, "")
    for el in visitors.iterate(element):
        if isinstance(el, TextClause):
            sql = el.text
        elif isinstance(el, ColumnClause) and el.is_literal:
            sql = el.name
        else:
            continue
        try:
            tokens = Dialect.get_or_raise(glot or None).tokenize(sql)
        except Exception:
            tokens = []
            found = ["unparseable SQL"]
        else:
            found = [t.text for t in tokens if t.token_type in literal_types]
        if found:
            raise fail(
                f"{where}: raw SQL {sql!r} contains the literal value {found[0]!r}. Values "
                "pasted into SQL text are how injection and quoting bugs get into migrations. "
                "Use a SQLAlchemy expression (users.c.status == 'x'), or bind the value: "
                "sa.text('status = :s').bindparams(s='x')."
            )


def check_where(where: Any, kind: Kind) -> None:
    if where is None:
        if kind == "delete":
            raise fail(
                "batched_delete without where= would delete every row. If that is really "
                "what you want, say so with where=sa.true()."
            )
        return
    if isinstance(where, str):
        raise fail(
            f"where= got a string ({where[:60]!r}); pass a SQLAlchemy expression such as "
            "users.c.status == 'x' (or sa.text('status = :s').bindparams(s='x')). Strings "
            "cannot carry bind parameters, so values end up pasted into SQL."
        )
    if isinstance(where, bool) or not isinstance(where, ClauseElement):
        raise fail(
            f"where= must be a SQLAlchemy expression, got {type(where).__name__} {where!r}"
            + ("; use sa.true() or sa.false()" if isinstance(where, bool) else "")
        )
    if isinstance(where, (sa.Select, TableClause)):
        raise fail(f"where= must be a condition, got a {type(where).__name__}")


def adapt(expr: Any, target: TableClause, what: str) -> Any:
    """Point columns of ``expr`` that belong to the step's table at ``target``.

    Columns from any object naming the same table (a ``sa.Table``, ``sa.table()`` or a
    bare ``sa.column()``) are rebound, so ``where`` can be written against whatever the
    script has at hand; columns of other tables (subqueries) are left alone.
    """

    def replace(el: Any) -> Any:
        if isinstance(el, ColumnClause) and not el.is_literal:
            owner = el.table
            same = owner is None or (
                isinstance(owner, TableClause)
                and owner.name == target.name
                and (owner.schema or None) in (None, target.schema)
            )
            if same:
                col = target.c.get(el.name)
                if col is None:
                    raise fail(
                        f"{what} refers to column '{el.name}', which table '{target.name}' "
                        f"does not have (columns: {', '.join(target.c.keys())})"
                    )
                return col
        return None

    return visitors.replacement_traverse(expr, {}, replace)  # type: ignore[call-overload]
