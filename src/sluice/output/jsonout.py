"""Findings as JSON with stable keys: rule, name, severity, message, fix, path, line,
revision (and dialect)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from itertools import chain, compress, repeat

from sluice.core.findings import Finding
from sluice.output.registry import FindingsContext

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any

_INDENT = "  "
#: Compact encoders, one per item separator (a newline and the indent of one depth).
_ENCODERS: dict[str, _Encoder] = {}


class _Encoder:
    """``json.JSONEncoder(default=str, separators=(item_separator, ": ")).encode``, by the
    C encoder of the standard library's ``_json`` when the interpreter has it: without
    importing :mod:`json`, whose decoder compiles regular expressions at import (a
    ``--format json`` lint never decodes JSON)."""

    def __init__(self, item_separator: str) -> None:
        self.item_separator = item_separator
        self._c: Callable[..., Any] | None = None
        self._py: Any = None
        try:
            import _json  # lazy: the interpreter's C encoder (CPython)
        except ImportError:
            import json  # lazy: an interpreter without _json

            self._py = json.JSONEncoder(default=str, separators=(item_separator, ": "))
        else:
            self._c, self._quote = _json.make_encoder, _json.encode_basestring_ascii

    def encode(self, data: Any) -> str:
        if self._c is None:
            return str(self._py.encode(data))
        if isinstance(data, str):
            return str(self._quote(data))
        # as JSONEncoder.iterencode(data, _one_shot=True) with its defaults: circular
        # references checked, keys not sorted nor skipped, NaN and infinities allowed
        chunks = self._c({}, str, self._quote, None, ": ", self.item_separator,
                         False, False, True)(data, 0)
        return "".join(chunks)


def json_text(data: Any) -> str:
    """The JSON document every command writes: two-space indent, ASCII, one trailing
    newline (anything not JSON by nature, such as a path or a date, as its text).

    Byte for byte ``json.dumps(data, indent=2, default=str)``, built faster: the standard
    library encodes an indented document in Python, so every container whose items are
    all scalars (a finding, a list of names) is encoded by the C encoder with the
    newline and indent as its item separator, and only the containers above those are
    walked here."""
    return "".join(json_pieces(data))


def json_pieces(data: Any) -> list[str]:
    """:func:`json_text` in pieces, in order (a stream can take them as they are)."""
    parts: list[str] = []
    _encode(data, 0, parts)
    parts.append("\n")
    return parts


def source_stamp() -> str:
    """This module's source by size and modification time: JSON text it wrote that a lint
    keeps (:mod:`sluice.lint.jsonparts`) is not used once the encoder changes (in a
    checkout; a release's version is in the cache key)."""
    st = os.stat(__file__)
    return f"{st.st_size}:{st.st_mtime_ns}"


class Encoded(list[str]):
    """A non-empty list already encoded: each item's text as the indented document holds
    it at the list's depth (from the newline before the item), several items to a piece
    when a piece is :func:`list_items` of them. :func:`json_text` writes the pieces joined
    by commas, in brackets."""


def list_items(items: list[Any], depth: int) -> str:
    """The items of the non-empty list ``items`` sitting at ``depth`` as :func:`json_text`
    writes them, without the brackets: from the newline before the first item to the end
    of the last, commas between. The pieces of an :class:`Encoded` list: its document is
    byte for byte the document of the list of their items."""
    parts: list[str] = []
    _encode(list(items), depth, parts)
    text = "".join(parts)
    return text[1:len(text) - len(_INDENT) * depth - 2]


def _flat_encoder(depth: int) -> _Encoder:
    return _separated(",\n" + _INDENT * depth)


def _separated(item_separator: str) -> _Encoder:
    encoder = _ENCODERS.get(item_separator)
    if encoder is None:
        encoder = _ENCODERS[item_separator] = _Encoder(item_separator)
    return encoder


def _nested(value: Any) -> bool:
    """Whether ``value`` is a container the indented form spreads over lines (an empty
    one is written ``[]`` or ``{}`` either way)."""
    return isinstance(value, dict | list | tuple) and bool(value)


def _flat(record: dict[Any, Any]) -> bool:
    for value in record.values():
        if type(value) not in _PLAIN and _nested(value):
            return False
    return True


_PLAIN = frozenset({str, int, float, bool, type(None)})
_CONTAINERS = (dict, list, tuple)


def _encode(data: Any, depth: int, parts: list[str]) -> None:
    if type(data) is Encoded:
        parts.append("[" + ",".join(data) + "\n" + _INDENT * depth + "]" if data else "[]")
        return
    if isinstance(data, dict):
        opening, closing = "{", "}"
    elif isinstance(data, list | tuple):
        opening, closing = "[", "]"
    else:
        parts.append(_separated(", ").encode(data))
        return
    if not data:
        parts.append(opening + closing)
        return
    inner = "\n" + _INDENT * (depth + 1)
    if opening == "[" and all(type(item) is dict and item for item in data):
        _list_of_dicts(data, depth, parts)
        return
    if not any(_nested(v) for v in (data.values() if opening == "{" else data)):
        text = _flat_encoder(depth + 1).encode(data)
        parts.append(opening + inner + text[1:-1] + "\n" + _INDENT * depth + closing)
        return
    parts.append(opening)
    sep = inner
    if opening == "{":
        for key, value in data.items():
            parts.append(sep)
            parts.append(_key(key))
            parts.append(": ")
            _encode(value, depth + 1, parts)
            sep = "," + inner
    else:
        for value in data:
            parts.append(sep)
            _encode(value, depth + 1, parts)
            sep = "," + inner
    parts.append("\n" + _INDENT * depth + closing)


def _list_of_dicts(items: Any, depth: int, parts: list[str]) -> None:
    """A list of non-empty dicts: each run of flat ones (findings, revisions) in one C
    encoder call, the others walked."""
    values = list(chain.from_iterable(map(dict.values, items)))
    if not any(compress(values, map(isinstance, values, repeat(_CONTAINERS)))):
        # (no value spreads over lines: the whole list in one call, checked without a
        # Python-level loop over the values)
        parts.append("[")
        parts += _records(items, depth)
        parts.append("\n" + _INDENT * depth + "]")
        return
    outer = "\n" + _INDENT * (depth + 1)
    parts.append("[")
    run: list[dict[Any, Any]] = []
    first = True
    for item in items:
        if _flat(item):
            run.append(item)
            continue
        if run:
            if not first:
                parts.append(",")
            parts += _records(run, depth)
            run, first = [], False
        parts.append(("" if first else ",") + outer)
        first = False
        _encode(item, depth + 1, parts)
    if run:
        if not first:
            parts.append(",")
        parts += _records(run, depth)
    parts.append("\n" + _INDENT * depth + "]")


def _records(items: list[dict[Any, Any]], depth: int) -> list[str]:
    """Flat non-empty dicts, items of a list at ``depth``, in one C encoder call, each
    on its lines with a newline before it and commas between them. The encoder escapes
    every newline inside a string, so the raw ``,\n`` it writes are the separators:
    those between two dicts follow a ``}`` and precede a ``{``, the others separate a
    dict's items (which start with a key's quote; an empty ``{}`` value is never
    followed by ``{``). The text in pieces: a findings list is the bulk of a document,
    and each copy of it (a concatenation) is a fresh allocation of its size."""
    outer = "\n" + _INDENT * (depth + 1)
    inner = outer + _INDENT
    text = _separated("," + inner).encode(items)
    text = text.replace("}," + inner + "{", outer + "}," + outer + "{" + inner)
    return [outer + "{" + inner, text[2:-2], outer + "}"]


def _key(key: Any) -> str:
    """A dict key as ``json.dumps`` writes it: strings, and numbers, booleans and null
    as their JSON text in quotes."""
    if not isinstance(key, str):
        return str(_separated(", ").encode({key: 0})[1:-4])
    return str(_separated(", ").encode(key))


def findings_json(findings: Sequence[Finding], *,
                  extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    if extra and "findings" in extra:  # already encoded (a lint's cached pieces)
        return {"findings": extra["findings"],
                **{k: v for k, v in extra.items() if k != "findings"}}
    data: dict[str, Any] = {"findings": [f.as_dict() for f in findings]}
    if extra:
        data.update(extra)
    return data


def render_json(findings: Sequence[Finding], stream: IO[str], *,
                extra: Mapping[str, Any] | None = None) -> None:
    # in pieces: the document is not copied whole into one string before the stream
    # copies it again
    stream.writelines(json_pieces(findings_json(findings, extra=extra)))


def render(findings: Sequence[Finding], stream: IO[str], context: FindingsContext) -> None:
    """The ``json`` renderer of the registry."""
    render_json(findings, stream, extra=context.extra)
