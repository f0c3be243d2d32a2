"""What sqlglot's tree of one statement tells a :class:`~sluice.rules._sql.Stmt`.

Imported by :mod:`sluice.rules._sql` when it parses its first statement, so that importing
the rules does not import sqlglot.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

import sqlglot
from sqlglot import exp

from sluice.rules._sql import Action, Stmt, _ident

logging.getLogger("sqlglot").setLevel(logging.ERROR)

_SQLGLOT_DIALECT = {"postgresql": "postgres", "mysql": "mysql", "sqlite": "sqlite"}


def fill_from_tree(stmt: Stmt, text: str, dialect: str | None) -> None:
    """Parse ``text`` with sqlglot in ``dialect`` and fill ``stmt`` from the tree (nothing
    when sqlglot does not understand it or hands it back as a generic command)."""
    tree = _sqlglot(text, dialect)
    if tree is not None and not isinstance(tree, exp.Command):
        stmt.parsed = True
        _from_tree(stmt, tree, dialect)


@lru_cache(maxsize=512)
def _sqlglot(text: str, dialect: str | None) -> exp.Expression | None:
    """sqlglot's tree of the one statement ``text`` (None: not one statement it reads).
    Kept: a reported statement is read again for its dialect's spelling
    (:func:`written_in`); callers only read the tree."""
    read = _SQLGLOT_DIALECT.get(dialect or "postgresql", "postgres")
    try:
        trees = sqlglot.parse(text, read=read)
    except Exception:  # sqlglot raises several error types; any means "not understood"
        return None
    found = [t for t in trees if isinstance(t, exp.Expression)]
    return found[0] if len(found) == 1 else None


def written_in(text: str, dialect: str | None
               ) -> tuple[str | None, list[tuple[str, str]]] | None:
    """The WHERE condition and the SET values of the UPDATE/DELETE ``text`` written back in
    ``dialect`` (``Stmt.where`` and ``Stmt.sets`` are sqlglot's generic spelling, which may
    not be valid there: ``JSON_EXTRACT_SCALAR(...)`` for PostgreSQL's ``->>``); None when
    sqlglot does not read ``text`` as one UPDATE or DELETE."""
    tree = _sqlglot(text, dialect)
    if not isinstance(tree, (exp.Update, exp.Delete)):
        return None
    write = _SQLGLOT_DIALECT.get(dialect or "postgresql", "postgres")
    where = tree.args.get("where")
    sets = [(eq.this.name, eq.expression.sql(dialect=write)) for eq in tree.expressions
            if isinstance(eq, exp.EQ) and isinstance(eq.this, exp.Column)] \
        if isinstance(tree, exp.Update) else []
    return (where.this.sql(dialect=write) if where is not None else None), sets


def _table_name(node: Any) -> str | None:
    if isinstance(node, exp.Table):
        return _ident(node.name)
    if isinstance(node, exp.Schema) and isinstance(node.this, exp.Table):
        return _ident(node.this.name)
    return None


def _from_tree(stmt: Stmt, tree: exp.Expression, dialect: str | None) -> None:
    if stmt.kind == "WITH":  # WITH ... UPDATE / DELETE / INSERT: what the statement does
        stmt.kind = {exp.Update: "UPDATE", exp.Delete: "DELETE",
                     exp.Insert: "INSERT"}.get(type(tree), "WITH")
    if isinstance(tree, (exp.Update, exp.Delete)):
        stmt.table = _table_name(tree.this)
        stmt.joined = any(tree.args.get(k) for k in ("from", "from_", "with", "with_", "using"))
        where = tree.args.get("where")
        stmt.has_where = where is not None
        stmt.where = where.this.sql() if where is not None else None
        stmt.has_limit = tree.args.get("limit") is not None
        stmt.keyed_batch = where is not None and _keyed_batch(tree, where.this)
        if isinstance(tree, exp.Update):
            for eq in tree.expressions:
                if isinstance(eq, exp.EQ) and isinstance(eq.this, exp.Column):
                    stmt.sets.append((eq.this.name, eq.expression.sql()))
    elif isinstance(tree, exp.Insert):
        stmt.table = _table_name(tree.this)
        stmt.insert_select = isinstance(tree.expression, (exp.Select, exp.Union))
    elif isinstance(tree, exp.Create):
        kind = str(tree.args.get("kind") or "").upper()
        if kind == "INDEX" and isinstance(tree.this, exp.Index):
            stmt.index_name = _ident(tree.this.name)
            stmt.table = _table_name(tree.this.args.get("table"))
            stmt.unique = bool(tree.args.get("unique"))
            stmt.concurrently = stmt.concurrently or bool(tree.args.get("concurrently"))
        elif kind == "TABLE":
            stmt.table = _table_name(tree.this)
    elif isinstance(tree, exp.Drop):
        tables = tree.args.get("expressions") or tree.args.get("tables") or []
        names = [_table_name(t) for t in tables]
        stmt.concurrently = stmt.concurrently or bool(tree.args.get("concurrently"))
        if str(tree.args.get("kind") or "").upper() == "INDEX":
            stmt.index_name = names[0] if names else None
            on = tree.args.get("cluster") or tree.args.get("table")
            stmt.table = _table_name(on) if on is not None else None
            return
        stmt.tables = [n for n in names if n]
        stmt.table = stmt.tables[0] if stmt.tables else None
    elif isinstance(tree, exp.TruncateTable):
        names = [_table_name(t) for t in tree.expressions]
        stmt.tables = [n for n in names if n]
        stmt.table = stmt.tables[0] if stmt.tables else None
    elif isinstance(tree, exp.Alter) and str(tree.args.get("kind") or "").upper() == "TABLE":
        stmt.table = _table_name(tree.this)
        not_valid = bool(tree.args.get("not_valid"))
        for action in tree.args.get("actions") or []:
            stmt.actions.append(_action(action, not_valid, dialect))


def _keyed_batch(tree: exp.Expression, where: exp.Expression) -> bool:
    """The UPDATE/DELETE ``tree`` is joined, by an equality at the top of its WHERE, to a
    CTE or a FROM subquery that selects one batch: ``WITH b AS (SELECT id ... LIMIT 500)
    UPDATE t ... FROM b WHERE t.id = b.id`` (or ``... WHERE id = :id``)."""
    from sluice.rules._util import select_bounded  # lazy: _util is the rules' side

    batches: set[str] = set()
    with_ = tree.args.get("with") or tree.args.get("with_")
    for cte in with_.expressions if with_ is not None else []:
        if isinstance(cte.this, exp.Select) and select_bounded(cte.this):
            batches.add(cte.alias_or_name.lower())
    for key in ("from", "from_", "using"):
        node = tree.args.get(key)
        for sub in node.find_all(exp.Subquery) if isinstance(node, exp.Expression) else []:
            if sub.alias and isinstance(sub.this, exp.Select) and select_bounded(sub.this):
                batches.add(sub.alias.lower())
    if not batches:
        return False
    terms = list(where.flatten()) if isinstance(where, exp.And) else [where]
    for term in terms:
        if isinstance(term, exp.EQ) and any(
                isinstance(side, exp.Column) and side.table.lower() in batches
                for side in (term.this, term.expression)):
            return True
    return False


def _action(node: exp.Expression, not_valid: bool, dialect: str | None) -> Action:
    text = node.sql(dialect=_SQLGLOT_DIALECT.get(dialect or "postgresql", "postgres"))
    if isinstance(node, exp.ColumnDef):
        return _add_column_action(node, text)
    if isinstance(node, exp.Drop):
        return _drop_action(node, text)
    if isinstance(node, exp.AlterColumn):
        return _alter_column_action(node, text)
    if isinstance(node, exp.AddConstraint):
        return _add_constraint_action(node, not_valid, text)
    if isinstance(node, exp.RenameColumn):
        to = node.args.get("to")
        return Action("rename_column", column=_ident(node.this.name if node.this else None),
                      name=_ident(to.name) if to is not None else None, text=text)
    if isinstance(node, exp.AlterRename):
        return Action("rename_table", name=_table_name(node.this), text=text)
    if type(node).__name__ == "DropPrimaryKey":
        return Action("drop_primary_key", text=text)
    if type(node).__name__ == "ModifyColumn" or "MODIFY" in text.upper()[:7]:
        col = node.this.name if isinstance(node.this, exp.ColumnDef) else None
        return Action("alter_type", column=_ident(col), text=text)
    return Action("other", text=text)


def _add_column_action(node: exp.ColumnDef, text: str) -> Action:
    act = Action("add_column", column=_ident(node.name), text=text)
    kind = node.args.get("kind")
    act.type_ = kind.sql() if kind is not None else None
    for c in node.args.get("constraints") or []:
        ck = c.args.get("kind")
        if isinstance(ck, exp.DefaultColumnConstraint):
            act.default = ck.this.sql() if ck.this is not None else None
        elif isinstance(ck, exp.NotNullColumnConstraint) and not ck.args.get("allow_null"):
            act.not_null = True
        elif isinstance(ck, exp.PrimaryKeyColumnConstraint):
            act.not_null = True
    return act


def _drop_action(node: exp.Drop, text: str) -> Action:
    kind = str(node.args.get("kind") or "").upper()
    names = node.args.get("expressions") or node.args.get("tables") or []
    first = names[0].name if names else None
    if kind == "COLUMN":
        return Action("drop_column", column=_ident(first), text=text)
    if kind == "CONSTRAINT":
        return Action("drop_constraint", name=_ident(first), text=text)
    return Action("other", text=text)


def _alter_column_action(node: exp.AlterColumn, text: str) -> Action:
    col = _ident(node.name)
    if node.args.get("dtype") is not None:
        return Action("alter_type", column=col, type_=node.args["dtype"].sql(), text=text)
    if node.args.get("allow_null") is False:
        return Action("set_not_null", column=col, text=text)
    if node.args.get("allow_null") is True and node.args.get("drop"):
        return Action("drop_not_null", column=col, text=text)
    if node.args.get("drop"):
        return Action("drop_default", column=col, text=text)
    if node.args.get("default") is not None:
        return Action("set_default", column=col, default=node.args["default"].sql(), text=text)
    return Action("other", column=col, text=text)


def _add_constraint_action(node: exp.AddConstraint, not_valid: bool, text: str) -> Action:
    act = Action("add_constraint", not_valid=not_valid, text=text)
    for c in node.expressions:
        inner = c.expressions if isinstance(c, exp.Constraint) else [c]
        if isinstance(c, exp.Constraint):
            act.name = _ident(c.name)
        for part in inner:
            if isinstance(part, exp.ForeignKey):
                act.constraint = "foreign_key"
            elif isinstance(part, exp.CheckColumnConstraint):
                act.constraint = "check"
            elif isinstance(part, (exp.UniqueColumnConstraint,)):
                act.constraint = "unique"
            elif isinstance(part, (exp.PrimaryKey, exp.PrimaryKeyColumnConstraint)):
                act.constraint = "primary_key"
    return act
