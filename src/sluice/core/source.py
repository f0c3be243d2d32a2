"""A Python source file's text as Python reads it: UTF-8, or the encoding its first two
lines declare (PEP 263). Revision files are read here, not with ``read_text()``, so that a
file Python and Alembic accept is never refused as "not UTF-8"."""

from __future__ import annotations

__all__ = ["declared_encoding", "decode_source"]


def declared_encoding(raw: bytes) -> str | None:
    """The encoding a Python file's first two lines declare (``# -*- coding: latin-1 -*-``,
    PEP 263), by its codec's name (``iso8859-1``); None when they declare none (UTF-8);
    ``""`` when the declaration is not one Python accepts."""
    first = raw.find(b"\n")
    second = raw.find(b"\n", first + 1) if first >= 0 else -1
    if b"coding" not in (raw if second < 0 else raw[:second]):
        return None
    import codecs  # lazy: only for a file that mentions a declaration
    import io  # lazy: only for a file that mentions a declaration
    import tokenize  # lazy: only for a file that mentions a declaration

    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
        name = codecs.lookup(encoding).name
    except (SyntaxError, LookupError):
        return ""
    return None if name in ("utf-8", "utf-8-sig") else name


def decode_source(raw: bytes) -> str | None:
    """A Python file's text as Python reads it: UTF-8 (a leading BOM dropped), or the
    encoding its first two lines declare (PEP 263, :func:`declared_encoding`); None when
    the bytes do not decode."""
    if raw[:3] == b"\xef\xbb\xbf":
        raw = raw[3:]
    else:
        encoding = declared_encoding(raw)
        if encoding is not None:
            try:
                return raw.decode(encoding) if encoding else None
            except UnicodeDecodeError:
                return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
