"""Typed TOML: a TOML mapping validated against dataclasses, each error naming its key.

:class:`Loader` builds a dataclass from a mapping by the dataclass's type hints (``Literal``,
``list``, ``dict``, nested dataclasses, scalars); unknown keys and wrong types are a
:class:`~sluice.errors.ConfigError` of one line naming the source and the dotted key, with the
closest valid name or value when there is one. :mod:`sluice.config` uses it for
``[tool.sluice]``. :mod:`typing` is imported when a type is read, not with this module.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping

from sluice.errors import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def type_hints(cls: Any) -> dict[str, Any]:
    """The type hints of dataclass ``cls``, the aliases of :mod:`sluice.core.literals`
    resolved (its module imports them for the type checker only)."""
    import typing  # lazy: only a configuration's types need it

    from sluice.core import literals  # lazy: imports typing

    names = {k: v for k, v in vars(literals).items() if not k.startswith("_")}
    return typing.get_type_hints(cls, localns=names)


def type_name(tp: Any) -> str:
    from typing import Literal, Union, get_args, get_origin  # lazy: a config's types only

    origin = get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(type_name(a) for a in get_args(tp) if a is not type(None))
    if origin is list:
        return f"list of {type_name(get_args(tp)[0])}"
    if origin is dict:
        return f"table of {type_name(get_args(tp)[1])}"
    if dataclasses.is_dataclass(tp):
        return "table"
    return {str: "string", int: "integer", bool: "boolean", float: "number"}.get(tp, str(tp))


class Loader:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.source}: {key}: {message}")

    def convert(self, tp: Any, value: Any, key: str) -> Any:
        from typing import Literal, Union, get_args, get_origin  # lazy: a config's types only

        origin = get_origin(tp)
        if origin in (Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) == 1:
                return self.convert(args[0], value, key)
            raise TypeError(f"unsupported config type {tp}")  # pragma: no cover
        if origin is Literal:
            allowed = get_args(tp)
            if value not in allowed:
                import difflib  # lazy: only for a wrong value; start-up

                close = difflib.get_close_matches(str(value), [str(a) for a in allowed], n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise self.fail(key, f"expected {type_name(tp)}, got {value!r}{hint}")
            return value
        if origin is list:
            if not isinstance(value, list):
                raise self.fail(key, f"expected {type_name(tp)}, got {toml_type(value)}")
            (item,) = get_args(tp)
            return [self.convert(item, v, f"{key}[{i}]") for i, v in enumerate(value)]
        if origin is dict:
            if not isinstance(value, Mapping):
                raise self.fail(key, f"expected {type_name(tp)}, got {toml_type(value)}")
            _, item = get_args(tp)
            return {str(k): self.convert(item, v, f"{key}.{k}") for k, v in value.items()}
        if dataclasses.is_dataclass(tp):
            if not isinstance(value, Mapping):
                raise self.fail(key, f"expected a table, got {toml_type(value)}")
            return self.load(tp, value, key)
        if tp is bool:
            if not isinstance(value, bool):
                raise self.fail(key, f"expected boolean, got {toml_type(value)}")
            return value
        if tp is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.fail(key, f"expected integer, got {toml_type(value)}")
            return value
        if tp is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self.fail(key, f"expected number, got {toml_type(value)}")
            return float(value)
        if tp is str:
            if not isinstance(value, str):
                raise self.fail(key, f"expected string, got {toml_type(value)}")
            return value
        raise TypeError(f"unsupported config type {tp}")  # pragma: no cover

    def load(self, cls: Any, data: Mapping[str, Any], prefix: str) -> Any:
        hints = type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
        kwargs: dict[str, Any] = {}
        for raw_key, value in data.items():
            key = str(raw_key)
            name = key.replace("-", "_")
            full = f"{prefix}.{key}" if prefix else key
            if name not in fields:
                import difflib  # lazy: only for an unknown key; start-up

                close = difflib.get_close_matches(name, list(fields), n=1, cutoff=0.6)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise self.fail(full, f"unknown key{hint}")
            tp = hints[name]
            kwargs[name] = self.convert(tp, value, full)
        return cls(**kwargs)


def toml_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "table"
    return type(value).__name__
