"""A configuration file's parse kept between runs, served again while the file's bytes
are the same.

Reading ``sluice.toml`` or a ``pyproject.toml`` with ``[tool.sluice]`` costs the TOML
parser (its import and its regular expressions), and the validation of every key by the
type hints of :mod:`sluice.config`'s dataclasses (:mod:`typing` and its import): a sixth
of a ``sluice lint`` that finds its cache warm. A command that runs often sets
:data:`store` for its run (the ``sluice lint`` command line does, :mod:`sluice.integrations.cli.configcache`);
:func:`lookup` then serves a file whose bytes it has seen, as :func:`encode` wrote the
configuration parsed from them, and parses any other. Without a store every file is
parsed, as before.

Only a configuration that parsed without error is kept: a file with a mistake is parsed,
and reported, on every run. What is kept is plain data (:mod:`marshal` writes it): each
dataclass of :mod:`sluice.config` by its name and its fields, never code.
"""

from __future__ import annotations

import dataclasses
import os
import sys

from sluice.core.errors import ConfigError
from sluice.core.pyproject import may_hold_tool

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any, Protocol

    from sluice.config import SluiceConfig

    #: A file's configuration from its path and bytes, and whether the file nests it
    #: under ``[tool.sluice]``.
    Parse = Callable[[Path, bytes], tuple[SluiceConfig, bool]]

    class Store(Protocol):
        def get(self, key: str, raw: bytes) -> tuple[Any, bool] | None:
            """What :func:`put` kept for ``key`` when ``raw`` are the same bytes."""

        def put(self, key: str, raw: bytes, encoded: Any, nested: bool) -> None:
            """Keep ``encoded`` for ``key`` and its bytes ``raw``."""

__all__ = ["Unkeepable", "decode", "encode", "holds_tool", "lookup", "store"]

#: Where configurations are kept for this run (None: nowhere; every file is parsed).
store: Store | None = None

#: The module whose dataclasses a kept configuration may name.
_MODULE = "sluice.config"


class Unkeepable(ValueError):
    """A value :func:`encode` does not write (the configuration is then not kept)."""


def lookup(file: Path, parse: Parse) -> SluiceConfig:
    """The configuration in ``file``: kept for its bytes, or ``parse``\\d (and kept when
    :data:`store` is set); with ``source`` and ``nested`` set."""
    raw = _read(file)
    kept = store
    found = kept.get(_key(file), raw) if kept is not None else None
    cfg: SluiceConfig | None = None
    if found is not None:
        try:
            cfg, nested = decode(found[0]), found[1]
        except (Unkeepable, KeyError, TypeError, ValueError, AttributeError):
            cfg = None  # written by another layout of the classes: parsed again
    if cfg is None:
        cfg, nested = parse(file, raw)
        if kept is not None:
            try:
                kept.put(_key(file), raw, encode(cfg), nested)
            except Unkeepable:
                pass
    cfg.source, cfg.nested = file, nested
    return cfg


def holds_tool(pyproject: Path, tool: str, parse: Parse) -> bool:
    """Whether ``pyproject`` defines ``[tool.<tool>]``: a byte-level look first
    (:func:`~sluice.core.pyproject.may_hold_tool`), then a parse, unless :data:`store`
    kept one for these bytes. A file that cannot be read is one (its parse says why)."""
    try:
        raw = pyproject.read_bytes()
    except OSError:
        return True
    if not may_hold_tool(raw, tool):
        return False
    kept = store
    if tool == "sluice" and kept is not None and kept.get(_key(pyproject), raw) is not None:
        return True
    from sluice.core.pyproject import read_toml  # lazy: only a file not kept

    return tool in read_toml(pyproject, raw).get("tool", {})


def encode(value: Any) -> Any:
    """``value`` (a configuration) as plain data: a dataclass of :mod:`sluice.config` as
    ``("dataclass", name, {field: value})`` without its internal fields, a tuple as
    ``("tuple", [items])``; lists, string-keyed dicts, strings, numbers, booleans and
    None as they are. Anything else is :class:`Unkeepable`."""
    kind = type(value)
    if value is None or kind in (str, int, float, bool):
        return value
    if kind is list:
        return [encode(v) for v in value]
    if kind is tuple:
        return ("tuple", [encode(v) for v in value])
    if kind is dict:
        if not all(type(k) is str for k in value):
            raise Unkeepable("a key that is not a string")
        return {k: encode(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and kind.__module__ == _MODULE \
            and getattr(sys.modules[_MODULE], kind.__qualname__, None) is kind:
        fields = dataclasses.fields(value)
        if not set(vars(value)) <= {f.name for f in fields}:
            raise Unkeepable(f"{kind.__qualname__} holds more than its fields")
        return ("dataclass", kind.__qualname__,
                {f.name: encode(getattr(value, f.name)) for f in fields
                 if not f.metadata.get("internal")})
    raise Unkeepable(f"a {kind.__name__}")


def decode(data: Any) -> Any:
    """The value :func:`encode` wrote as ``data``; :class:`Unkeepable` when a dataclass
    it names is no longer one of :mod:`sluice.config` or has other fields now."""
    kind = type(data)
    if kind is list:
        return [decode(v) for v in data]
    if kind is dict:
        return {k: decode(v) for k, v in data.items()}
    if kind is not tuple:
        return data
    if data[0] == "tuple":
        return tuple(decode(v) for v in data[1])
    _, name, values = data
    cls = getattr(sys.modules[_MODULE], name, None)
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise Unkeepable(f"{name} is no configuration class")
    obj = cls.__new__(cls)
    fields = dataclasses.fields(cls)
    if set(values) != {f.name for f in fields if not f.metadata.get("internal")}:
        raise Unkeepable(f"{name} has other fields")
    for f in fields:
        if f.name in values:
            value = decode(values[f.name])
        elif f.default_factory is not dataclasses.MISSING:
            value = f.default_factory()
        else:  # every internal field has a default
            value = f.default
        object.__setattr__(obj, f.name, value)
    return obj


def _key(file: Path) -> str:
    return os.path.abspath(file)


def _read(file: Path) -> bytes:
    try:
        return file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror}") from None
