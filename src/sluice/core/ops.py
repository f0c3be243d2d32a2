"""The operation model every rule consumes, whatever produced it.

Three producers feed it: the autogenerate policy (Alembic ``ops`` objects, see
:mod:`sluice.core.alembic_ops`), the static layer (``ast`` of a revision file) and the
render layer (SQL captured offline). A rule never needs to know which one it got.

Conventions every producer follows:

- ``kind`` is the Alembic operation name (``op.add_column`` -> ``add_column``; inside
  ``batch_alter_table`` the same names with ``in_batch=True`` and ``table`` filled in).
- ``args`` holds keyword arguments by their Alembic name (``type_``, ``nullable``,
  ``server_default``, ``existing_type``, ``unique``, ``postgresql_concurrently`` ...):
  Python literals as values, types as SQLAlchemy-style text without module prefix
  (``String(length=50)``), SQL expressions (``sa.text("now()")``) as their SQL text.
- ``execute`` ops carry literal SQL in ``sql`` (None when built at run time).
- Facts about the script itself are ops whose kind starts with ``script.``:
  ``script.import`` (``name`` = module imported inside the revision),
  ``script.create_engine``, ``script.swallow_exception`` (``except Exception``/bare
  ``except`` that does not re-raise), ``script.dynamic_sql`` (``args["how"]`` one of
  ``fstring``, ``percent``, ``format``, ``concat``), ``script.get_bind_read``
  (``.fetchall()``/``.scalar()`` ... on ``op.get_bind()`` results), and one
  ``script.downgrade`` per revision (phase ``downgrade``, ``args["kind"]`` one of
  ``ops``, ``pass``, ``missing``, ``raises``, ``empty``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Literal

#: The dialects Sluice lints and renders for.
DIALECTS: tuple[str, ...] = ("postgresql", "mysql", "sqlite")


@dataclass
class Op:
    """One migration operation, e.g. ``op.drop_column("users", "email")``.

    ``kind`` is the Alembic operation name (``add_column``, ``drop_table``, ``execute``,
    ``create_index`` ...). Types are kept as SQLAlchemy-style text (``String(length=50)``)
    so that ops parsed from source and ops built by autogenerate compare alike.
    """

    kind: str
    table: str | None = None
    column: str | None = None
    schema: str | None = None
    name: str | None = None
    #: Keyword arguments whose values are known: literals, or type/default text.
    args: dict[str, Any] = field(default_factory=dict)
    #: Literal SQL for ``execute`` (None when built at run time).
    sql: str | None = None
    line: int | None = None
    path: str | None = None
    revision: str | None = None
    phase: Literal["upgrade", "downgrade"] = "upgrade"
    in_autocommit: bool = False
    in_batch: bool = False
    #: The table was created earlier in the same revision (so no lock on live data).
    table_is_new: bool = False
    #: "autogenerate", "static" or "render".
    source: str = "static"

    @property
    def target(self) -> str:
        """Human name of what the op touches: ``users.email``, ``users`` or an index name."""
        parts = [p for p in (self.schema, self.table) if p]
        base = ".".join(parts)
        if self.column:
            return f"{base}.{self.column}" if base else self.column
        if base:
            return base
        return self.name or "?"

    @property
    def allow_key(self) -> str:
        """The token users write in ``-x allow=KIND:TARGET`` to allow this op."""
        if self.kind in ("drop_index", "drop_constraint", "create_index") and self.name:
            return f"{self.kind}:{self.table + '.' if self.table else ''}{self.name}"
        return f"{self.kind}:{self.target}"


@dataclass
class Hit:
    """What a rule's check returns: the op-specific message and the safe alternative."""

    message: str
    fix: str = ""
    op: Op | None = None
    #: A severity below the rule's for this hit ("warning"); ``[tool.sluice.lint]
    #: severity`` for the rule still decides when it is set (see ``severity_for``).
    severity: str | None = None


#: Compiled on first use (``re`` keeps it): a warm lint often parses no type at all.
_TYPE_RE = r"(?s)^\s*(?:[A-Za-z_][\w]*\.)*([A-Za-z_]\w*)\s*(?:\((.*)\))?\s*$"


@dataclass(frozen=True)
class TypeInfo:
    """A column type reduced to what rules compare: family name and size arguments."""

    name: str
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    #: ``DateTime(timezone=True)`` / ``TIMESTAMP(timezone=True)``, ``TIMESTAMPTZ``.
    timezone: bool = False

    @classmethod
    def parse(cls, text: str | None) -> TypeInfo | None:
        if not text:
            return None
        m = re.match(_TYPE_RE, text)
        if not m:
            return None
        name = m.group(1)
        args = m.group(2) or ""
        nums: list[int] = []
        kw: dict[str, int] = {}
        for part in _split_args(args):
            if "=" in part:
                k, _, v = part.partition("=")
                if v.strip().isdigit():
                    kw[k.strip()] = int(v.strip())
            elif part.strip().isdigit():
                nums.append(int(part.strip()))
        length = kw.get("length", nums[0] if nums and name.upper() not in _NUMERIC else None)
        precision = kw.get("precision", nums[0] if nums and name.upper() in _NUMERIC else None)
        scale = kw.get("scale", nums[1] if len(nums) > 1 and name.upper() in _NUMERIC else None)
        timezone = bool(re.search(r"\btimezone\s*=\s*True\b", args)) \
            or name.upper() in ("TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE")
        return cls(name=name, length=length, precision=precision, scale=scale,
                   timezone=timezone)

    @property
    def family(self) -> str:
        return _FAMILIES.get(self.name.upper(), self.name.lower())


def _split_args(text: str) -> list[str]:
    out, depth, cur = [], 0, ""
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur)
    return out


_NUMERIC = {"NUMERIC", "DECIMAL", "FLOAT", "REAL", "DOUBLE", "DOUBLE_PRECISION"}
_FAMILIES: dict[str, str] = {
    **{n: "string" for n in ("STRING", "VARCHAR", "NVARCHAR", "CHAR", "NCHAR", "UNICODE")},
    **{n: "text" for n in ("TEXT", "UNICODETEXT", "CLOB", "MEDIUMTEXT", "LONGTEXT", "TINYTEXT")},
    **{n: "integer" for n in ("INTEGER", "INT", "SMALLINTEGER", "SMALLINT", "TINYINT",
                              "MEDIUMINT")},
    **{n: "biginteger" for n in ("BIGINTEGER", "BIGINT")},
    **{n: "numeric" for n in ("NUMERIC", "DECIMAL")},
    **{n: "float" for n in ("FLOAT", "REAL", "DOUBLE", "DOUBLE_PRECISION")},
    **{n: "boolean" for n in ("BOOLEAN", "BOOL")},
    **{n: "datetime" for n in ("DATETIME", "TIMESTAMP", "TIMESTAMPTZ")},
    "DATE": "date",
    "TIME": "time",
    **{n: "json" for n in ("JSON", "JSONB")},
    **{n: "binary" for n in ("LARGEBINARY", "BLOB", "BYTEA", "VARBINARY", "BINARY")},
    "UUID": "uuid",
    "UUIDTYPE": "uuid",
    "UUID_": "uuid",
    "ENUM": "enum",
}
