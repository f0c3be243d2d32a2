"""What the rule files of the ``mysql`` family share.

MySQL and MariaDB (SL3xx): table-copying ALTERs, table rebuilds, non-transactional DDL.

What an ALTER costs depends on the server version (``lint.target_mysql_version``):
INSTANT changes only metadata, INPLACE lets reads and writes continue (some rebuild the
table in the background), COPY builds a new copy of the table while writes wait.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sluice.core.ops import Op, TypeInfo
from sluice.rules._sql import Action
from sluice.rules._util import (
    constraint_label,
    mysql_target,
    run_memo,
    sql_statements,
)
from sluice.rules.registry import RuleContext

MYSQL = ("mysql",)


#: utf8mb4 stores up to 4 bytes per character; VARCHAR keeps a 1-byte length prefix up to
#: 255 bytes, so extending within 63 characters (or beyond it on both sides) is in place.
_ONE_BYTE_PREFIX_CHARS = 63


@dataclass
class Cost:
    """What an ALTER costs on MySQL: its algorithm and why."""

    algorithm: str  # INSTANT, INPLACE, REBUILD (INPLACE that rebuilds the table), COPY
    what: str
    #: the version from which it becomes INSTANT, when that is what makes it cheap.
    instant_from: str | None = None
    #: the condition the algorithm holds under, when the revision cannot tell.
    when: str = ""


def _at_least(ctx: RuleContext, mysql: tuple[int, ...], mariadb: tuple[int, ...]) -> bool:
    flavor, nums = mysql_target(ctx)
    want = mariadb if flavor == "mariadb" else mysql
    return nums >= want


def _add_column_cost(ctx: RuleContext, what: str) -> Cost:
    if _at_least(ctx, (8, 0, 12), (10, 3, 2)):
        return Cost("INSTANT", what)
    return Cost("REBUILD", what, instant_from="MySQL 8.0.12 / MariaDB 10.3.2")


def _drop_column_cost(ctx: RuleContext, what: str) -> Cost:
    if _at_least(ctx, (8, 0, 29), (10, 4)):
        return Cost("INSTANT", what)
    return Cost("REBUILD", what, instant_from="MySQL 8.0.29 / MariaDB 10.4")


#: MariaDB extends a VARCHAR instantly unless it grows from 128-255 bytes to more than 255
#: (utf8mb4: from 32-63 characters to 64 or more); up to 127 bytes it may grow to any length.
_MARIADB_ANY_EXTEND_CHARS = 31


def _varchar_in_place(old: TypeInfo | None, new: TypeInfo | None,
                      ctx: RuleContext | None = None) -> bool:
    if old is None or new is None or old.family != "string" or new.family != "string":
        return False
    if old.length is None or new.length is None or new.length < old.length:
        return False
    limit = _ONE_BYTE_PREFIX_CHARS
    if ctx is not None and mysql_target(ctx)[0] == "mariadb" \
            and old.length <= _MARIADB_ANY_EXTEND_CHARS:
        return True
    return (old.length <= limit) == (new.length <= limit)


#: utf8mb3 (``utf8`` before MySQL 8.0) stores up to 3 bytes per character.
_UTF8MB3_ONE_BYTE_PREFIX_CHARS = 85
_UTF8MB3_MARIADB_ANY_EXTEND_CHARS = 42


def _varchar_copy_only_in_utf8mb4(old: TypeInfo, new: TypeInfo, ctx: RuleContext) -> bool:
    """A VARCHAR extension that copies a utf8mb4 column but not a utf8mb3 one (the
    character set is the table's, which the revision does not say)."""
    if old.family != "string" or new.family != "string" or old.length is None or new.length is None or new.length < old.length:
        return False
    if mysql_target(ctx)[0] == "mariadb" and old.length <= _UTF8MB3_MARIADB_ANY_EXTEND_CHARS:
        return True
    limit = _UTF8MB3_ONE_BYTE_PREFIX_CHARS
    return (old.length <= limit) == (new.length <= limit)


def mariadb_modify_kind(act: Action, ctx: RuleContext) -> str | None:
    """For a raw ``MODIFY``/``CHANGE`` on a MariaDB target: ``"nullability"`` when it states
    ``NULL``/``NOT NULL`` (INPLACE, rebuilds the table with concurrent DML), ``"reorder"`` when
    a ``MODIFY`` only adds ``FIRST``/``AFTER`` (INSTANT from 10.4); None otherwise or on MySQL. The old
    definition is unknown in raw SQL: the type written is taken to be the column's own."""
    flavor, nums = mysql_target(ctx)
    if act.kind != "alter_type" or flavor != "mariadb" or ctx.dialect not in (None, "mysql"):
        return None
    text = act.text.upper()
    if not re.match(r"\s*(?:MODIFY|CHANGE)\b", text):
        return None
    if re.search(r"(?<!DEFAULT )\bNULL\b", text):
        return "nullability"
    if text.lstrip().startswith("MODIFY") and re.search(r"\b(?:FIRST|AFTER)\b", text) \
            and nums >= (10, 4):
        return "reorder"
    return None


def _same_type(old: TypeInfo | None, new: TypeInfo | None) -> bool:
    """``sa.Integer()`` and ``INTEGER()``: the same column type, spelled differently."""
    if old is None or new is None:
        return False
    return (old.family, old.length, old.precision, old.scale) == (
        new.family, new.length, new.precision, new.scale)


def _unsized_varchar(new: TypeInfo | None) -> bool:
    """``String()`` without a length: MySQL cannot create it (SQLAlchemy refuses to compile
    VARCHAR without a length for MySQL), so no table is copied; the revision fails."""
    return new is not None and new.family == "string" and new.length is None


#: The op kinds :func:`op_costs` can find a cost for.
COST_KINDS = ("add_column", "drop_column", "alter_column", "create_foreign_key",
              "create_primary_key", "drop_constraint", "execute")


def op_costs(op: Op, ctx: RuleContext) -> list[Cost]:
    """What each ALTER in ``op`` costs on the target MySQL/MariaDB version."""
    memo = run_memo(ctx)
    key = ("op_costs", id(op))
    found = memo.get(key)
    if found is None or found[0] is not op:  # (the op is kept: its id cannot be reused)
        found = memo[key] = (op, _op_costs(op, ctx))
    return list(found[1])


def _op_costs(op: Op, ctx: RuleContext) -> list[Cost]:
    costs: list[Cost] = []
    if op.table_is_new:
        return costs
    k = op.kind
    if k == "add_column":
        costs.append(_add_column_cost(ctx, f"adding column {op.target}"))
    elif k == "drop_column":
        costs.append(_drop_column_cost(ctx, f"dropping column {op.target}"))
    elif k == "alter_column":
        if op.args.get("type_"):
            old = TypeInfo.parse(op.args.get("existing_type"))
            new = TypeInfo.parse(op.args.get("type_"))
            if _varchar_in_place(old, new, ctx) or _same_type(old, new) \
                    or _unsized_varchar(new):
                pass
            elif old and new and _varchar_copy_only_in_utf8mb4(old, new, ctx):
                costs.append(Cost(
                    "COPY", f"extending {op.target} from VARCHAR({old.length}) to "
                    f"VARCHAR({new.length})",
                    when="when the column is utf8mb4 (its length prefix grows past 255 "
                    "bytes; a utf8mb3 column stays in place)"))
            else:
                costs.append(Cost("COPY", f"changing the type of {op.target}"))
        nullable, existing = op.args.get("nullable"), op.args.get("existing_nullable")
        if "nullable" in op.args and nullable != existing:
            costs.append(Cost("REBUILD", f"changing NULL/NOT NULL of {op.target}"
                              if existing is not None or nullable is False else
                              f"making {op.target} NULL (a rebuild if it was NOT NULL; "
                              "existing_nullable=True says it already allows NULL)"))
    elif k == "create_foreign_key":
        costs.append(Cost("COPY", "adding " + constraint_label(
            "foreign key", op.name, op.target if op.table else None)))
    elif k == "create_primary_key":
        costs.append(Cost("REBUILD", f"adding a primary key to {op.target}"))
    elif k == "drop_constraint" and op.args.get("type_") == "primary":
        costs.append(Cost("COPY", f"dropping the primary key of {op.target}"))
    elif k == "execute":
        for stmt, is_new in sql_statements(op, ctx):
            if stmt.kind != "ALTER TABLE" or is_new:
                continue
            if stmt.algorithm in ("INSTANT", "INPLACE", "NOCOPY"):
                continue  # the server refuses the ALTER rather than copy: safe
            forced = stmt.algorithm == "COPY"
            replaces_key = {"drop_primary_key", "add_primary_key"} <= {
                "add_primary_key" if a.kind == "add_constraint" and a.constraint == "primary_key"
                else a.kind for a in stmt.actions}
            for act in stmt.actions:
                if replaces_key and act.kind == "drop_primary_key":
                    # DROP PRIMARY KEY, ADD PRIMARY KEY in one ALTER: INPLACE, rebuilds
                    what = f"replacing the primary key of {stmt.table or 'TABLE'}"
                    costs.append(Cost("COPY" if forced else "REBUILD", what))
                    continue
                cost = _action_cost(act, stmt.table or "TABLE", ctx)
                if cost is not None:
                    costs.append(Cost("COPY", cost.what) if forced else cost)
    return costs


def _action_cost(act: Action, table: str, ctx: RuleContext) -> Cost | None:
    col = f"{table}.{act.column}" if act.column else table
    if act.kind == "add_column":
        return _add_column_cost(ctx, f"adding column {col}")
    if act.kind == "drop_column":
        return _drop_column_cost(ctx, f"dropping column {col}")
    if act.kind == "alter_type":
        mariadb = mariadb_modify_kind(act, ctx)
        if mariadb == "reorder":
            return None
        if mariadb == "nullability":
            return Cost("REBUILD", f"changing NULL/NOT NULL of {col} (MODIFY/CHANGE)")
        return Cost("COPY", f"changing the column definition of {col} (MODIFY/CHANGE)")
    if act.kind == "convert_charset" and mysql_target(ctx)[0] == "mariadb" \
            and not act.text.upper().lstrip().startswith("CONVERT"):
        return None  # DEFAULT CHARACTER SET: INSTANT, only new columns get it
    if act.kind == "convert_charset":
        return Cost("COPY", f"converting the character set of {table}")
    if act.kind == "drop_primary_key":
        return Cost("COPY", f"dropping the primary key of {table}")
    if act.kind == "add_constraint" and act.constraint == "foreign_key":
        return Cost("COPY", f"adding a foreign key on {table}")
    if act.kind in ("set_not_null", "drop_not_null"):
        return Cost("REBUILD", f"changing NULL/NOT NULL of {col}")
    return None
