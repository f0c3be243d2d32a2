"""Turn Alembic ``ops`` objects (what autogenerate produces) into the :class:`Op` model."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from alembic.operations import ops as alembic_ops

from sluice.core.ops import Op
from sluice.core.plugin_sql import plugin_models


def type_text(type_: Any) -> str | None:
    """``String(length=50)`` for a SQLAlchemy type, matching how scripts spell it."""
    if type_ is None:
        return None
    if isinstance(type_, type):
        type_ = type_()
    try:
        return repr(type_)
    except Exception:  # pragma: no cover - exotic user types
        return type(type_).__name__


def default_text(default: Any) -> str | None:
    """Text of a server default (``None`` when there is none)."""
    if default is None or default is False:
        return None
    arg = getattr(default, "arg", default)
    text = getattr(arg, "text", arg)
    return str(text)


def _name(value: Any) -> str | None:
    return None if value is None else str(value)


def iter_leaf_ops(container: Iterable[Any]) -> Iterator[tuple[Any, bool]]:
    """Every operation inside ``container``, descending into ``ModifyTableOps``.

    Yields ``(op, in_batch)``; ``in_batch`` is true inside a table-scoped container.
    """
    for item in container:
        if isinstance(item, alembic_ops.OpContainer):
            for sub, _ in iter_leaf_ops(item.ops):
                yield sub, isinstance(item, alembic_ops.ModifyTableOps)
        else:
            yield item, False


def to_model(op: Any, *, phase: str = "upgrade", in_batch: bool = False) -> Op | None:
    """One Alembic operation as an :class:`Op`; None for ops Sluice does not model."""
    common: dict[str, Any] = {"phase": phase, "in_batch": in_batch, "source": "autogenerate"}
    if isinstance(op, alembic_ops.CreateTableOp):
        cols = {getattr(c, "name", "?"): type_text(c.type) for c in op.columns
                if hasattr(c, "type")}
        return Op("create_table", table=op.table_name, schema=op.schema,
                  args={"columns": cols}, **common)
    if isinstance(op, alembic_ops.DropTableOp):
        return Op("drop_table", table=op.table_name, schema=op.schema, **common)
    if isinstance(op, alembic_ops.RenameTableOp):
        return Op("rename_table", table=op.table_name, schema=op.schema,
                  args={"new_table_name": op.new_table_name}, **common)
    if isinstance(op, alembic_ops.AddColumnOp):
        col = op.column
        return Op(
            "add_column", table=op.table_name, column=col.name, schema=op.schema,
            args={
                "type_": type_text(col.type),
                "nullable": col.nullable,
                "server_default": default_text(col.server_default),
                # Alembic also creates the column's index / unique constraint
                **{key: True for key in ("index", "unique") if getattr(col, key, None)},
            },
            **common,
        )
    if isinstance(op, alembic_ops.DropColumnOp):
        return Op("drop_column", table=op.table_name, column=op.column_name,
                  schema=op.schema, **common)
    if isinstance(op, alembic_ops.AlterColumnOp):
        args: dict[str, Any] = {
            "existing_type": type_text(op.existing_type),
            "existing_nullable": op.existing_nullable,
            "existing_server_default": default_text(op.existing_server_default),
        }
        if op.modify_type is not None:
            args["type_"] = type_text(op.modify_type)
        if op.modify_nullable is not None:
            args["nullable"] = op.modify_nullable
        if op.modify_server_default is not False:
            args["server_default"] = default_text(op.modify_server_default)
        if op.modify_name is not None:
            args["new_column_name"] = op.modify_name
        return Op("alter_column", table=op.table_name, column=op.column_name,
                  schema=op.schema, args=args, **common)
    if isinstance(op, alembic_ops.CreateIndexOp):
        return Op("create_index", table=op.table_name, schema=op.schema, name=op.index_name,
                  args={"unique": bool(op.unique), **op.kw}, **common)
    if isinstance(op, alembic_ops.DropIndexOp):
        return Op("drop_index", table=op.table_name, schema=op.schema, name=op.index_name,
                  args=dict(op.kw), **common)
    if isinstance(op, alembic_ops.DropConstraintOp):
        return Op("drop_constraint", table=op.table_name, schema=op.schema,
                  name=_name(op.constraint_name), args={"type_": op.constraint_type}, **common)
    if isinstance(op, alembic_ops.CreateForeignKeyOp):
        return Op("create_foreign_key", table=op.source_table, schema=op.kw.get("source_schema"),
                  name=_name(op.constraint_name), args={"referent_table": op.referent_table, **op.kw},
                  **common)
    if isinstance(op, alembic_ops.CreateUniqueConstraintOp):
        return Op("create_unique_constraint", table=op.table_name, schema=op.schema,
                  name=_name(op.constraint_name), **common)
    if isinstance(op, alembic_ops.CreateCheckConstraintOp):
        return Op("create_check_constraint", table=op.table_name, schema=op.schema,
                  name=_name(op.constraint_name), **common)
    if isinstance(op, alembic_ops.CreatePrimaryKeyOp):
        return Op("create_primary_key", table=op.table_name, schema=op.schema,
                  name=_name(op.constraint_name), **common)
    if isinstance(op, alembic_ops.ExecuteSQLOp):
        sql = op.sqltext if isinstance(op.sqltext, str) else getattr(op.sqltext, "text", None)
        return Op("execute", sql=sql, **common)
    return None


def ops_to_models(container: Iterable[Any], *, phase: str = "upgrade") -> list[tuple[Any, Op]]:
    """(alembic op, model) pairs for every modelled op in ``container``, in order.

    Tables created earlier in the same container are marked ``table_is_new``.
    """
    created: set[tuple[str | None, str]] = set()  # (schema, table): the same table only
    out: list[tuple[Any, Op]] = []
    for raw, in_batch in iter_leaf_ops(container):
        model = to_model(raw, phase=phase, in_batch=in_batch)
        # a plugin's operation: the statements it runs (sluice.core.plugin_sql)
        models = [model] if model is not None else plugin_models(raw, phase=phase) or []
        for model in models:
            if model.table and (model.schema, model.table) in created:
                model.table_is_new = True
            if model.kind == "create_table" and model.table:
                created.add((model.schema, model.table))
            out.append((raw, model))
    return out
